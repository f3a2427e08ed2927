"""Who is asking, and may they change the workspace? Editors import and remove; viewers see and export.

Identity, first that applies:
1. a trusted header set by the proxy in front of the app (its name in GEO_USER_HEADER, e.g.
   X-Forwarded-User); a request without it is an anonymous viewer, because only the proxy can
   vouch for a name;
2. Streamlit's st.login, when the app's secrets configure it (the caller passes st.user);
3. otherwise the one local user: $GEO_USER, else the login name of the process.

Who is an editor is configuration, never code: GEO_EDITORS (comma-separated names or emails,
`*` for anyone identified), or an `editors = [...]` list in the TOML file named by
GEO_ACCESS_FILE (which may also set `header = "..."`). The environment wins over the file.
With no list configured the local user is an editor (a laptop needs no setup) and people
identified by a header or a login are viewers (a server must say who may edit).

Plain functions, no Streamlit: the app passes its request headers and st.user in, and the
workspace checks the resulting User on every write.
"""
from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field
from typing import Mapping

LOCAL, HEADER, LOGIN = "local", "header", "login"


@dataclass(frozen=True)
class User:
    name: str  # "" when nobody vouched for one
    editor: bool
    source: str = LOCAL  # local, header or login

    @property
    def label(self) -> str:
        return self.name or "anonymous"


@dataclass(frozen=True)
class Config:
    header: str | None = None
    editors: tuple[str, ...] | None = None  # None: not configured
    local: str = field(default="local", compare=False)  # the local user's name


def config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    from_file = {}
    if env.get("GEO_ACCESS_FILE"):
        with open(env["GEO_ACCESS_FILE"], "rb") as f:
            from_file = tomllib.load(f)
    header = env.get("GEO_USER_HEADER") or from_file.get("header") or None
    editors = None
    if env.get("GEO_EDITORS") is not None:
        editors = tuple(e.strip() for e in env["GEO_EDITORS"].split(",") if e.strip())
    elif "editors" in from_file:
        editors = tuple(str(e).strip() for e in from_file["editors"])
    return Config(header=header, editors=editors, local=local_name(env))


def is_editor(name: str, source: str, cfg: Config) -> bool:
    if cfg.editors is None:
        return source == LOCAL
    if not name:
        return False
    wanted = {e.casefold() for e in cfg.editors}
    return "*" in wanted or name.casefold() in wanted


def local_name(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("GEO_USER"):
        return env["GEO_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return "local"


def local_user(cfg: Config | None = None) -> User:
    """The user of the command line, or of an app with no proxy header and no login."""
    cfg = cfg or config()
    return User(cfg.local, is_editor(cfg.local, LOCAL, cfg), LOCAL)


def identify(headers: Mapping[str, str] | None = None, login: Mapping | None = None,
             cfg: Config | None = None) -> User:
    """The user behind one request. `headers`: the request's (case-insensitive lookup is the
    caller's mapping's business, as st.context.headers does); `login`: st.user as a dict."""
    cfg = cfg or config()
    if cfg.header:
        name = str((headers or {}).get(cfg.header) or "").strip()
        return User(name, is_editor(name, HEADER, cfg), HEADER)
    if login is not None and "is_logged_in" in login:  # the key exists only when st.login is configured
        name = str(login.get("email") or login.get("name") or "") if login.get("is_logged_in") else ""
        return User(name, is_editor(name, LOGIN, cfg), LOGIN)
    return local_user(cfg)
