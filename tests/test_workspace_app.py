"""The app against a shared workspace, once per store: what the command line (or another
server) imports and removes shows on this server's next rerun, and viewers cannot change it,
even by sending a disabled button's click."""
import json
import subprocess
import sys

from streamlit.testing.v1 import AppTest

import sample_files as sf
from conftest import ROOT, shown
from geo.render import layers
from geo.store import access
from geo.store.workspace import Workspace

APP = str(ROOT / "app.py")


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def sidebar_text(at) -> str:
    return "\n".join(shown(c.value) for c in at.sidebar.caption)


def layer_ids(at) -> set:
    return {layers.layer_name(l["id"]) for l in json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]}


def test_a_batch_imported_from_the_cli_appears_on_the_next_rerun_and_a_removal_takes_it_away(tmp_path, store):
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["date"] = "2024-06"
    run(at)
    assert "acled.csv" not in sidebar_text(at) and "imported" not in layer_ids(at)
    done = cli("import", sf.acled_csv(tmp_path / "acled.csv"))  # another process: as another server would
    assert done.returncode == 0, done.stderr
    run(at)
    assert "#1 acled.csv · events · 2 · by " in sidebar_text(at) and "imported" in layer_ids(at)
    done = cli("workspace", "remove", 1)
    assert done.returncode == 0, done.stderr
    run(at)
    assert "#1 acled.csv · events" not in sidebar_text(at) and "imported" not in layer_ids(at)
    assert "removed by" in sidebar_text(at)  # the audit row stays in view


def test_a_viewer_s_remove_click_is_refused_in_the_callback_and_logged(tmp_path, store, monkeypatch):
    from geo.imports.importer import read_file
    Workspace().add(read_file(sf.acled_csv(tmp_path / "a.csv")))
    monkeypatch.setenv("GEO_USER", "vera")
    monkeypatch.setenv("GEO_EDITORS", "edith")
    at = run(AppTest.from_file(APP, default_timeout=30))
    button = at.button(key="remove_1")
    assert button.disabled and not at.get("file_uploader")  # a viewer gets no uploader at all
    assert any("vera" in shown(c.value) and "viewer" in shown(c.value) for c in at.sidebar.caption)
    # A forged click on the disabled button (what a hand-made BackMsg carries): Streamlit drops it.
    button._value = True  # AppTest's click() refuses disabled widgets, so set the trigger directly
    run(at)
    assert list(Workspace().batches()["id"]) == [1]
    # The page was drawn while vera could edit; by the click she no longer can. Only the
    # server-side check at click time stands between her and the store.
    monkeypatch.setenv("GEO_EDITORS", "edith,vera")
    run(at)
    assert not at.button(key="remove_1").disabled
    at.button(key="remove_1").click().run()  # the question, while she may still edit
    monkeypatch.setenv("GEO_EDITORS", "edith")
    at.button(key="remove_confirm").click().run()
    ws = Workspace()
    who = ws.vouch(access.local_user()).label  # vera, with the OS user (and in PostGIS the role) beside her
    assert who.startswith(f"vera (os user {access.os_user()}")
    assert [shown(e.value) for e in at.sidebar.error] == [f"{who} may view but not remove batch 1: only editors change the workspace"]
    assert list(ws.batches()["id"]) == [1]
    assert ws.audit()[["user_name", "action", "outcome"]].values.tolist()[-1] == [who, "remove", "refused"]


def test_an_editor_s_removal_in_the_app_is_recorded_with_the_user_s_name(tmp_path, store, monkeypatch):
    from geo.imports.importer import read_file
    Workspace().add(read_file(sf.acled_csv(tmp_path / "a.csv")))
    monkeypatch.setenv("GEO_USER", "edith")
    monkeypatch.setenv("GEO_EDITORS", "edith")
    at = run(AppTest.from_file(APP, default_timeout=30))
    at.button(key="remove_1").click().run()
    at.button(key="remove_confirm").click().run()
    assert [shown(s.value).split(":")[0] for s in at.sidebar.success] == ["Removed batch 1"]
    gone = Workspace().batches(removed=True).iloc[0]
    assert gone["removed_by"].startswith(f"edith (os user {access.os_user()}") and gone["removed_at"]
    assert f"removed by {gone['removed_by']}" in sidebar_text(at)
