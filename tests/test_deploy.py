"""deploy/nginx.conf as shipped (only its ports and password file swapped for free ones): two
Streamlit replicas on one PostGIS workspace behind Debian's nginx. Sticky sessions, the
WebSocket, the identity header, and a batch imported through one replica showing on the other.

Needs nginx, PostgreSQL + PostGIS, and (for the browser part) Chromium; skips without them on a
laptop, fails under CI=true.
"""
import base64
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.browser import CHART, CHROMIUM_ARGS, Server, free_port
from bench.load import start_nginx
from conftest import require_chromium

pytestmark = pytest.mark.browser
WAIT_MS = 90_000
USERS = {"edith": "edith-pw", "vera": "vera-pw"}


def need(tool):
    if shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}"):
        return shutil.which(tool) or f"/usr/sbin/{tool}"
    if os.environ.get("CI"):
        pytest.fail(f"CI=true but {tool} is missing")
    pytest.skip(f"{tool} not installed")


class Nginx:
    """deploy/nginx.conf as shipped, on free ports (bench.load.start_nginx), stopped by its own pid."""

    def __init__(self, folder, ports, password_file, secret):
        need("nginx")
        self.port = free_port()
        self.proc = start_nginx(folder, ports, self.port, password_file, secret)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def cluster(postgres):
    # Not under pytest's private tmp: started by root, nginx's worker runs as another user and
    # must read the password file.
    folder = Path(tempfile.mkdtemp(prefix="geo-deploy-"))
    os.chmod(folder, 0o755)
    lines = [f"{u}:{subprocess.check_output(['openssl', 'passwd', '-apr1', p], text=True).strip()}"
             for u, p in USERS.items()]
    (folder / "htpasswd").write_text("\n".join(lines) + "\n")
    os.chmod(folder / "htpasswd", 0o644)
    url = postgres.new_database()
    env = {"GEO_WORKSPACE": url, "GEO_USER_HEADER": "X-Forwarded-User", "GEO_EDITORS": "edith",
           "GEO_PROXY_SECRET": "deploy-test-secret"}
    replicas = [Server(env, target="serve.py"), Server(env, target="serve.py")]
    lb = Nginx(folder, [r.port for r in replicas], folder / "htpasswd", env["GEO_PROXY_SECRET"])
    yield lb, replicas, url
    lb.stop()
    for r in replicas:
        r.stop()
    shutil.rmtree(folder, ignore_errors=True)


def get(url, user=None, cookie=None):
    req = urllib.request.Request(url)
    if user:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{USERS[user]}".encode()).decode())
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers


def test_nginx_asks_for_a_name_and_keeps_each_browser_on_one_replica(cluster):
    lb, replicas, _ = cluster
    assert get(lb.url)[0] == 401
    status, headers = get(lb.url, "edith")
    assert status == 200
    cookie = re.match(r"geo_replica=[^;]+", headers["Set-Cookie"]).group(0)
    home = headers["X-Replica"]
    assert all(get(lb.url + "_stcore/health", "edith", cookie)[1]["X-Replica"] == home for _ in range(10))
    seen = {get(lb.url, "edith")[1]["X-Replica"] for _ in range(30)}  # new browsers spread out
    assert seen == {f"127.0.0.1:{r.port}" for r in replicas}


def sign_in(browser, lb, user, replica):
    """A browser context as `user`, retried until nginx's random first pick lands on `replica`."""
    for _ in range(40):
        context = browser.new_context(http_credentials={"username": user, "password": USERS[user]},
                                      viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        response = page.goto(lb.url + "?date=2024-06")
        if response.headers.get("x-replica") == f"127.0.0.1:{replica.port}":
            page.errors = []
            page.on("pageerror", lambda e: page.errors.append(str(e)))
            page.wait_for_selector(f"{CHART} canvas", timeout=WAIT_MS)
            idle(page)
            return page
        context.close()
    raise AssertionError(f"nginx never sent {user} to {replica.port}")


def idle(page):
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=WAIT_MS)


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def rerun(page):
    sidebar(page).get_by_role("button", name=re.compile("^◀")).first.click()
    page.wait_for_timeout(500)  # the initial pause before waiting for the run to end, as Streamlit's own tests do
    idle(page)


def test_an_import_through_one_replica_shows_on_the_other_and_a_viewer_cannot_import(cluster, tmp_path):
    executable = require_chromium()
    lb, replicas, url = cluster
    from playwright.sync_api import sync_playwright
    upload = tmp_path / "depot.geojson"
    upload.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                      '{"name":"Replica depot"},"geometry":{"type":"Point","coordinates":[100.5,47.5]}}]}')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            edith = sign_in(browser, lb, "edith", replicas[0])
            vera = sign_in(browser, lb, "vera", replicas[1])
            assert "vera" in sidebar(vera).inner_text() and "viewer" in sidebar(vera).inner_text()
            assert sidebar(vera).locator('input[type="file"]').count() == 0  # a viewer gets no uploader
            sidebar(edith).locator('input[type="file"]').set_input_files(str(upload))  # upload via nginx
            sidebar(edith).get_by_text("1 generic feature(s) (geojson)").wait_for(timeout=WAIT_MS)  # the preview
            sidebar(edith).get_by_role("button", name="Import", exact=True).click()
            edith.get_by_text("Imported 1 generic feature(s) from depot.geojson").wait_for(timeout=WAIT_MS)
            rerun(vera)
            sidebar(vera).get_by_text("#1 depot.geojson · generic · 1 · by edith").wait_for(timeout=WAIT_MS)
            rerun(edith)
            sidebar(edith).locator('button:has-text("✕")').first.click()  # asks first, then removes
            sidebar(edith).locator(".st-key-remove_confirm button").first.click()
            edith.get_by_text("Removed batch 1: 1 generic feature(s) from depot.geojson.").wait_for(timeout=WAIT_MS)
            rerun(vera)
            sidebar(vera).get_by_text("Removed batches (1)").wait_for(timeout=WAIT_MS)
            assert "#1 depot.geojson · generic · 1 · by" not in sidebar(vera).inner_text()
            assert edith.errors == [] and vera.errors == []
        finally:
            browser.close()
    from geo.store.workspace import Workspace
    gone = Workspace(url).batches(removed=True).iloc[0]
    assert (gone["imported_by"], gone["removed_by"]) == ("edith", "edith")
