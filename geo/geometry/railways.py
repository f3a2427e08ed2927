"""Railway track: the bundled lines, a graph over them, shortest paths by length, and how far
a route leg strays from the track.

Used at build time by tools/build_railways.py (to draw rail legs along real track) and by the
tests (to check they do). Pure functions: shapely and numpy only.

Distances are metric: each distance is measured in a local tangent plane (equirectangular
about the point being measured, x = R·Δλ·cos φ0, y = R·Δφ), which is accurate to well under
1 % over the few kilometres that matter here, at any latitude the data reaches.
"""
from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString, Point

RAILWAYS_FILE = "railways/railways.geojson"
EARTH_KM = 6371.0088
KM_PER_DEG = np.pi * EARTH_KM / 180


def read_lines(path: Path | str) -> list[LineString]:
    """Every LineString (MultiLineStrings split) in a GeoJSON file."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    lines = []
    for feature in doc["features"]:
        geom = shapely.geometry.shape(feature["geometry"])
        lines += [g for g in shapely.get_parts(geom) if g.geom_type == "LineString" and len(g.coords) > 1]
    return lines


def segment_km(coords: np.ndarray) -> np.ndarray:
    """Length in km of each segment of a lon/lat polyline (haversine)."""
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    dlat, dlon = np.diff(lat), np.diff(lon)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def length_km(line: LineString) -> float:
    return float(segment_km(np.asarray(line.coords)).sum())


def sample_along(line: LineString, step_km: float) -> np.ndarray:
    """Points every `step_km` along the line (both ends included), as an (n, 2) lon/lat array."""
    coords = np.asarray(line.coords)[:, :2]
    cumulative = np.concatenate([[0.0], np.cumsum(segment_km(coords))])
    total = cumulative[-1]
    at = np.linspace(0, total, max(2, int(np.ceil(total / step_km)) + 1))
    return np.column_stack([np.interp(at, cumulative, coords[:, 0]), np.interp(at, cumulative, coords[:, 1])])


@dataclass
class Track:
    """The track as two-point segments, indexed for "how far is this point from any track"."""

    starts: np.ndarray
    ends: np.ndarray
    tree: shapely.STRtree = field(repr=False)

    @classmethod
    def from_lines(cls, lines: list[LineString]) -> "Track":
        starts, ends = [], []
        for line in lines:
            xy = np.asarray(line.coords)[:, :2]
            starts.append(xy[:-1])
            ends.append(xy[1:])
        starts, ends = np.concatenate(starts), np.concatenate(ends)
        segments = shapely.linestrings(np.stack([starts, ends], axis=1))
        return cls(starts, ends, shapely.STRtree(segments))

    def distance_km(self, points: np.ndarray, search_km: float = 25.0) -> np.ndarray:
        """Metric distance (km) from each lon/lat point to the nearest track segment; inf when
        none lies within about `search_km`."""
        points = np.asarray(points, dtype=float)
        # the search box in degrees must cover search_km east-west at the highest latitude
        max_lat = min(float(np.abs(points[:, 1]).max()) + 1, 85)
        reach = search_km / KM_PER_DEG / np.cos(np.radians(max_lat))
        which, seg = self.tree.query(shapely.points(points), predicate="dwithin", distance=reach)
        best = np.full(len(points), np.inf)
        if len(which) == 0:
            return best
        p = points[which]
        a, b = self.starts[seg], self.ends[seg]
        scale = np.column_stack([np.cos(np.radians(p[:, 1])), np.ones(len(p))]) * KM_PER_DEG

        def local(xy):  # km east/north of the point being measured
            d = xy - p
            d[:, 0] = (d[:, 0] + 180) % 360 - 180
            return d * scale

        a, b = local(a), local(b)
        ab = b - a
        t = np.clip(-np.einsum("ij,ij->i", a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0, 1)
        d = np.hypot(*(a + ab * t[:, None]).T)
        np.minimum.at(best, which, d)
        return best


def simplify_outside(line: LineString, box, simplify) -> LineString:
    """The line with each stretch outside `box` (lon/lat min..max) passed through
    `simplify(LineString) -> LineString`; the stretches inside, and the last point inside
    before each stretch outside, are kept as they are."""
    coords = [tuple(c[:2]) for c in line.coords]
    inside = [box[0] <= x <= box[2] and box[1] <= y <= box[3] for x, y in coords]
    if all(inside):
        return line
    out, run = [], []

    def flush():
        out.extend(simplify(LineString(run)).coords if len(run) > 2 else run)

    for i, (xy, ins) in enumerate(zip(coords, inside)):
        if ins:
            flush()
            run = []
            out.append(xy)
        else:
            if not run and i > 0 and inside[i - 1]:
                run.append(out.pop())  # the last point inside anchors the stretch outside
            run.append(xy)
    flush()
    return LineString(out)


# --- the network graph -------------------------------------------------------------------------------

def key(xy) -> tuple[float, float]:
    return (round(float(xy[0]), 6), round(float(xy[1]), 6))


@dataclass
class Network:
    """A graph whose edges are pieces of track between junctions and line ends.

    Lines are noded where they meet or cross (shapely.union_all), so a junction in the middle
    of a line becomes a node. Line ends that stop short of another line (gaps in the source
    data, ends left at a bridge) are joined to the nearest point of that line when it lies
    within `join_km`; those joins are the only geometry not taken from the source, and are at
    most `join_km` long.
    """

    edges: list[LineString]
    nodes: dict[tuple[float, float], list[tuple[int, bool]]]  # node -> [(edge index, leaves from start)]
    lengths: np.ndarray
    joins: int = 0

    @classmethod
    def from_lines(cls, lines: list[LineString], join_km: float = 1.5) -> "Network":
        lines = [LineString(np.asarray(l.coords)[:, :2]) for l in lines]
        connectors = joins_for(lines, join_km)
        noded = shapely.union_all(shapely.set_precision(lines + connectors, 1e-6))
        edges = [g for g in shapely.get_parts(noded) if g.length > 0]
        nodes: dict = {}
        for i, edge in enumerate(edges):
            nodes.setdefault(key(edge.coords[0]), []).append((i, True))
            nodes.setdefault(key(edge.coords[-1]), []).append((i, False))
        lengths = np.array([length_km(e) for e in edges])
        return cls(edges, nodes, lengths, len(connectors))

    def nearest_edge(self, point: Point) -> int:
        tree = getattr(self, "_tree", None)
        if tree is None:
            tree = self._tree = shapely.STRtree(self.edges)
        return int(tree.nearest(point))

    def route(self, start: Point, end: Point, weight=None) -> tuple[LineString, float, float]:
        """The shortest path along track from the track point nearest `start` to the one nearest
        `end`: (path, km from start to the track, km from end to the track).

        `weight(edge index) -> factor` multiplies an edge's length (e.g. to keep a route inside
        one country); the default is plain length."""
        entries = [self.attach(start), self.attach(end)]
        graph_extra: dict = {}
        pieces: dict = {}
        for n, (edge, at, snapped, _) in enumerate(entries):
            node = ("virtual", n)
            line = self.edges[edge]
            before = shapely.ops.substring(line, 0, at, normalized=True)
            after = shapely.ops.substring(line, at, 1, normalized=True)
            for piece, (a, b) in ((before, (key(line.coords[0]), node)), (after, (node, key(line.coords[-1])))):
                if piece.geom_type != "LineString" or piece.length == 0:
                    piece = LineString([snapped.coords[0], snapped.coords[0]])
                factor = weight(edge) if weight else 1.0
                cost = length_km(piece) * factor
                pieces[(a, b)] = (piece, cost)
                graph_extra.setdefault(a, []).append((b, cost, piece, True))
                graph_extra.setdefault(b, []).append((a, cost, piece, False))
        same_edge = entries[0][0] == entries[1][0]
        if same_edge:  # both ends on one edge: the piece between them is a candidate too
            line = self.edges[entries[0][0]]
            lo, hi = sorted((entries[0][1], entries[1][1]))
            piece = shapely.ops.substring(line, lo, hi, normalized=True)
            if piece.geom_type == "LineString":
                forward = entries[0][1] <= entries[1][1]
                cost = length_km(piece) * (weight(entries[0][0]) if weight else 1.0)
                graph_extra.setdefault(("virtual", 0), []).append((("virtual", 1), cost, piece, forward))
        path = self.dijkstra(("virtual", 0), ("virtual", 1), graph_extra, skip={entries[0][0], entries[1][0]},
                             weight=weight)
        coords = []
        for piece, forward in path:
            xy = list(piece.coords) if forward else list(piece.coords)[::-1]
            coords += xy if not coords else xy[1:]
        return LineString(coords), entries[0][3], entries[1][3]

    def attach(self, point: Point):
        """(edge, normalised position along it, the track point, km from point to track)."""
        edge = self.nearest_edge(point)
        line = self.edges[edge]
        at = line.project(point, normalized=True)
        snapped = line.interpolate(at, normalized=True)
        km = float(segment_km(np.array([point.coords[0], snapped.coords[0]]))[0])
        return edge, at, snapped, km

    def dijkstra(self, source, target, extra, skip, weight=None):
        """Shortest path by cost; returns [(piece, forward)] from source to target."""
        best = {source: 0.0}
        came: dict = {}
        queue = [(0.0, 0, source)]
        counter = 1
        while queue:
            cost, _, node = heapq.heappop(queue)
            if node == target:
                break
            if cost > best.get(node, np.inf):
                continue
            for nxt, step, piece, forward in self.neighbours(node, extra, skip, weight):
                total = cost + step
                if total < best.get(nxt, np.inf):
                    best[nxt] = total
                    came[nxt] = (node, piece, forward)
                    heapq.heappush(queue, (total, counter, nxt))
                    counter += 1
        if target not in came:
            raise ValueError("no path along the track between these points")
        path, node = [], target
        while node != source:
            node, piece, forward = came[node]
            path.append((piece, forward))
        return path[::-1]

    def neighbours(self, node, extra, skip, weight):
        yield from extra.get(node, [])
        for edge, from_start in self.nodes.get(node, []):
            if edge in skip:
                continue
            line = self.edges[edge]
            other = key(line.coords[-1] if from_start else line.coords[0])
            factor = weight(edge) if weight else 1.0
            yield other, self.lengths[edge] * factor, line, from_start


def joins_for(lines: list[LineString], join_km: float) -> list[LineString]:
    """Short connectors from each dangling line end to the nearest other line within join_km."""
    tree = shapely.STRtree(lines)
    owners, ends = [], []
    for i, line in enumerate(lines):
        for xy in (line.coords[0], line.coords[-1]):
            owners.append(i)
            ends.append(xy[:2])
    owners, points = np.array(owners), shapely.points(ends)
    touch_end, touch_line = tree.query(points, predicate="dwithin", distance=1e-6)
    touching = set(touch_end[owners[touch_end] != touch_line])  # ends already on another line
    reach = join_km / KM_PER_DEG / np.cos(np.radians(min(80.0, float(np.abs(np.array(ends)[:, 1]).max()))))
    which, other = tree.query(points, predicate="dwithin", distance=reach)
    nearest: dict[int, tuple[float, tuple]] = {}
    for w, o in zip(which, other):
        if o == owners[w] or w in touching:
            continue
        end = Point(ends[w])
        target = lines[o].interpolate(lines[o].project(end)).coords[0]
        km = float(segment_km(np.array([ends[w], target]))[0])
        if 0 < km <= join_km and km < nearest.get(w, (np.inf,))[0]:
            nearest[w] = (km, target)
    # two dangling ends facing each other across a gap need one connector, not two
    kept, seen = [], set()
    for w, (_, target) in sorted(nearest.items()):
        pair = frozenset((key(ends[w]), key(target)))
        if pair not in seen:
            seen.add(pair)
            kept.append(LineString([ends[w], target]))
    return kept
