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
import hmac
import logging
import os
import tomllib
from dataclasses import dataclass, field
from typing import Mapping

from geo.safetext import escape

LOCAL, HEADER, LOGIN = "local", "header", "login"
SECRET_HEADER = "X-Geo-Proxy-Secret"  # set by the proxy (deploy/nginx.conf) to GEO_PROXY_SECRET
log = logging.getLogger("geo.store.access")


@dataclass(frozen=True)
class User:
    name: str  # "" when nobody vouched for one
    editor: bool
    source: str = LOCAL  # local, header or login
    os_user: str = ""  # the command line's (or a local app's) operating-system user, recorded beside the name
    db_role: str = ""  # the PostGIS role a local user writes as (set by the store)
    claimed: str = ""  # a name sent in the identity header without the proxy's secret: not believed

    @property
    def label(self) -> str:
        """The name as recorded and shown: one line, controls escaped, the operating-system user
        and database role beside it where they add something."""
        label = self.name or "anonymous"
        beside = [f"os user {self.os_user}"] if self.os_user and self.os_user != self.name else []
        beside += [f"db role {self.db_role}"] if self.db_role else []
        return escape(label + (f" ({', '.join(beside)})" if beside else ""), 300)


@dataclass(frozen=True)
class Config:
    header: str | None = None
    editors: tuple[str, ...] | None = None  # None: not configured
    local: str = field(default="local", compare=False)  # the local user's name
    secret: str | None = field(default=None, repr=False)  # GEO_PROXY_SECRET: the header counts only with it


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
    secret = env.get("GEO_PROXY_SECRET") or from_file.get("proxy_secret") or None
    return Config(header=header, editors=editors, local=local_name(env), secret=secret)


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
    return User(cfg.local, is_editor(cfg.local, LOCAL, cfg), LOCAL, os_user=os_user())


def os_user() -> str:
    """The account this process runs as, from the system's user database: neither GEO_USER nor
    USER/LOGNAME (which anyone can set) changes it."""
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, ImportError):  # no passwd entry (some containers), or not a Unix system
        return f"uid {os.geteuid()}" if hasattr(os, "geteuid") else getpass.getuser()


def identify(headers: Mapping[str, str] | None = None, login: Mapping | None = None,
             cfg: Config | None = None) -> User:
    """The user behind one request. `headers`: the request's (case-insensitive lookup is the
    caller's mapping's business, as st.context.headers does); `login`: st.user as a dict."""
    cfg = cfg or config()
    if cfg.header:
        name = str((headers or {}).get(cfg.header) or "").strip()
        if not vouched(headers, cfg):  # not from the proxy: an anonymous viewer, whatever it claims
            return User("", False, HEADER, claimed=escape(name, 200))
        return User(name, is_editor(name, HEADER, cfg), HEADER)
    if login is not None and "is_logged_in" in login:  # the key exists only when st.login is configured
        name = str(login.get("email") or login.get("name") or "") if login.get("is_logged_in") else ""
        return User(name, is_editor(name, LOGIN, cfg), LOGIN)
    return local_user(cfg)


def vouched(headers: Mapping[str, str] | None, cfg: Config) -> bool:
    """True when the request carries the proxy's secret (GEO_PROXY_SECRET in the SECRET_HEADER).
    Without a secret configured no header is believed: anything that can reach a replica could
    send one."""
    if not cfg.secret:
        return False
    sent = str((headers or {}).get(SECRET_HEADER) or "")
    return hmac.compare_digest(sent.encode(), cfg.secret.encode())
