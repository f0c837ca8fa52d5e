"""Catalog URLs: which database a URL names, the driver it is opened with (psycopg 3 for
PostgreSQL), how it is shown (never with its password), and what a refused connection means."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

POSTGRESQL_DRIVER = "postgresql+psycopg"
CONNECT_TIMEOUT = 10  # seconds: an unreachable host is reported, not waited on for minutes


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_postgresql(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def driver_url(url: str) -> str:
    """The URL SQLAlchemy opens: `postgresql://` and `postgres://` through psycopg 3 (the driver
    flashpool ships), any other URL as written."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        return f"{POSTGRESQL_DRIVER}://{rest}"
    return url


def shown(url: str) -> str:
    """The URL for messages and logs: its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


#: what a database server's refusal means for the operator, by the words its message contains
_REFUSALS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("password authentication failed",), "the database server refused the user name or password"),
    (("no password supplied",), "the database server wants a password and the URL has none"),
    (('database "', "does not exist"), "the database server has no such database (create it first)"),
    (('role "', "does not exist"), "the database server has no such user"),
    (("connection refused",), "no database server answers there (connection refused): is it running?"),
    (("no such file or directory",), "no database server listens on that socket: is it running?"),
    (("could not translate host name",), "the host name does not resolve"),
    (("timeout expired",), f"the database server did not answer within {CONNECT_TIMEOUT} s"),
    (("server closed the connection",), "the database server closed the connection"),
    (("terminating connection",), "the database server ended the connection"),
)


def refusal(url: str, exc: BaseException) -> str | None:
    """What a PostgreSQL server's refusal to connect (or the loss of its connection) means, in
    operator's words; None for anything else (the database answered: the problem is elsewhere)."""
    if not is_postgresql(url) or not isinstance(exc, OperationalError):
        return None
    text = str(getattr(exc, "orig", None) or exc).strip()
    lowered = text.lower()
    detail = text.splitlines()[0] if text else type(exc).__name__
    for words, meaning in _REFUSALS:
        if all(w in lowered for w in words):
            return f"{meaning} ({detail})"
    return f"the database server cannot be used ({detail})"
