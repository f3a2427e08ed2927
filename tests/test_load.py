"""bench.load's headless clients against a real server, once per store: month steps and
uploads over Streamlit's own WebSocket protocol, with nothing lost or doubled."""
from bench.load import Cluster, run


def test_headless_sessions_step_and_import_and_every_batch_lands_once(store):
    cluster = Cluster(1, store)
    try:
        report = run(cluster.url, sessions=2, steps=3, importers=1, files=2, auth=cluster.auth, workspace=store,
                     pids=cluster.pids)
    finally:
        cluster.stop()
    assert report["errors"] == []
    assert report["step_latency_s"]["n"] == 6 and 0 < report["step_latency_s"]["median"] < 30
    assert (report["imported"], report["lost_batches"], report["duplicated_batches"]) == (2, 0, 0)
    assert report["batches_missing_in_sessions"] == 0
    assert all(mb and mb > 50 for mb in report["peak_memory_mb"].values())
