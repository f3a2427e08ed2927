"""Identity that cannot be forged: a replica started here, reached directly (not through the
proxy), with an identity header but without the proxy's secret, treats the request as an
anonymous viewer (no uploader, nothing imported) and audits the attempt; with the secret the
same header names an editor. A viewer's file sent to the upload endpoint is discarded and
audited. Speaks Streamlit's own WebSocket protocol (bench.load.Client), as a browser would."""
import pytest

from bench.browser import Server
from bench.load import Client, sample_file
from geo.store.workspace import Workspace

SECRET = "replica-test-secret"


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("identity") / "workspace.sqlite")
    server = Server({"GEO_WORKSPACE": store, "GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith",
                     "GEO_PROXY_SECRET": SECRET})
    yield server, store
    server.stop()


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


def test_a_viewer_s_file_sent_to_the_upload_endpoint_is_discarded_and_audited(replica):
    server, store = replica
    client = Client(server.url, headers={"X-Forwarded-User": "vera", "X-Geo-Proxy-Secret": SECRET})
    try:
        client.rerun()
        assert "viewer" in signed_in(client) and not uploader(client)
        before = len(Workspace(store).batches())
        client.send_file("sneaky.geojson", sample_file(1, 0)[1])  # what a hand-made request can still do
        client.rerun()
    finally:
        client.close()
    audit = Workspace(store).audit()
    last = audit[audit["action"] == "import"].iloc[-1]
    assert (last["user_name"], last["outcome"]) == ("vera", "refused") and "discarded" in last["detail"]
    assert len(Workspace(store).batches()) == before


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
