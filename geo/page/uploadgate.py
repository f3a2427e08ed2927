"""The upload endpoint open only to the sessions the page offers an uploader: editors.

Streamlit's server accepts a file at /_stcore/upload_file/<session>/<file> from any session that
asks, uploader or not, and holds it in memory until that session's next rerun. A viewer's page
shows no uploader, but a hand-made request could still make the server hold hundreds of
megabytes. So the page says, on every run, whether it offers this session an uploader
(`offer`), and `UploadGate`, an ASGI middleware that serve.py puts in front of Streamlit's own
routes, answers every other upload with 403 before a byte of the body is read.

Who the session is comes from the page (geo.store.access.identify on the session's own request,
with the proxy's secret, or st.login): the gate decides exactly as the sidebar does. A session
the page has not yet drawn a sidebar for is offered nothing. A refusal is audited once per
session, under the name the page knows it by (or, for a session the page never ran, the
identity its upload request carries through the proxy, else anonymous), and further refusals of the same session are not written
again (a session can send requests as fast as it likes; the log should not grow with them).

Pure ASGI, no Streamlit: the page calls `offer`; serve.py installs the middleware.
"""
from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections import OrderedDict
from typing import Callable

from geo.page import resources
from geo.store import access

UPLOAD_PATH = re.compile(r"(^|/)_stcore/upload_file(/|$)")
SESSION_IN_PATH = re.compile(r"_stcore/upload_file/([^/]+)")
ALLOWED_METHODS = {"DELETE", "OPTIONS"}  # forgetting a file, and the browser's preflight, free memory or cost none
MAX_SESSIONS = 10_000  # sessions remembered; each rerun renews its own entry
REFUSAL = b"Uploads are for editors: this session is offered no uploader.\n"
log = logging.getLogger("geo.page.uploadgate")


class Offers:
    """Which sessions the page offers an uploader, and who they are; thread-safe (the page's runs
    are threads, the server's requests another thread's event loop)."""

    def __init__(self, size: int = MAX_SESSIONS):
        self.size, self.lock = size, threading.Lock()
        self.sessions: OrderedDict[str, tuple[access.User, bool]] = OrderedDict()
        self.audited: OrderedDict[str, bool] = OrderedDict()

    def offer(self, session_id: str, user: access.User, offered: bool) -> None:
        with self.lock:
            self.sessions[session_id] = (user, offered)
            self.sessions.move_to_end(session_id)
            while len(self.sessions) > self.size:
                self.sessions.popitem(last=False)

    def allowed(self, session_id: str) -> tuple[bool, access.User | None]:
        """(may this session upload, the user the page knows it as or None)."""
        with self.lock:
            user, offered = self.sessions.get(session_id, (None, False))
        return offered, user

    def first_refusal(self, session_id: str) -> bool:
        """True the first time a session is refused (then it is audited), False after."""
        with self.lock:
            if session_id in self.audited:
                return False
            self.audited[session_id] = True
            while len(self.audited) > self.size:
                self.audited.popitem(last=False)
            return True


offers = Offers()


def offer(session_id: str, user: access.User, offered: bool) -> None:
    """Called by the page on every run: whether this session sees an uploader, and who it is."""
    offers.offer(session_id, user, offered)


def default_audit(user: access.User, detail: str) -> None:
    """Write the refusal to the workspace's audit log, as the page's own refusals are."""
    store, problem = resources.workspaces.open(resources.workspace_target())
    if store is None:
        log.warning("upload refused for %s; not audited (%s)", user.label, problem)
        return
    store.record_refusal(user, "import", detail)


class UploadGate:
    """ASGI middleware: PUT/POST (anything but DELETE and OPTIONS) to the upload endpoint only
    from a session the page offers an uploader; 403 otherwise, the body unread."""

    def __init__(self, app, offered: Offers | None = None, audit: Callable[[access.User, str], None] | None = None):
        self.app, self.offers, self.audit = app, offered or offers, audit or default_audit

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method", "GET").upper() in ALLOWED_METHODS \
                or not UPLOAD_PATH.search(scope.get("path", "")):
            return await self.app(scope, receive, send)
        found = SESSION_IN_PATH.search(scope.get("path", ""))
        session_id = found.group(1) if found else ""
        ok, user = self.offers.allowed(session_id)
        if ok:
            return await self.app(scope, receive, send)
        if self.offers.first_refusal(session_id):
            if user is None:
                user = request_user(scope)
            detail = "upload refused at the endpoint: this session is offered no uploader"
            try:
                await asyncio.to_thread(self.audit, user, detail)
            except Exception as err:  # the refusal stands; a store that is down must not turn it into a 500
                log.warning("upload refused for %s; not audited (%s)", user.label, type(err).__name__)
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(REFUSAL)).encode())]})
        await send({"type": "http.response.body", "body": REFUSAL})


def request_user(scope) -> access.User:
    """Who a request of a session the page never ran says it is: the proxy's identity header
    where one is configured (believed only with the proxy's secret), else nobody."""
    cfg = access.config()
    if not cfg.header:
        return access.User("", False)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return access.identify(Caseless(headers), cfg=cfg)


class Caseless(dict):
    """Request headers looked up by any case of their name, as st.context.headers is."""

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)
