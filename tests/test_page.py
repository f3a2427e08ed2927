"""The page's logic without Streamlit (geo.page): navigation, links, text, the cache policy."""
import random

import numpy as np
import pandas as pd
import pytest

from conftest import DATA
from geo.data import dataset
from geo.data.schema import BASES, CLAIMANT_TYPES, FAMILIES, LAYER_IDS, SELECTION_KINDS
from geo.model.evidence import voyages_along
from geo.page import resources, session, state
from geo.page.text import plain
from geo.store.workspace import Workspace


@pytest.fixture(scope="module")
def nav():
    data = dataset.load(DATA)
    return session.Navigator.for_data(data)


def test_a_month_that_left_the_control_falls_back_with_a_notice(nav):
    ss = {"date": "2099-01", "seeded": True}
    nav.keep_valid(ss)
    assert ss["date"] == nav.months[-1]
    assert any("2099-01 is no longer on the date control" in n for n in nav.notices(ss))
    assert nav.current_step(ss) == len(nav.months) - 1
    ss = {"date": nav.months[3][:4] + "-00"}  # not a month at all: the nearest earlier one
    nav.keep_valid(ss)
    assert ss["date"] in nav.months


def test_steps_stop_at_the_ends_and_play_stops_at_the_last_month(nav):
    ss = {"date": nav.months[1], "playing": True}
    nav.step_to(ss, -5)
    assert ss["date"] == nav.months[0]
    nav.on_step(ss, {"index": len(nav.months) + 3, "seq": 7})
    assert ss["date"] == nav.months[-1] and ss["playing"] is False and ss["step_ack"] == 7


def test_a_scene_sets_month_view_and_layers_and_closes_the_panel(nav):
    ss = {"present": True, "sel": {"kind": "route", "feature_id": "L_X"}, "date": nav.months[0]}
    nav.step_to(ss, 1)
    scene = nav.scenes.iloc[1]
    assert ss["scene_index"] == 1 and ss["date"] == f"{scene.date:%Y-%m}" and ss["view"] == scene.view
    assert ss["sel"] is None
    state_ = nav.map_state(ss)
    assert state_.focus == tuple(scene.focus) and state_.present


def test_a_click_merged_with_a_later_esc_and_step_does_not_reopen_its_panel(nav):
    # Streamlit merges quick requests and runs the keyboard's callbacks before the map's: the count
    # of map clicks each key carries tells which came first.
    feature = {"kind": "place", "feature_id": "LOC_RAJIN_PORT"}
    ss = {"present": True, "scene_index": 0, "date": nav.months[0]}
    nav.on_escape(ss, {"at": 1, "clicks": 1})  # Esc pressed after the first click ...
    nav.on_step(ss, {"index": 1, "seq": 1, "clicks": 1})  # ... then →
    nav.pick(ss, feature, clicks=1)  # the first click's pick arrives in the same run, last
    assert ss["sel"] is None and ss["scene_index"] == 1
    nav.pick(ss, feature, clicks=2)  # a click made after them opens its panel
    assert ss["sel"] == feature
    nav.on_escape(ss, {"at": 2, "clicks": 2})
    nav.pick(ss, None, clicks=3)  # a click on empty map after Esc: still nothing selected
    assert ss["sel"] is None


def test_leaving_presenter_mode_brings_back_the_analysts_view_and_layers(nav):
    ss = {"date": nav.months[5], "view": "tumen", "layers": ["basemap", "routes"]}
    ss["present"] = True
    nav.toggle_present(ss)
    assert list(ss["layers"]) != ["basemap", "routes"]
    nav.step_to(ss, len(nav.scenes) - 1)
    nav.exit_present(ss)
    last = nav.scenes.iloc[-1]
    assert ss["present"] is False and ss["view"] == "tumen" and ss["layers"] == ["basemap", "routes"]
    assert ss["date"] == f"{last.date:%Y-%m}", "the month of the last scene stays"
    ss = {}  # opened by a presenter link: exit gives the defaults
    nav.seed(ss, {"present": "1", "scene": "S3"})
    assert ss["view"] == "tumen" and "flows" not in ss["layers"], "scene 3's own view and layers"
    nav.exit_present(ss)
    assert ss["view"] == "overview" and list(ss["layers"]) == session.LAYER_CHOICES


def random_state(rng: random.Random, nav) -> dict:
    pick = lambda pool: rng.sample(list(pool), rng.randint(0, min(3, len(pool))))  # noqa: E731
    present = rng.random() < 0.3
    feature = "".join(rng.choice("AZaz09_-,.:;ü ") for _ in range(rng.randint(1, 12))).strip() or "x"
    return {"date": rng.choice(nav.months), "mode": rng.choice(state.MODES), "view": rng.choice(["overview", "tumen",
                                                                                                  "sea", "rail", "front"]),
            "layers": pick(LAYER_IDS) or list(LAYER_IDS), "claimant_type": pick(CLAIMANT_TYPES), "basis": pick(BASES),
            "family": pick(FAMILIES), "group_by": rng.choice(state.GROUPINGS), "present": present,
            "scene": rng.choice(list(nav.scenes["id"])) if present else None,
            "sel": {"kind": rng.choice(SELECTION_KINDS), "feature_id": feature} if rng.random() < 0.7 else None}


def test_every_state_reopens_from_its_link(nav):
    """A property over 500 random states: to_params then parse_params gives the state back, a
    selection id with commas, colons or spaces included."""
    rng = random.Random(20261206)
    for _ in range(500):
        want = random_state(rng, nav)
        params = state.to_params(want, session.DEFAULTS)
        values, notices = state.parse_params(params, nav.months, list(nav.scenes["id"]))
        assert not notices, (want, params, notices)
        got = {**{k: v for k, v in session.DEFAULTS.items()}, **values}
        for key in ("date", "mode", "view", "group_by", "present", "scene", "sel"):
            assert got.get(key) == want[key], (key, want, params)
        for key in ("layers", "claimant_type", "basis", "family"):
            assert list(got.get(key) or []) == list(dict.fromkeys(want[key])), (key, want, params)


def test_text_from_links_and_files_is_shown_as_written():
    hostile = "[Sign in again](https://ev.il/x) **bold** :material/home: $x^2$ <b>b</b>\nline‮"
    escaped = plain(hostile)
    assert "](" not in escaped and "**" not in escaped and "https://" not in escaped
    assert "\n" not in escaped and "\u202e" not in escaped
    import re
    assert re.sub(r"\\(.)", r"\1", escaped).replace("\u200b", "") == hostile.replace("\n", "\\n").replace("\u202e", "\\u202e")


def test_a_workspace_that_cannot_open_is_tried_again_not_cached(tmp_path):
    target = tmp_path / "later" / "ws.sqlite"
    target.parent.parent.mkdir(exist_ok=True)
    target.parent.write_text("a file where the folder should be")  # the store cannot be made yet
    stores = resources.Workspaces(retry_seconds=0)
    store, problem = stores.open(str(target))
    assert store is None and problem
    target.parent.unlink()  # the folder can now be made: the next rerun opens it
    store, problem = stores.open(str(target))
    assert isinstance(store, Workspace) and problem == ""
    assert stores.open(str(target))[0] is store, "an open store is kept"


def test_a_legs_voyages_count_only_positions_up_to_the_date():
    times = np.array(pd.to_datetime(["2024-01-05", "2024-01-10", "2024-01-20", "2024-03-01", "2024-03-02"]))
    near = pd.DataFrame({"track_id": ["V1"], "leg_id": ["L1"], "n_points": [5], "first_t": [times[0]],
                         "last_t": [times[-1]], "times": [times]})
    january = voyages_along(near, {"V1": "Maria"}, "L1", pd.Timestamp("2024-01-31"))
    assert january == [{"name": "Maria", "n_points": 3, "first": "2024-01-05", "last": "2024-01-20"}]
    assert voyages_along(near, {}, "L1", pd.Timestamp("2024-01-15")) == [], "two positions are not a voyage yet"


def test_the_map_frame_fits_the_window():
    assert session.map_frame({"height": 720, "width": 1280, "map_width": 900}, False) == (540, (900, 540))  # less the title, caption and tabs
    assert session.map_frame({"height": 720, "width": 1280, "map_width": 600}, False) == (480, (600, 480))
    assert session.map_frame({}, True) == (568, None)
