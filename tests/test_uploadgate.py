"""The upload endpoint's gate (geo.page.uploadgate) on its own: what passes to Streamlit's routes,
what is refused with 403 before the body is read, and what is audited. tests/test_identity.py
runs it in a real server."""
import asyncio

from geo.page import uploadgate
from geo.store import access

EDITH, VERA = access.User("edith", True, access.HEADER), access.User("vera", False, access.HEADER)


def call(gate, method, path):
    """One request through the gate: (status, whether Streamlit's app saw it, whether the body was read)."""
    seen, read, sent = [], [], []

    async def app(scope, receive, send):
        seen.append(scope["path"])
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        read.append(True)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    asyncio.run(uploadgate.UploadGate(app, gate.offers, gate.audit)(scope, receive, send))
    return sent[0]["status"], bool(seen), bool(read)


class Gate:
    def __init__(self):
        self.offers, self.audited = uploadgate.Offers(), []
        self.audit = lambda user, detail: self.audited.append((user.label, detail))


def test_only_a_session_offered_an_uploader_may_put_a_file():
    gate = Gate()
    gate.offers.offer("s-edith", EDITH, True)
    gate.offers.offer("s-vera", VERA, False)
    assert call(gate, "PUT", "/_stcore/upload_file/s-edith/f1") == (204, True, True)
    assert call(gate, "PUT", "/_stcore/upload_file/s-vera/f1") == (403, False, False)
    assert call(gate, "POST", "/base/_stcore/upload_file/s-vera/f2") == (403, False, False)  # under a base path too
    assert call(gate, "PUT", "/_stcore/upload_file/s-unknown/f1") == (403, False, False)  # the page never ran it
    # Forgetting a file, the preflight and every other route pass as they are.
    assert call(gate, "DELETE", "/_stcore/upload_file/s-vera/f1")[1]
    assert call(gate, "OPTIONS", "/_stcore/upload_file/s-vera/f1")[1]
    assert call(gate, "GET", "/_stcore/health")[1]


def test_a_session_that_becomes_a_viewer_is_refused_from_its_next_run():
    gate = Gate()
    gate.offers.offer("s1", EDITH, True)
    gate.offers.offer("s1", EDITH, False)  # the store went down: the page hides the uploader
    assert call(gate, "PUT", "/_stcore/upload_file/s1/f")[0] == 403


def test_each_session_s_refusals_are_audited_once_under_the_name_the_page_knows():
    gate = Gate()
    gate.offers.offer("s-vera", VERA, False)
    for _ in range(3):
        call(gate, "PUT", "/_stcore/upload_file/s-vera/f")
    call(gate, "PUT", "/_stcore/upload_file/s-other/f")
    assert [label for label, _ in gate.audited] == ["vera", "anonymous"]
    assert all("refused at the endpoint" in detail for _, detail in gate.audited)


def test_a_store_that_cannot_audit_leaves_the_refusal_standing():
    gate = Gate()

    def broken(user, detail):
        raise OSError("disk full")
    gate.audit = broken
    assert call(gate, "PUT", "/_stcore/upload_file/s/f")[0] == 403


def test_the_remembered_sessions_are_bounded():
    offers = uploadgate.Offers(size=3)
    for i in range(5):
        offers.offer(f"s{i}", EDITH, True)
    assert offers.allowed("s0") == (False, None) and offers.allowed("s4") == (True, EDITH)
