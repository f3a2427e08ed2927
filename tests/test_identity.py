"""Identity that cannot be forged: a replica started here as a team runs it (serve.py), reached
directly (not through the proxy), with an identity header but without the proxy's secret, treats
the request as an anonymous viewer (no uploader, nothing imported) and audits the attempt; with
the secret the same header names an editor. A viewer's file sent to the upload endpoint is refused
with 403 before its body is read, nothing is held, and the attempt is audited; a server started
from app.py alone (no gate) still discards such a file at the viewer's next rerun and audits it.
Speaks Streamlit's own WebSocket protocol (bench.load.Client), as a browser would."""
import http.client
import urllib.error
import urllib.parse

import pytest

from bench.browser import Server
from bench.load import Client, sample_file
from geo.store.workspace import Workspace

SECRET = "replica-test-secret"


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("identity") / "workspace.sqlite")
    server = Server(ENV | {"GEO_WORKSPACE": store}, target="serve.py")
    yield server, store
    server.stop()


ENV = {"GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith", "GEO_PROXY_SECRET": SECRET}
MB = 1024 * 1024


def resident_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1]) / 1024


def put_unsent(client, url: str, size: int) -> int:
    """Announce a PUT of `size` bytes to the upload endpoint with `Expect: 100-continue`, as curl
    does for a large body, and return the status the server answers before any of it is sent."""
    parts = urllib.parse.urlsplit(client.base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest("PUT", url)
        for name, value in {**client.headers, "Cookie": client.cookie_header(), "Expect": "100-continue",
                            "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(size),
                            "X-Xsrftoken": client.cookies.get("_streamlit_xsrf", "")}.items():
            conn.putheader(name, value)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def signed_in(client) -> str:
    return next(t for t in client.texts if t.startswith("Signed in as"))


def uploader(client) -> bool:
    return any(k.startswith("upload_") for k in client.widgets)


def test_a_forged_header_straight_to_a_replica_is_an_anonymous_viewer_and_audited(replica):
    server, store = replica
    for secret in (None, "a guess"):
        headers = {"X-Forwarded-User": "edith"} | ({"X-Geo-Proxy-Secret": secret} if secret else {})
        client = Client(server.url, headers=headers)
        try:
            client.rerun()
            assert signed_in(client).startswith("Signed in as **anonymous**, viewer"), signed_in(client)
            assert not uploader(client)
        finally:
            client.close()
    refusals = Workspace(store).audit()
    refusals = refusals[(refusals["action"] == "sign-in") & (refusals["outcome"] == "refused")]
    assert len(refusals) == 2 and all("'edith'" in d and "secret" in d for d in refusals["detail"])
    assert set(refusals["user_name"]) == {"anonymous"}


def test_the_proxys_secret_makes_the_same_header_an_editor_who_can_import(replica):
    server, store = replica
    client = Client(server.url, headers={"X-Forwarded-User": "edith", "X-Geo-Proxy-Secret": SECRET})
    try:
        client.rerun()
        assert signed_in(client).startswith("Signed in as **edith**, editor"), signed_in(client)
        name, data = sample_file(0, 0)
        batch = client.upload(name, data)
    finally:
        client.close()
    assert Workspace(store).batches().set_index("id").at[batch, "imported_by"] == "edith"


def test_a_viewer_s_upload_is_refused_at_the_endpoint_and_nothing_is_held(replica):
    server, store = replica
    client = Client(server.url, headers={"X-Forwarded-User": "vera", "X-Geo-Proxy-Secret": SECRET})
    try:
        client.rerun()
        assert "viewer" in signed_in(client) and not uploader(client)
        before, held = len(Workspace(store).batches()), resident_mb(server.proc.pid)
        with pytest.raises(urllib.error.HTTPError) as refused:  # what a hand-made request tries
            client.send_file("sneaky.geojson", sample_file(1, 0)[1])
        assert refused.value.code == 403
        # A large one is refused on its headers alone: the server never asks for the body.
        ask = client.file_urls("sneaky.bin")
        assert put_unsent(client, ask.upload_url, 150 * MB) == 403
        for _ in range(5):  # nor does sending it, again and again, make the server hold anything
            with pytest.raises((urllib.error.HTTPError, urllib.error.URLError, ConnectionError)):
                client.http("PUT", client.file_urls("again.bin").upload_url, b"x" * (20 * MB),
                            {"Content-Type": "multipart/form-data; boundary=x"})
        client.rerun()  # and the session goes on
        assert resident_mb(server.proc.pid) - held < 40, "the server holds what a viewer sent"
    finally:
        client.close()
    audit = Workspace(store).audit()
    refusals = audit[(audit["action"] == "import") & (audit["user_name"] == "vera")]
    assert len(refusals) == 1, "audited once per session, however often it tries"
    assert refusals.iloc[0]["outcome"] == "refused" and "upload refused at the endpoint" in refusals.iloc[0]["detail"]
    assert len(Workspace(store).batches()) == before


def test_without_the_gate_a_viewer_s_file_is_discarded_at_the_next_rerun_and_audited(tmp_path):
    """`streamlit run app.py` alone (a laptop's way): the endpoint takes the file, and the page
    frees it and audits the attempt at the viewer's next rerun."""
    store = str(tmp_path / "workspace.sqlite")
    server = Server(ENV | {"GEO_WORKSPACE": store})
    client = Client(server.url, headers={"X-Forwarded-User": "vera", "X-Geo-Proxy-Secret": SECRET})
    try:
        client.rerun()
        assert "viewer" in signed_in(client) and not uploader(client)
        client.send_file("sneaky.geojson", sample_file(1, 0)[1])
        client.rerun()
    finally:
        client.close()
        server.stop()
    audit = Workspace(store).audit()
    last = audit[audit["action"] == "import"].iloc[-1]
    assert (last["user_name"], last["outcome"]) == ("vera", "refused") and "discarded" in last["detail"]
    assert len(Workspace(store).batches()) == 0


def test_an_upload_whose_name_holds_a_nul_byte_and_an_rtl_override_imports_under_an_escaped_name(replica):
    server, store = replica
    client = Client(server.url, headers={"X-Forwarded-User": "edith", "X-Geo-Proxy-Secret": SECRET})
    try:
        client.rerun()
        data = sample_file(2, 0)[1]
        batch = client.upload("depot\x00\u202egpj.geojson", data)
        client.rerun()  # and the session goes on: no rerun raises
        client.rerun()
    finally:
        client.close()
    stored = Workspace(store).batches().set_index("id").at[batch, "filename"]
    assert stored == "depot\\x00\\u202egpj.geojson"
