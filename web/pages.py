"""The front end's pages: the login (nothing of the site on it, not even its name), the new
password an administrator asked for, and the console (textual-serve's terminal, with who is
logged in and a logout)."""

from __future__ import annotations

from html import escape

STYLE = """
@font-face { font-family: "Roboto Mono"; src: url("/static/fonts/RobotoMono-VariableFont_wght.ttf"); }
body { margin: 0; background: #0c181f; color: #e6edf3; font-family: "Roboto Mono", monospace; }
main.login { max-width: 26rem; margin: 12vh auto; padding: 2rem; background: #12232d; border-radius: 6px; }
h1 { font-size: 1.3rem; margin: 0 0 1.2rem; }
label { display: block; margin: .8rem 0 .3rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; background: #0c181f;
        color: inherit; border: 1px solid #3d5566; border-radius: 3px; }
button { margin-top: 1.2rem; padding: .5rem 1.4rem; font: inherit; background: #2f6f9f; color: #fff;
         border: 0; border-radius: 3px; cursor: pointer; }
p.error { color: #ff9c9c; } p.note { color: #9fb3c2; font-size: .85rem; }
details { margin-top: 1.2rem; }
header { display: flex; justify-content: space-between; align-items: center; padding: 0 .6rem;
         height: 1.8rem; background: #12232d; font-size: .85rem; }
header form { margin: 0; } header button { margin: 0; padding: .1rem .8rem; }
#terminal { position: absolute; top: 1.8rem; bottom: 0; left: 0; right: 0; }
.closed { display: none; position: absolute; inset: 0; z-index: 10; background: rgba(12, 24, 31, .92);
          align-items: center; justify-content: center; }
body.-closed .closed { display: flex; }
"""


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style>{head}</head><body>{body}</body></html>"
    )


def login(message: str = "", user: str = "") -> str:
    """User name and password, or an API token instead."""
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return _page(
        "flashpool console: log in",
        '<main class="login"><h1>flashpool console</h1>'
        f"{error}"
        '<form method="post" action="/login">'
        f'<label for="user">User</label><input id="user" name="user" autocomplete="username" value="{escape(user)}" autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password">'
        "<details><summary>Log in with an API token instead</summary>"
        '<label for="token">API token</label><input id="token" name="token" type="password" autocomplete="off">'
        "</details>"
        '<button type="submit">Log in</button></form></main>',
    )


def unreachable() -> str:
    """The site's server cannot be reached: the browser stays logged in (its session is in the
    catalog) and tries again by itself, as a terminal console reconnects."""
    return _page(
        "flashpool console: reconnecting",
        '<main class="login"><h1>flashpool console</h1>'
        '<p class="error" role="alert">The site\'s server cannot be reached: reconnecting.</p></main>',
        '<meta http-equiv="refresh" content="3">',
    )


def new_password(user: str, message: str = "") -> str:
    """An administrator expired the password: the old one and a new one, twice."""
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return _page(
        "flashpool console: new password",
        '<main class="login"><h1>Choose a new password</h1>'
        f'{error}<p class="note">The password of {escape(user)} has expired.</p>'
        '<form method="post" action="/login">'
        f'<input type="hidden" name="user" value="{escape(user)}">'
        '<label for="password">Current password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" autofocus>'
        '<label for="new_password">New password</label>'
        '<input id="new_password" name="new_password" type="password" autocomplete="new-password">'
        '<label for="again">New password again</label>'
        '<input id="again" name="again" type="password" autocomplete="new-password">'
        '<button type="submit">Change and log in</button></form></main>',
    )


def console(user: str) -> str:
    """textual-serve's terminal (its textual.js opens the web socket named here), under a bar
    with the user and a logout."""
    return _page(
        f"flashpool console: {user}",
        f'<header><span>flashpool console · <b id="user">{escape(user)}</b></span>'
        '<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form></header>'
        '<div id="terminal" class="textual-terminal" data-font-size="16"></div>'
        '<div class="closed"><main class="login"><h1>The console has ended</h1>'
        '<p class="note">It was closed, or the session ended.</p><a href="/"><button>Open it again</button></a>'
        "</main></div>"
        "<script>document.getElementById('terminal').dataset.sessionWebsocketUrl ="
        " (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';</script>",
        head='<link rel="stylesheet" href="/static/css/xterm.css"><script src="/static/js/textual.js"></script>',
    )


__all__ = ["console", "login", "new_password"]
