"""Who asks: a user and its groups, and how the request reached the site.

On the server's Unix socket the kernel says who the peer is (SO_PEERCRED); over TCP an API token
names the user; in-process it is the user running the process. Nothing else is trusted: a name
a client writes into a request is never an identity.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()
    via: str = "process"  # process | unix | token
    client: str = ""  # where the request came from, for the audit trail

    @classmethod
    def current(cls) -> Identity:
        """The user running this process (in-process commands, the server's own work)."""
        return cls.of_uid(os.getuid(), os.getgid(), via="process", client=f"pid {os.getpid()}")

    @classmethod
    def of_uid(cls, uid: int, gid: int, *, via: str, client: str) -> Identity:
        name = user_name(uid)
        return cls(name, groups_of(name, gid), via, client)

    @classmethod
    def of_user(cls, name: str, *, via: str, client: str) -> Identity:
        """A user named by an API token: its groups are the ones this host knows for it."""
        try:
            gid = pwd.getpwnam(name).pw_gid
        except KeyError:
            return cls(name, (), via, client)
        return cls(name, groups_of(name, gid), via, client)

    def describe(self) -> str:
        return self.user + (f" (groups {', '.join(self.groups)})" if self.groups else "")


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def groups_of(name: str, gid: int) -> tuple[str, ...]:
    try:
        gids = os.getgrouplist(name, gid)
    except OSError:
        gids = [gid]
    out = []
    for g in dict.fromkeys(gids):
        try:
            out.append(grp.getgrgid(g).gr_name)
        except KeyError:
            out.append(f"gid{g}")
    return tuple(out)


def site_owner(root: Path) -> str:
    """The owner of a site without profiles: whoever owns its directory."""
    return user_name(root.stat().st_uid)


__all__ = ["Identity", "groups_of", "site_owner", "user_name"]
