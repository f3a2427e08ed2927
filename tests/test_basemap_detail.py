"""The basemap's detail as a user meets it: names that never overlap or leave the map, in every
view and presenter scene at three map sizes and in the video's frames; a scale bar whose length
is the ground distance it claims; the Kursk scene with its border, river and towns named."""
import itertools
import json
import math

import pytest
from pyproj import Geod

from geo.view import records
from geo import style
from geo.render import basemap_layers, labels, layers, scalebar
from geo.export import slidemap, video
from geo.model import timeline
from geo.render.labelatlas import SCALE
from geo.view import view_for

# Map sizes: the reference map, the presenter's map in a 1280×720 window, and a 1920×1080 one.
SIZES = [(726, 600), (978, 530), (1500, 860)]
GEOD = Geod(ellps="WGS84")


def states(data):
    for view in style.VIEWS:
        yield f"analyst {view}", records.MapState(date=timeline.month_end("2025-03-01"), view=view)
    for s in data.scenes.itertuples():
        yield f"scene {s.id}", records.MapState(date=timeline.month_end(s.date), view=s.view, layers=tuple(s.layers),
                                               present=True, focus=tuple(s.focus), topic=s.topic)


def deck(data, st, size):
    bm = layers.basemap_features(data.countries, data.countries_detail if style.VIEWS[st.view].detailed else None,
                                 style.palette(st.present))
    view = view_for(data, None, st)
    return json.loads(layers.deck_for(data, view, bm, viewport=size).to_json())


def name_boxes(spec, cam) -> list[tuple[str, tuple]]:
    """Every name the deck stamps (place names, basemap names, scale and credit) as a screen box:
    where the icon layer puts it, as wide as its image."""
    out = []
    for layer in spec["layers"]:
        name = layers.layer_name(layer["id"])
        if name != "places-labels" and not name.startswith("basemap-names"):
            continue
        for row in layer["data"]:
            x, y = cam.pixel(*row["position"])
            left, top = x + row["offset"][0], y + row["offset"][1]
            width = layer["iconMapping"][row["icon"]]["width"] / SCALE
            out.append((f"{name}:{row['icon']}", (left, top, left + width, top + row["size"])))
    return out


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_name_overlaps_another_or_leaves_the_map(data, size):
    for label, st in states(data):
        spec = deck(data, st, size)
        cam = layers.label_camera(st, size, data.places, data.countries.total_bounds)
        boxes = name_boxes(spec, cam)
        assert len(boxes) >= 4, (label, boxes)  # the scale, the credit and some names
        for key, (l, t, r, b) in boxes:
            assert l >= 0 and t >= 0 and r <= cam.width + 0.01 and b <= cam.height + 0.01, (label, key, (l, t, r, b))
        for (ka, a), (kb, b) in itertools.combinations(boxes, 2):
            assert not labels.overlaps(a, b), (label, size, ka, kb, a, b)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scale_bar_is_the_ground_distance_it_names_at_the_centre(data, size):
    for label, st in states(data):
        spec = deck(data, st, size)
        cam = layers.label_camera(st, size, data.places, data.countries.total_bounds)
        bar = next(layers.line_pieces(l) for l in spec["layers"] if layers.layer_name(l["id"]) == "basemap-scale")[0]
        (xa, _), (xb, _) = cam.pixel(*bar["s"]), cam.pixel(*bar["t"])
        px = xb - xa
        assert scalebar.MIN_PX <= px <= scalebar.MAX_PX, (label, px)
        # The same number of pixels measured on the ground, along the screen row through the centre.
        left = scalebar.unproject(cam, cam.width / 2 - px / 2, cam.height / 2)
        right = scalebar.unproject(cam, cam.width / 2 + px / 2, cam.height / 2)
        _, _, metres = GEOD.inv(left[0], left[1], right[0], right[1])
        km = scalebar.scale_bar(cam, 10).km
        names = [r for l in spec["layers"] if layers.layer_name(l["id"]).startswith("basemap-names")
                 for r in l["data"] if r["icon"] == "scale"]
        assert len(names) == 1
        assert abs(metres / (km * 1000) - 1) < 0.02, (label, size, km, metres)


def test_scale_bar_unit_against_geodesic():
    for lat, zoom in [(0, 3), (42.3, 9.3), (51.5, 7.7), (60, 2.0), (48.9, 5.2)]:
        cam = labels.Camera(35.0, lat, zoom, 900, 600)
        bar = scalebar.scale_bar(cam, 12)
        _, _, metres = GEOD.inv(cam.longitude, lat, cam.longitude + (bar.end[0] - bar.start[0]), lat)
        assert abs(metres / (bar.km * 1000) - 1) < 0.02
        assert math.isclose(scalebar.screen_length(bar, cam), bar.px, rel_tol=1e-3)


def test_kursk_scene_names_its_border_river_and_towns(data):
    s = data.scenes.set_index("id").loc["S6"]
    st = records.MapState(date=timeline.month_end(s["date"]), view=s["view"], layers=tuple(s["layers"]), present=True,
                         focus=tuple(s["focus"]))
    for size in [(978, 530), (1500, 860)]:
        spec = deck(data, st, size)
        shown = {r["label"] for l in spec["layers"] if layers.layer_name(l["id"]) == "places-labels" for r in l["data"]}
        assert {"Kursk", "Sudzha", "Sumy border area"} <= shown, shown
        cam = layers.label_camera(st, size, data.places, data.countries.total_bounds)
        lay = basemap_layers.layout(cam, style.PRESENTER)
        assert "Seym" in {n["label"] for n in lay.names}
        admin = [r for r in lay.lines if tuple(r["color"]) == basemap_layers.detail_style(style.PRESENTER).admin]
        assert admin, "the oblast boundaries are drawn"
        ids = {layers.layer_name(l["id"]) for l in spec["layers"]}
        assert {"basemap-detail-0", "basemap-scale"} <= ids


def test_overview_shows_capitals_but_no_provinces(data):
    cam = labels.Camera(81.5, 51.0, 2.0, 726, 600)
    lay = basemap_layers.layout(cam, style.ANALYST)
    kinds = {n["kind"] for n in lay.names}
    assert "capital" in kinds and "region" not in kinds and "town" not in kinds
    assert not [r for r in lay.lines if tuple(r["color"]) == basemap_layers.detail_style(style.ANALYST).admin]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_video_frames_place_names_as_the_map_does(data, size):
    """Every scene's frame: its names (drawn boxes) overlap none and stay inside the map, and the
    frame uses the live map's camera for the scene (its focus places)."""
    for shot in video.scene_shots(data):
        width, height = size
        fig, _ = video.export.slide_figure(data, shot.state, None, width, height, width / 16, heading=shot.heading,
                                           caption=shot.caption, px_scale=width / 1280)
        fig.canvas.draw()
        ax = fig.axes[0]
        frame = ax.get_window_extent()
        boxes = [p.get_window_extent() for p in ax.patches if p.get_gid() == slidemap.LABEL_GID]
        assert len(boxes) >= 3, shot.heading
        for b in boxes:
            assert b.x0 >= frame.x0 - 0.5 and b.x1 <= frame.x1 + 0.5 and b.y0 >= frame.y0 - 0.5 \
                and b.y1 <= frame.y1 + 0.5, (shot.heading, b, frame)
        for a, b in itertools.combinations(boxes, 2):
            inter_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            inter_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert inter_w <= 0.5 or inter_h <= 0.5, (shot.heading, a, b)
        assert shot.state.focus, "a scene's frame is framed on its places, as the live map is"


def test_no_basemap_name_or_town_dot_lies_under_a_box_kept_clear(data):
    """The analyst's legend floats over the map: the names it would cover move to a free side or go."""
    state = records.MapState(date=timeline.month_end("2025-06-01"), view="front")
    cam = layers.label_camera(state, (885, 580), data.places, data.countries.total_bounds, data.areas)
    palette = style.ANALYST
    placed = labels.place_labels(data.places, style.VIEWS["front"], cam, palette.label_size,
                                 basemap_layers.reserved(cam, palette))
    points = list(zip(data.places["lon"], data.places["lat"]))
    legend = (cam.width - 10 - 262, 10, cam.width - 10, 320)
    free = basemap_layers.layout(cam, palette, placed, points)
    assert any(labels.overlaps(n["box"], legend) for n in free.names), "the case: a name in the legend's corner"
    clear = basemap_layers.layout(cam, palette, placed, points, keep_clear=(legend,))
    assert not [n["label"] for n in clear.names if labels.overlaps(n["box"], legend)]
    assert not [t for t in clear.towns if labels.overlaps(legend, (*cam.pixel(*t["position"]), *cam.pixel(*t["position"])))]
    assert len(clear.names) >= len(free.names) - sum(labels.overlaps(n["box"], legend) for n in free.names)
