"""The page's navigation without Streamlit: a session's state, its link, its steps.

`Navigator` works on any mutable mapping (Streamlit's session_state on the page, a dict in the
tests): it seeds a session from its link, steps months or presenter scenes, turns the session
into the URL's state and into the MapState the view is built from, and keeps every state the
page can reach valid. A month that has gone from the control (a removed batch took the newest
months with it), a scene that no longer exists or a selection whose feature is gone is a state
the page survives: it falls back, and says so once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import MutableMapping

import pandas as pd

from geo.data.schema import LAYER_IDS
from geo.model import timeline
from geo.model.evidence import BASIS_LABELS, Filters
from geo.page import state
from geo.view import overlay
from geo.view.claims_table import claim_target
from geo.view.legend import FAMILY_LABELS
from geo.view.records import MapState, scene_focus

LAYER_CHOICES = list(LAYER_IDS)
# How the filter widgets name their choices.
HUMAN = {"claimant_type": lambda v: v.replace("_", " "), "basis": lambda v: BASIS_LABELS[v].split(" (")[0],
         "family": lambda v: FAMILY_LABELS.get(v, v), "layers": lambda v: v.replace("-", " ")}
# What a state with nothing set shows; the URL leaves these out (geo.page.state.to_params).
DEFAULTS = {"mode": "cumulative", "view": "overview", "layers": LAYER_CHOICES, "claimant_type": [], "basis": [],
            "family": [], "group_by": "organisation", "present": False, "scene": None, "sel": None, "claim": None,
            "image_show": "month", "image_opacity": 100, "series": None, "compare": "side", "series_divider": 50}
FIRST_MONTH = "2022-09-01"


@dataclass
class Navigator:
    """The months on the date control and the presenter's scenes, and what a session does with them."""

    months: list[str]
    scenes: pd.DataFrame = field(repr=False)  # data.scenes: id, date, view, layers, focus, topic, ...
    data: object = field(default=None, repr=False)  # the Dataset: a link's ?claim= is looked up in it
    snapshot: object = field(default=None, repr=False)  # the workspace: its claims' links open too

    @classmethod
    def for_data(cls, data, snapshot=None) -> "Navigator":
        """Months from the first figure to the latest date of the bundled data or the workspace."""
        last_day = max([timeline.default_date(data.claims, data.events)] + overlay.last_dates(snapshot))
        return cls(timeline.months(FIRST_MONTH, last_day), data.scenes.reset_index(drop=True), data, snapshot)

    def claim_target(self, claim_id: str) -> dict | None:
        """Where a claim lives on the map (geo.view.claims_table.claim_target), bundled or imported;
        an imported one says so (`imported`: its panel lists it only with the workspace's layer on)."""
        if self.data is None:
            return None
        found = claim_target(self.data, claim_id)
        if found is not None or self.snapshot is None:
            return found
        mine = overlay.imported_claims(self.data, self.snapshot)
        if not (mine["id"] == claim_id).any():
            return None
        found = claim_target(replace(self.data, claims=mine), claim_id)
        return {**found, "imported": True}

    # --- the link -----------------------------------------------------------------------------------

    def seed(self, ss: MutableMapping, params: dict) -> None:
        """On a session's first run, turn the link's parameters into widget values (bad ones
        become notices, shown until the state next changes)."""
        if "seeded" in ss:
            return
        values, notices = state.parse_params(params, self.months, list(self.scenes["id"]))
        scene = values.pop("scene", None)
        claim = values.pop("claim", None)
        if claim:
            notices += self.open_claim(ss, claim, keep=values)
        for key, value in values.items():
            ss[key] = value
        for key, value in (("date", self.months[-1]), ("mode", "cumulative"), ("view", "overview"),
                           ("layers", LAYER_CHOICES), ("group_by", "organisation")):
            ss.setdefault(key, value)
        if ss.get("present"):
            self.apply_scene(ss, int(self.scenes.index[self.scenes["id"] == scene][0]) if scene else 0)
        ss["notices"] = notices
        ss["noticed_state"] = None  # taken at the end of this run, once every widget has its value
        ss["seeded"] = True

    def open_claim(self, ss: MutableMapping, claim_id: str, keep: dict = {}) -> list[str]:
        """Show one claim on the map: the month it became known and the feature whose panel lists
        it, with the claim marked (a link's date and sel, when it gives them, stand). Returns the
        notices: an id no claim has."""
        target = self.claim_target(claim_id)
        if target is None:
            return [f"Ignored claim={claim_id!r}: no claim has that id. Showing the default instead."]
        month = target["month"] if target["month"] in self.months else self.months[-1]
        ss.update(date=keep.get("date", month), sel=keep.get("sel", target["sel"]), claim=claim_id)
        ss["claim_sel"] = ss["sel"]
        if target.get("imported"):  # the analyst's claims join the map with the workspace's layer
            layers = list(keep.get("layers") or ss.get("layers") or LAYER_CHOICES)
            ss["layers"] = layers + ["imported"] * ("imported" not in layers)
            if "layers" in keep:
                keep["layers"] = ss["layers"]
        return []

    def url_state(self, ss: MutableMapping) -> dict:
        """Everything the URL holds, read from the session (geo.page.state.ORDER names it)."""
        scene = self.scenes.id.iloc[ss["scene_index"]] if ss.get("present") and "scene_index" in ss else None
        return {"date": ss.get("date"), "mode": ss.get("mode") or "cumulative", "view": ss.get("view"),
                "layers": list(ss.get("layers", LAYER_CHOICES)), "claimant_type": list(ss.get("claimant_type", [])),
                "basis": list(ss.get("basis", [])), "family": list(ss.get("family", [])),
                "group_by": ss.get("group_by") or "organisation",
                "present": bool(ss.get("present")), "scene": scene, "sel": ss.get("sel"),
                "claim": ss.get("claim") if ss.get("sel") else None, **image_state(ss)}

    def params(self, ss: MutableMapping) -> dict[str, str]:
        """The URL parameters that reopen this session's page."""
        return state.to_params(self.url_state(ss), DEFAULTS)

    def notices(self, ss: MutableMapping) -> list[str]:
        """A link's notices stand until the person changes something (the state taken at the end
        of the first run: noticed_state)."""
        if ss.get("noticed_state") in (None, self.url_state(ss)):
            return list(ss.get("notices", []))
        return []

    def settle(self, ss: MutableMapping) -> None:
        """At the end of a run: remember the state the link's notices were shown for."""
        if ss.get("noticed_state") is None:
            ss["noticed_state"] = self.url_state(ss)

    # --- keeping the state valid --------------------------------------------------------------------

    def keep_valid(self, ss: MutableMapping) -> None:
        """A month no longer on the control becomes the nearest one that is, with a notice; a
        scene index past the scenes, the last scene."""
        month = ss.get("date")
        if month not in self.months:
            earlier = [m for m in self.months if month is not None and m <= str(month)]
            ss["date"] = earlier[-1] if earlier else self.months[-1]
            if month is not None:
                ss["notices"] = list(ss.get("notices", [])) + [
                    f"{month} is no longer on the date control (the data reaching it was removed): "
                    f"showing {ss['date']}."]
                ss["noticed_state"] = None
        if ss.get("claim") and ss.get("sel") != ss.get("claim_sel"):  # the marked claim goes with its panel
            ss["claim"] = None
        if ss.get("scene_index", 0) >= len(self.scenes):
            ss["scene_index"] = len(self.scenes) - 1

    def selection_epoch(self, ss: MutableMapping) -> int:
        """How many selections this session has closed (Esc, ✕, a scene step, an empty click):
        once per run, it counts a selection gone since the last run (geo.render.selection)."""
        if ss.get("sel") is None and ss.get("sel_shown"):
            ss["sel_epoch"] = ss.get("sel_epoch", 0) + 1
        ss["sel_shown"] = ss.get("sel") is not None
        return int(ss.get("sel_epoch", 0))

    # --- steps -------------------------------------------------------------------------------------

    def apply_scene(self, ss: MutableMapping, i: int) -> None:
        """A scene is state: month, view, layers and caption all follow it, and no panel stays open."""
        i = int(i % len(self.scenes))
        scene = self.scenes.iloc[i]
        month = f"{scene.date:%Y-%m}"
        ss.update(scene_index=i, date=month if month in self.months else self.months[-1], view=scene.view,
                  layers=[l for l in LAYER_CHOICES if l in scene.layers], sel=None)

    def step_to(self, ss: MutableMapping, index: int) -> None:
        """Show step `index`: a scene in presenter mode, a month otherwise. Play stops at the end."""
        if ss.get("present"):
            self.apply_scene(ss, max(0, min(len(self.scenes) - 1, index)))
            return
        index = max(0, min(len(self.months) - 1, index))
        ss["date"] = self.months[index]
        if index == len(self.months) - 1:
            ss["playing"] = False

    def current_step(self, ss: MutableMapping) -> int:
        if ss.get("present"):
            return int(ss.get("scene_index", 0))
        month = ss.get("date", self.months[-1])
        return self.months.index(month) if month in self.months else len(self.months) - 1

    def step_count(self, ss: MutableMapping) -> int:
        return len(self.scenes) if ss.get("present") else len(self.months)

    def on_step(self, ss: MutableMapping, step: dict | None) -> None:
        """The page's keyboard or Play clock asks for an absolute step (ui/controls.js)."""
        step = step or {}
        if "index" in step:
            ss["step_ack"] = step.get("seq", 0)
            if ss.get("present"):  # a scene step closes the panel: clicks made before it are spent
                self.closed_after(ss, step.get("clicks"))
            self.step_to(ss, int(step["index"]))

    def closed_after(self, ss: MutableMapping, clicks) -> None:
        """Remember that the panel was closed after the page had counted `clicks` map clicks."""
        if clicks is not None:
            ss["closed_clicks"] = max(int(ss.get("closed_clicks", -1)), int(clicks))

    def on_escape(self, ss: MutableMapping, escape) -> None:
        """Esc closes the panel, and no click made before it reopens one."""
        ss["sel"] = None
        self.closed_after(ss, escape.get("clicks") if isinstance(escape, dict) else None)

    def pick(self, ss: MutableMapping, feature: dict | None, clicks=None) -> None:
        """A click on the map selects its feature (nothing, on empty map), unless an Esc or a scene
        step pressed after that click has already closed the panel: Streamlit merges quick requests
        and runs the keyboard's callbacks before the map's, so the order is told by `clicks`, the
        number of map clicks the page had counted (ui/controls.js)."""
        if clicks is not None and int(clicks) <= int(ss.get("closed_clicks", -1)):
            return
        ss["sel"] = feature

    def toggle_present(self, ss: MutableMapping) -> None:
        """Presenter mode on: the analyst's view and layers are kept aside and scene 1 opens. Off:
        they come back (the defaults, when the page was opened presenting), at the scene's month."""
        ss["tab"] = "Map"  # the presenter sees the map alone: the tabs' row is hidden
        if ss.get("present"):
            ss["before_present"] = {"view": ss.get("view") or DEFAULTS["view"],
                                    "layers": list(ss.get("layers", LAYER_CHOICES))}
            self.apply_scene(ss, 0)
        else:
            before = ss.pop("before_present", None) or {"view": DEFAULTS["view"], "layers": list(LAYER_CHOICES)}
            ss.update(view=before["view"], layers=list(before["layers"]), sel=None)
        ss["playing"] = False

    def exit_present(self, ss: MutableMapping) -> None:
        """✕ Exit: presenter mode off, as the toggle turns it off."""
        ss["present"] = False
        self.toggle_present(ss)

    # --- what the view is built from ---------------------------------------------------------------

    def scene(self, ss: MutableMapping):
        return self.scenes.iloc[int(ss.get("scene_index", 0))]

    def map_state(self, ss: MutableMapping) -> MapState:
        """The MapState of the session's widgets; in presenter mode the scene frames the places its
        caption speaks of, and its topic leads the figures."""
        present = bool(ss.get("present"))
        out = MapState(date=timeline.month_end(ss["date"] + "-01"), mode=ss.get("mode") or "cumulative",
                       layers=tuple(ss.get("layers", LAYER_CHOICES)), view=ss.get("view") or "overview",
                       present=present,
                       filters=Filters(tuple(ss.get("claimant_type", ())), tuple(ss.get("basis", ())),
                                       tuple(ss.get("family", ()))),
                       group_by=ss.get("group_by") or "organisation")
        if present:
            scene = self.scene(ss)
            focus = scene_focus(self.data.areas, scene) if self.data is not None else tuple(scene.focus)
            out = MapState(**{**out.__dict__, "focus": focus, "topic": scene.topic or ""})
        return out


FILTER_KEYS = ("claimant_type", "basis", "family")


def image_state(ss: MutableMapping) -> dict:
    """The images' settings and an open series' before/after pair, as the URL holds them."""
    series = ss.get("series")
    swipe = bool(series) and ss.get("compare") == "swipe"
    return {"image_show": ss.get("image_show") or "month", "image_opacity": ss.get("image_opacity", 100),
            "series": series or None, "compare": ss.get("compare") if series else None,
            "series_before": ss.get("series_before") if series else None,
            "series_after": ss.get("series_after") if series else None,
            "series_divider": ss.get("series_divider") if swipe else None}


def filter_words(ss: MutableMapping) -> str:
    """The claim filters in force, in words ('' when none): presenter mode names them beside its figures."""
    return "; ".join(f"{key.replace('_', ' ')}: {', '.join(HUMAN[key](v) for v in ss.get(key) or [])}"
                     for key in FILTER_KEYS if ss.get(key))


def clear_filters(ss: MutableMapping) -> None:
    for key in FILTER_KEYS:
        ss[key] = []


def picked(ss: MutableMapping, selection: dict | None) -> None:
    """A click on the map: the clicked feature (or nothing, on empty map) becomes the selection."""
    ss["sel"] = selection


PRESENTER_TOP = 152  # pixels above and below the presenter's map: title bar, two-line caption, margin
ANALYST_TOP = 180  # title, caption and the row of tabs (Map, Every claim, About & method)


def map_frame(viewport: dict, present: bool) -> tuple[int, tuple[int, int] | None]:
    """The map's height and (width, height) on screen: the window's height less what stands above
    it (in presenter mode a title and a caption always two lines high, so the map keeps its place
    from scene to scene), and for the analyst no taller than the overview's basemap reaches."""
    height = max(400, int(viewport.get("height", 720)) - (PRESENTER_TOP if present else ANALYST_TOP))
    if not present and viewport.get("map_width"):
        height = min(height, int(0.8 * viewport["map_width"]))
    return height, ((int(viewport["map_width"]), height) if viewport.get("map_width") else None)


def login_of(user) -> dict | None:
    """st.user as a dict, or None outside a request (geo.store.access.identify reads it)."""
    try:
        return user.to_dict()
    except Exception:  # no script context
        return None
