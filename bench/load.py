"""Load: N headless sessions step the month M times while K more import files through the app.

    python -m bench.load URL [--sessions N] [--steps M] [--importers K] [--files F] [--user NAME:PASSWORD]
                             [--workspace TARGET] [--pid PID ...]
    python -m bench.load --start R [...]    # start R replicas (and nginx when R > 1) on GEO_WORKSPACE

Each client speaks Streamlit's own WebSocket protocol, as the browser does: it fetches
/_stcore/health for the XSRF cookie (and, through deploy/nginx.conf, its replica cookie), opens
/_stcore/stream with the XSRF token as its second subprotocol, and sends BackMsg rerun_script
messages carrying widget states; the widget ids come from the ForwardMsg deltas of the first run.
A month step is a click on ◀ (a trigger on the `prev_month` button); its latency runs from
sending the BackMsg to the ForwardMsg script_finished. An import asks for an upload URL
(file_urls_request), PUTs the file there, then reruns with the uploader's new state, as the
browser's file_uploader does; the app's success message names the batch.

It reports per-step latency (median, p95, max), errors, batches lost or duplicated (every file
must land as exactly one live batch in the workspace, and every stepping session must list every
batch on its last rerun), and each server's peak memory (VmHWM) when their process ids are known.
"""
from __future__ import annotations

import argparse
import base64
import http.cookies
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sqlite3
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds for one rerun: two cores shared by every server and client
BATCH = re.compile(r"^#(\d+) ")
IMPORTED = re.compile(r"Imported .* as batch (\d+)\.")


class Client:
    """One browser tab's worth of Streamlit session, without the browser."""

    def __init__(self, base: str, auth: str | None = None, query: str = "", headers: dict | None = None):
        from websockets.sync.client import connect
        self.base, self.query = base.rstrip("/") + "/", query
        self.headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
        self.headers.update(headers or {})
        self.cookies = {}
        self.http("GET", "_stcore/health")  # the XSRF cookie, and the replica cookie behind nginx
        self.replica = self.last_replica
        xsrf = self.cookies.get("_streamlit_xsrf", "")
        self.ws = connect(self.base.replace("http", "ws", 1) + "_stcore/stream", subprotocols=["streamlit", xsrf],
                          additional_headers={**self.headers, "Cookie": self.cookie_header()}, max_size=None,
                          open_timeout=TIMEOUT, legacy=True)  # a plain connection, closed by close()
        self.widgets: dict[str, str] = {}  # user key -> widget id
        self.session_id = ""
        self.texts: list[str] = []

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def http(self, method, path, body=None, headers=None):
        request = urllib.request.Request(self.base + path.lstrip("/"), data=body, method=method,
                                         headers={**self.headers, "Cookie": self.cookie_header(), **(headers or {})})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = http.cookies.SimpleCookie()
                jar.load(header)
                self.cookies.update({k: v.value for k, v in jar.items()})
            self.last_replica = response.headers.get("X-Replica", self.base)
            return response.read()

    def send(self, msg):
        self.ws.send(msg.SerializeToString())

    def receive(self, until):
        """ForwardMsgs until until(msg) is true; deltas update the widget ids and texts."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(self.ws.recv(timeout=TIMEOUT))
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                proto = getattr(element, element.WhichOneof("type"))
                if getattr(proto, "id", ""):
                    self.widgets[proto.id.rsplit("-", 1)[-1]] = proto.id
                if element.WhichOneof("type") in ("markdown", "alert"):
                    self.texts.append(re.sub(r"\\(.)", r"\1", proto.body))  # as shown: Markdown escapes read off
            if until(msg):
                return msg

    def rerun(self, *widget_states) -> float:
        """One script run; returns its latency in seconds. Raises unless it finished cleanly."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.widget_states.widgets.extend(widget_states)
        self.texts = []
        start = time.perf_counter()
        self.send(msg)
        done = self.receive(lambda m: m.WhichOneof("type") == "script_finished" and
                            m.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN)
        if done.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
            raise RuntimeError(f"script finished with status {done.script_finished}")
        exceptions = [t for t in self.texts if "Traceback" in t]
        if exceptions:
            raise RuntimeError(exceptions[0][:200])
        return time.perf_counter() - start

    def click(self, key: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        return self.rerun(WidgetState(id=self.widgets[key], trigger_value=True))

    def file_urls(self, name: str):
        """The upload URLs the server hands this session for one file name, as the uploader asks."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        ask = BackMsg()
        ask.file_urls_request.request_id = uuid.uuid4().hex
        ask.file_urls_request.session_id = self.session_id
        ask.file_urls_request.file_names.append(name)
        self.send(ask)
        answer = self.receive(lambda m: m.WhichOneof("type") == "file_urls_response" and
                              m.file_urls_response.response_id == ask.file_urls_request.request_id)
        return answer.file_urls_response.file_urls[0]

    def send_file(self, name: str, data: bytes):
        """Put a file on the server's upload endpoint, as the uploader does; returns its URLs."""
        urls = self.file_urls(name)
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{urls.file_id}\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        self.http("PUT", urls.upload_url, body, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                  "X-Xsrftoken": self.cookies.get("_streamlit_xsrf", "")})
        return urls

    def upload(self, name: str, data: bytes, refused: str | None = None) -> int | None:
        """Import a file through the sidebar's uploader; returns the batch id the app reports.
        With `refused`, the preview must refuse the file with a message holding that text
        (nothing is imported; returns None)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        urls = self.send_file(name, data)
        # The uploader's key counts the imports of this session (upload_0, upload_1, ...): a new
        # round clears it. Choosing the file shows the preview; the Import button stores it.
        key = max((k for k in self.widgets if re.fullmatch(r"upload_\d+", k)), key=lambda k: int(k.split("_")[1]))
        state = WidgetState(id=self.widgets[key])
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        self.rerun(state)
        if refused is not None:
            if not any(refused in t for t in self.texts):
                raise RuntimeError(f"{name}: not refused; the app said {[t[:120] for t in self.texts[-3:]]}")
            self.rerun(WidgetState(id=self.widgets[key]))  # clear the uploader, as the user would
            return None
        self.rerun(state, WidgetState(id=self.widgets["import_button"], trigger_value=True))
        found = [IMPORTED.search(t) for t in self.texts]
        batch = next((int(m.group(1)) for m in found if m), None)
        if batch is None:
            raise RuntimeError(f"{name}: no import message; the app said {[t[:120] for t in self.texts[-3:]]}")
        return batch

    def batches_listed(self) -> set[int]:
        return {int(m.group(1)) for m in map(BATCH.match, self.texts) if m}

    def close(self):
        self.ws.close()


def sample_file(who: int, i: int) -> tuple[str, bytes]:
    """A small GeoJSON of its own: distinct bytes, so each is one batch."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"load depot {who}-{i}"},
         "geometry": {"type": "Point", "coordinates": [100 + who * 0.5 + i * 0.01, 47.5]}}]}
    return f"load-{who}-{i}-{uuid.uuid4().hex[:6]}.geojson", json.dumps(doc).encode()


HOSTILE_VIEW = ("CREATE VIEW hostile AS WITH RECURSIVE r(n, pad) AS (SELECT 1, 'x' UNION ALL "
                "SELECT n + 1, pad || pad FROM r) SELECT n AS fid, (SELECT geom FROM depots) AS geom, pad AS name FROM r")


def hostile_gpkg(path, padding: int = 50_000):
    """A valid GeoPackage of about 98 KB: one real layer, and one layer that is a view whose rows
    never end and double in size at each step."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    con.execute("PRAGMA user_version = 10300")
    con.executescript("""
    CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
    INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]', NULL);
    INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian', -1, 'NONE', -1, 'undefined', NULL);
    INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic', 0, 'NONE', 0, 'undefined', NULL);
    CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
    CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
    CREATE TABLE depots (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT, name TEXT);
    CREATE TABLE padding (data BLOB);
    """)
    point = b"GP" + bytes([0, 1]) + struct.pack("<i", 4326) + struct.pack("<BIdd", 1, 1, 130.6, 42.3)
    con.execute("INSERT INTO depots (geom, name) VALUES (?, 'Rajin')", (point,))
    con.execute(HOSTILE_VIEW)
    for layer in ("depots", "hostile"):
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?, 'features', ?, 4326)",
                    (layer, layer))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POINT', 4326, 0, 0)", (layer,))
    con.execute("INSERT INTO padding VALUES (zeroblob(?))", (padding,))
    con.commit()
    con.close()
    return path


def hostile_file() -> tuple[str, bytes]:
    """A GeoPackage of about 90 KB (hostile_gpkg) whose second layer is a view that recurses for ever, each row twice the
    last: read as it claims to be, it pins a core or fills the memory. The app must refuse it."""
    with tempfile.TemporaryDirectory(prefix="geo-hostile-") as tmp:
        path = hostile_gpkg(Path(tmp) / "hostile.gpkg")
        return f"hostile-{uuid.uuid4().hex[:6]}.gpkg", path.read_bytes()


def peak_memory_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def run(url, sessions=4, steps=10, importers=1, files=2, auth=None, workspace=None, pids=(), hostile=False) -> dict:
    steppers, loaders = [], []
    errors: list[str] = []
    latencies: list[float] = []
    imported: dict[str, int] = {}
    refused: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(sessions + importers)

    def fail(who, err):
        with lock:
            errors.append(f"{who}: {type(err).__name__}: {str(err)[:200]}")

    def stepper(n):
        try:
            client = Client(url, auth, query="date=2025-11")
            client.rerun()
            steppers.append(client)
        except Exception as err:
            fail(f"session {n}", err)
            start_gate.abort()
            return
        try:
            start_gate.wait(TIMEOUT)
            for _ in range(steps):
                took = client.click("prev_month")
                with lock:
                    latencies.append(took)
        except Exception as err:
            fail(f"session {n}", err)

    def importer(n):
        try:
            client = Client(url, auth)
            client.rerun()
            loaders.append(client)
        except Exception as err:
            fail(f"importer {n}", err)
            start_gate.abort()
            return
        try:
            start_gate.wait(TIMEOUT)
            if hostile and n == 0:  # the first importer drops the hostile file before its own
                name, data = hostile_file()
                client.upload(name, data, refused="is a view")
                with lock:
                    refused.append(name)
            for i in range(files):
                name, data = sample_file(n, i)
                batch = client.upload(name, data)
                with lock:
                    imported[name] = batch
        except Exception as err:
            fail(f"importer {n}", err)

    threads = [threading.Thread(target=stepper, args=(n,)) for n in range(sessions)] + \
              [threading.Thread(target=importer, args=(n,)) for n in range(importers)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began

    # Every stepping session must list every imported batch on its next rerun, wherever it runs.
    missing_in_view = 0
    for n, client in enumerate(steppers):
        try:
            client.click("prev_month")
            missing_in_view += len(set(imported.values()) - client.batches_listed())
        except Exception as err:
            fail(f"session {n} (last rerun)", err)
    replicas = sorted({c.replica for c in steppers + loaders})
    for client in steppers + loaders:
        client.close()

    lost = duplicated = None
    if workspace:
        from geo.store.workspace import Workspace
        names = list(Workspace(workspace).batches()["filename"])
        lost = sum(1 for name in imported if name not in names) + (importers * files - len(imported))
        duplicated = sum(names.count(name) - 1 for name in imported if names.count(name) > 1)
    return {
        "sessions": sessions, "steps": steps, "importers": importers, "files": files,
        "replicas_used": replicas, "seconds": round(elapsed, 1),
        "step_latency_s": {"n": len(latencies),
                           "median": round(statistics.median(latencies), 3) if latencies else None,
                           "p95": round(percentile(latencies, 0.95), 3) if latencies else None,
                           "max": round(max(latencies), 3) if latencies else None},
        "errors": errors, "imported": len(imported), "hostile_refused": len(refused),
        "servers_alive": None, "lost_batches": lost, "duplicated_batches": duplicated,
        "batches_missing_in_sessions": missing_in_view,
        "peak_memory_mb": {str(pid): peak_memory_mb(pid) for pid in pids},
    }


class Cluster:
    """R replicas of `streamlit run serve.py` on one workspace, behind deploy/nginx.conf when R > 1."""

    USER = "loader"

    def __init__(self, replicas: int, workspace: str):
        from bench.browser import Server, free_port
        self.folder = Path(tempfile.mkdtemp(prefix="geo-load-"))
        os.chmod(self.folder, 0o755)  # nginx's worker may run as another user
        password = uuid.uuid4().hex[:12]
        self.auth = f"{self.USER}:{password}" if replicas > 1 else None
        env = {"GEO_WORKSPACE": workspace, "GEO_EDITORS": self.USER}
        self.secret = uuid.uuid4().hex
        if replicas > 1:
            env["GEO_USER_HEADER"] = "X-Forwarded-User"
            env["GEO_PROXY_SECRET"] = self.secret
        else:
            env["GEO_USER"] = self.USER
        self.servers = [Server(env, target="serve.py") for _ in range(replicas)]
        self.nginx = None
        if replicas == 1:
            self.url = self.servers[0].url
            return
        hashed = subprocess.check_output(["openssl", "passwd", "-apr1", password], text=True).strip()
        (self.folder / "htpasswd").write_text(f"{self.USER}:{hashed}\n")
        os.chmod(self.folder / "htpasswd", 0o644)
        self.port = free_port()
        self.nginx = start_nginx(self.folder, [s.port for s in self.servers], self.port, self.folder / "htpasswd",
                                 self.secret)
        self.url = f"http://127.0.0.1:{self.port}/"

    @property
    def pids(self):
        return [s.proc.pid for s in self.servers]

    def stop(self):
        if self.nginx:
            self.nginx.terminate()
            self.nginx.wait(10)
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_nginx(folder: Path, ports, port: int, password_file: Path, secret: str) -> subprocess.Popen:
    """deploy/nginx.conf as shipped, with its replica ports, listen port and password file swapped,
    and its proxy-secret.conf holding `secret` (the replicas' GEO_PROXY_SECRET)."""
    (folder / "proxy-secret.conf").write_text(f'proxy_set_header X-Geo-Proxy-Secret "{secret}";\n')
    conf = (ROOT / "deploy/nginx.conf").read_text()
    upstreams = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    conf = re.sub(r"(        server 127\.0\.0\.1:850\d;\n)+", upstreams + "\n", conf)
    conf = conf.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{port}")
    conf = conf.replace("auth_basic_user_file htpasswd;", f"auth_basic_user_file {password_file};")
    (folder / "nginx.conf").write_text(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", "stderr",
                             "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except urllib.error.HTTPError:  # 401: it answers
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"nginx did not start: {proc.stderr.read()[-500:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="the app or the load balancer, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--start", type=int, metavar="R", help="start R replicas (nginx in front when R > 1)")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--importers", type=int, default=1)
    parser.add_argument("--files", type=int, default=2, help="files per importer")
    parser.add_argument("--user", help="NAME:PASSWORD for nginx's password prompt")
    parser.add_argument("--workspace", default=os.environ.get("GEO_WORKSPACE"),
                        help="the servers' GEO_WORKSPACE, to count lost and duplicated batches")
    parser.add_argument("--pid", type=int, action="append", default=[], help="a server's process id, for its memory")
    parser.add_argument("--hostile", action="store_true",
                        help="the first importer also drops a hostile file (a GeoPackage whose layer is a view that "
                             "recurses for ever), which must be refused while the others go on")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.url and not args.start:
        parser.error("give a URL, or --start R")
    cluster = scratch = None
    if args.start:
        if not args.workspace:  # a throwaway SQLite workspace, removed afterwards
            scratch = Path(tempfile.mkdtemp(prefix="geo-load-ws-"))
            args.workspace = str(scratch / "workspace.sqlite")
        cluster = Cluster(args.start, args.workspace)
        args.url, args.user, args.pid = cluster.url, cluster.auth, cluster.pids
    try:
        report = run(args.url, args.sessions, args.steps, args.importers, args.files, args.user, args.workspace,
                     args.pid, args.hostile)
        if cluster:
            report["servers_alive"] = sum(s.proc.poll() is None for s in cluster.servers)
    finally:
        if cluster:
            cluster.stop()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        lat = report["step_latency_s"]
        print(f"{report['sessions']} session(s) x {report['steps']} step(s), {report['importers']} importer(s) x "
              f"{report['files']} file(s), on {len(report['replicas_used'])} server(s), {report['seconds']} s")
        print(f"step latency: median {lat['median']} s, p95 {lat['p95']} s, max {lat['max']} s (n={lat['n']})")
        if args.hostile:
            print(f"hostile file refused: {report['hostile_refused']}")
        if report["servers_alive"] is not None:
            print(f"servers still running at the end: {report['servers_alive']}")
        print(f"imported {report['imported']}; lost {report['lost_batches']}, duplicated "
              f"{report['duplicated_batches']}; batches missing from sessions' views "
              f"{report['batches_missing_in_sessions']}")
        for pid, mb in report["peak_memory_mb"].items():
            print(f"server {pid}: peak memory {mb:.0f} MB" if mb else f"server {pid}: memory unknown")
        print(f"errors: {len(report['errors'])}")
        for error in report["errors"]:
            print(f"  {error}")
    return 1 if report["errors"] or report["lost_batches"] or report["duplicated_batches"] else 0


if __name__ == "__main__":
    sys.exit(main())
