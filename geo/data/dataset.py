"""Load the data directory into typed GeoDataFrames, checking every file and every link between files."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from geo.data import schema, validate
from geo.data.validate import (COUNTRY_TOLERANCE_KM, ROUTE_END_TOLERANCE_KM, Problem, km_between,
                          parse_table, read_raw)

# GEO_DATA_DIR points the app at another copy of the data (the browser tests use a doctored one).
DATA_DIR = Path(os.environ.get("GEO_DATA_DIR") or Path(__file__).resolve().parents[2] / "data")
BASEMAP_FILES = {"overview": "basemap/countries_overview.geojson",
                 "detail": "basemap/countries_tumen.geojson"}
CRS = "EPSG:4326"
DATE_COLUMNS = ("as_of_date", "reported_date", "date", "active_from", "active_to", "valid_from", "valid_to")


class DataError(Exception):
    """The data has problems; .problems lists every one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Dataset:
    places: gpd.GeoDataFrame
    claims: gpd.GeoDataFrame
    events: gpd.GeoDataFrame
    flows: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    scenes: pd.DataFrame
    claimants: pd.DataFrame
    metrics: pd.DataFrame
    countries: gpd.GeoDataFrame
    countries_detail: gpd.GeoDataFrame
    version: str

    def summary(self) -> dict:
        dates = pd.concat([self.claims["as_of_date"], self.claims["reported_date"], self.events["date"]])
        return {
            "places": len(self.places), "claims": len(self.claims), "events": len(self.events),
            "route legs": len(self.routes), "flows": len(self.flows), "areas": len(self.areas),
            "scenes": len(self.scenes),
            "dates": f"{dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d}",
            "claimants": int(self.claims["claimant"].nunique()),
        }


def data_version(data_dir: Path) -> str:
    """A short hash of every data file, so exports and screenshots can say which data they show."""
    digest = hashlib.sha256()
    for path in sorted(Path(data_dir).rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".geojson"):
            digest.update(path.relative_to(data_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def read_basemaps(data_dir: Path) -> tuple[dict[str, gpd.GeoDataFrame], list[Problem]]:
    maps, problems = {}, []
    for key, rel in BASEMAP_FILES.items():
        path = data_dir / rel
        try:
            maps[key] = gpd.read_file(path).set_crs(CRS, allow_override=True)
        except Exception as err:  # pyogrio raises its own DataSourceError family
            problems.append(Problem(rel, None, None, f"unreadable basemap: {str(err).splitlines()[0]}"))
    return maps, problems


def check(data_dir: Path | str = DATA_DIR) -> tuple[Dataset | None, list[Problem]]:
    """Read and cross-check everything; the Dataset is None when any problem was found."""
    data_dir = Path(data_dir)
    problems: list[Problem] = []
    frames: dict[str, list[dict]] = {}
    raws = {}
    for table in schema.TABLES:
        raw, found = read_raw(data_dir / table.filename, table)
        problems += found
        parsed, found = parse_table(raw, table.filename)
        problems += found
        frames[table.name], raws[table.name] = parsed, raw
    basemaps, found = read_basemaps(data_dir)
    problems += found
    problems += check_links(frames, raws)
    problems += check_registries(frames, raws)
    problems += check_claims(frames["claims"], raws["claims"], frames["metrics"], frames["claimants"])
    if len(basemaps) == len(BASEMAP_FILES):
        problems += check_countries(frames["places"], raws["places"], basemaps)
    if problems:
        return None, problems
    return build(frames, raws, basemaps, data_version(data_dir)), []


def load(data_dir: Path | str = DATA_DIR) -> Dataset:
    dataset, problems = check(data_dir)
    if problems:
        raise DataError(problems)
    return dataset


def reference_ids(data_dir: Path | str = DATA_DIR) -> tuple[set[str], set[str]]:
    """The bundled place ids and route/flow ids, read straight from their files (cheap), for
    checking an imported file's references as the bundled files' are checked."""
    data_dir = Path(data_dir)

    def ids(table: schema.Table) -> set[str]:
        path = data_dir / table.filename
        if table.is_geojson:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return {str(f["properties"]["id"]) for f in doc.get("features", []) if (f.get("properties") or {}).get("id")}
        with path.open(newline="", encoding="utf-8") as f:
            return {row["id"] for row in csv.DictReader(f) if row.get("id")}

    return ids(schema.PLACES), ids(schema.ROUTES) | ids(schema.FLOWS)


def check_links(frames, raws) -> list[Problem]:
    """Every id that one file uses must exist in the file that defines it."""
    problems = []
    places = {r["id"]: r for r in frames["places"] if r["id"]}
    route_ids = {r["id"] for r in frames["routes"] if r["id"]} | {r["id"] for r in frames["flows"] if r["id"]}
    metrics = {r["metric"] for r in frames["claims"] if r["metric"]}
    registered = {"claimant": ({r["id"] for r in frames["claimants"] if r["id"]}, "claimant", "claimants.csv"),
                  "claimants": ({r["id"] for r in frames["claimants"] if r["id"]}, "claimant", "claimants.csv"),
                  "metric": ({r["id"] for r in frames["metrics"] if r["id"]}, "metric", "metrics.csv"),
                  "claim": ({r["id"] for r in frames["claims"] if r["id"]}, "claim", "claims.csv")}
    for table in schema.TABLES:
        name, rows = table.filename, raws[table.name].rows
        problems += validate.reference_problems(table, frames[table.name], rows, name, set(places), route_ids)
        for record, row in zip(frames[table.name], rows):
            for column in table.columns:
                value = record.get(column.name)
                if column.kind in registered and value:
                    known, what, where = registered[column.kind]
                    for ref in (value if isinstance(value, tuple) else (value,)):
                        if ref not in known:
                            problems.append(Problem(name, row, column.name, f"unknown {what} id {ref!r} "
                                                                            f"(not in {where})"))
            if table.name in ("routes", "flows") and record.get("volume_metric") and \
                    record["volume_metric"] not in metrics:
                problems.append(Problem(name, row, "volume_metric",
                                        f"no claim has metric {record['volume_metric']!r}"))
    for record, row, geom in zip(frames["routes"], raws["routes"].rows, raws["routes"].geometries):
        if record.get("status") == "reported" and not record.get("source_url"):
            problems.append(Problem("routes.geojson", row, "source_url", "a reported leg needs a source URL"))
        if geom is None:
            continue
        ends = (("from_place", Point(geom.coords[0])), ("to_place", Point(geom.coords[-1])))
        for column, end in ends:
            place = places.get(record.get(column))
            if place and place["lon"] is not None and place["lat"] is not None:
                km = km_between(end, Point(place["lon"], place["lat"]))
                if km > ROUTE_END_TOLERANCE_KM:
                    problems.append(Problem("routes.geojson", row, column,
                                            f"line ends {km:.1f} km from {place['id']} "
                                            f"(more than {ROUTE_END_TOLERANCE_KM:g} km)"))
    return problems


# Words by which a source hedges a figure: a note using one needs a qualifier.
HEDGES = ("more than", "over", "about", "around", "at least", "up to", "nearly", "roughly", "approximately",
          "almost", "no fewer than", "as many as", "some")
HEDGE_RE = re.compile(r"\b(" + "|".join(h.replace(" ", r"\s+") for h in HEDGES) + r")\s+(?:\$|US\$)?(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|half|a (?:million|"
                      r"billion|thousand|hundred|dozen|third|quarter|half))\b)",
                      re.IGNORECASE)
# A claimant is an organisation: no reporting chain, no person.
CHAIN_RE = re.compile(r"\bvia\b|as summari[sz]ed by|as recounted by|\bquoted by\b", re.IGNORECASE)
PERSON_RE = re.compile(r"\((?:[A-Z][a-z]+\.? ){1,2}[A-Z][a-z'-]+\)|\b(?:President|Minister|Secretary|Ambassador|"
                       r"spokes(?:person|man|woman)|chief|lawmaker|Deputy)\s+[A-Z][a-z]+ [A-Z][a-z]+")
DUPLICATE_DAYS = 7


def hedge_in(note: str) -> str | None:
    match = HEDGE_RE.search(note or "")
    return match.group(1).lower() if match else None


def check_registries(frames, raws) -> list[Problem]:
    """Claimants are organisations; a parent chain must end (no cycles)."""
    problems = []
    parents = {r["id"]: r.get("parent") or () for r in frames["claimants"] if r["id"]}
    for record, row in zip(frames["claimants"], raws["claimants"].rows):
        name = record.get("name") or ""
        for pattern, why in ((CHAIN_RE, "a reporting chain"), (PERSON_RE, "a person")):
            found = pattern.search(name)
            if found:
                problems.append(Problem("claimants.csv", row, "name",
                                        f"claimant name {name!r} holds {why} ({found.group(0)!r}): "
                                        "put it in claims.csv attribution"))
        seen, todo = set(), list(parents.get(record.get("id"), ()))
        while todo:
            parent = todo.pop()
            if parent == record.get("id"):
                problems.append(Problem("claimants.csv", row, "parent", f"{parent!r} is its own ancestor"))
                break
            if parent not in seen:
                seen.add(parent)
                todo += list(parents.get(parent, ()))
    return problems


def check_claims(claims, raw, metrics=(), claimants=()) -> list[Problem]:
    problems = []
    metric = {m["id"]: m for m in metrics if m.get("id")}
    for record, row in zip(claims, raw.rows):
        low, high = record.get("value"), record.get("value_high")
        if low is not None and high is not None and high < low:
            problems.append(Problem("claims.csv", row, "value_high", f"upper value {high:g} is below value {low:g}"))
        as_of, reported = record.get("as_of_date"), record.get("reported_date")
        if as_of and reported and as_of > reported:
            problems.append(Problem("claims.csv", row, "as_of_date",
                                    f"as-of date {as_of} is after the publication date {reported}"))
        m = metric.get(record.get("metric"))
        if m and record.get("unit") and record["unit"] != m["unit"]:
            problems.append(Problem("claims.csv", row, "unit", f"unit {record['unit']!r} differs from metric "
                                                               f"{m['id']!r}'s unit {m['unit']!r}"))
        if m and record.get("basis"):
            capacity_metric = m["kind"] == "capacity_estimate"
            if (record["basis"] == "capacity_estimate") != capacity_metric:
                problems.append(Problem("claims.csv", row, "basis",
                                        f"basis {record['basis']!r} in {m['kind']} metric {m['id']!r}: capacity "
                                        "estimates belong in capacity metrics only, and only they do"))
        hedge = hedge_in(record.get("note"))
        if hedge and not record.get("qualifier"):
            problems.append(Problem("claims.csv", row, "qualifier",
                                    f"the note hedges ({hedge!r}) but qualifier is empty"))
        if record.get("verification") == "verified" and not (record.get("checked") and record.get("checked_url")):
            problems.append(Problem("claims.csv", row, "checked",
                                    "a verified claim needs the date (checked) and the page (checked_url) it "
                                    "was read against"))
        if record.get("checked") and reported and record["checked"] < reported:
            problems.append(Problem("claims.csv", row, "checked",
                                    f"checked {record['checked']} before it was published ({reported})"))
    problems += check_duplicates(claims, raw)
    return problems


def check_duplicates(claims, raw) -> list[Problem]:
    """Same claimant, metric and value with as-of dates at most DUPLICATE_DAYS apart is one claim
    stored twice, unless one row says it restates the other."""
    problems, groups = [], {}
    for record, row in zip(claims, raw.rows):
        if record.get("claimant") and record.get("metric") and record.get("value") is not None \
                and record.get("as_of_date"):
            groups.setdefault((record["claimant"], record["metric"], record["value"]), []).append((record, row))
    for rows in groups.values():
        for i, (a, row_a) in enumerate(rows):
            for b, row_b in rows[:i]:
                if abs((a["as_of_date"] - b["as_of_date"]).days) > DUPLICATE_DAYS:
                    continue
                if a.get("restates") == b["id"] or b.get("restates") == a["id"]:
                    continue
                problems.append(Problem("claims.csv", row_a, "restates",
                                        f"same claimant, metric and value as {b['id']} (row {row_b}) within "
                                        f"{DUPLICATE_DAYS} days: one claim stored twice? Set restates to "
                                        f"{b['id']!r} if this row restates it"))
    return problems


def check_countries(places, raw, basemaps) -> list[Problem]:
    """Each place must lie in (or, for border stations, within a short distance of) its declared country."""
    problems = []
    detail, overview = basemaps["detail"], basemaps["overview"]
    minx, miny, maxx, maxy = detail.total_bounds
    for record, row in zip(places, raw.rows):
        if record["lon"] is None or record["lat"] is None or not record["country"]:
            continue
        point = Point(record["lon"], record["lat"])
        countries = detail if (minx <= point.x <= maxx and miny <= point.y <= maxy) else overview
        shapes = countries[countries["iso3"] == record["country"]]
        if shapes.empty:
            problems.append(Problem("places.csv", row, "country",
                                    f"country {record['country']} is not on the bundled basemap"))
            continue
        km = min(km_between(point, g) for g in shapes.geometry)
        if km > COUNTRY_TOLERANCE_KM:
            inside = countries[countries.contains(point)]["iso3"].tolist()
            actual = inside[0] if inside else "the sea"
            problems.append(Problem("places.csv", row, "country",
                                    f"{record['id']} lies in {actual}, {km:.1f} km outside {record['country']}"))
    return problems


def frame(records: list[dict], table: schema.Table) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=table.column_names)
    for column in table.columns:
        if column.kind == "date":
            df[column.name] = pd.to_datetime(df[column.name]).astype("datetime64[s]")
        elif column.kind in ("number", "lon", "lat"):
            df[column.name] = pd.to_numeric(df[column.name]).astype("float64")
        elif column.kind in ("routes", "layers", "claimants", "places"):
            df[column.name] = df[column.name].map(lambda v: tuple(v) if v else ())
        else:
            # Plain Python strings: on tables this size, far cheaper to sort and take than Arrow strings.
            df[column.name] = df[column.name].fillna("").astype(object)
    return df


def governments(claimants: pd.DataFrame) -> dict[str, str]:
    """Each claimant's top organisation: follow a single parent up to the root. A joint
    claimant (two parents) is its own top, never silently filed under one of them."""
    parent = {r.id: r.parent for r in claimants.itertuples()}
    top = {}
    for cid in parent:
        at, seen = cid, set()
        while len(parent.get(at, ())) == 1 and at not in seen:
            seen.add(at)
            at = parent[at][0]
        top[cid] = at
    return top


def with_registries(claims: pd.DataFrame, claimants: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Claims with the registries' words joined in. `claimant_id` keeps the registry id and
    `claimant` becomes the organisation's name, so everything that groups or prints by claimant
    works on organisations; `government` and `government_id` name its top organisation and
    `agency` the claimant itself when it is not that top (for "group by government").
    `family` and `metric_kind` come from the metric, `claimant_type` from the claimant."""
    name = dict(zip(claimants["id"], claimants["name"]))
    kind = dict(zip(claimants["id"], claimants["type"]))
    top = governments(claimants)
    out = claims.rename(columns={"claimant": "claimant_id"})
    ids = out["claimant_id"]
    out.insert(out.columns.get_loc("claimant_id") + 1, "claimant", ids.map(name))
    out["claimant_type"] = ids.map(kind)
    out["government_id"] = ids.map(top)
    out["government"] = out["government_id"].map(name)
    out["agency"] = [n if t != c else "" for n, t, c in zip(out["claimant"], out["government_id"], ids)]
    out["family"] = out["metric"].map(dict(zip(metrics["id"], metrics["family"])))
    out["metric_kind"] = out["metric"].map(dict(zip(metrics["id"], metrics["kind"])))
    # Spelled out for exports and tooltips: what the figure is not.
    out["caveat"] = ["; ".join(w for w, on in (("capacity estimate, not a count", k == "capacity_estimate"),
                                               ("unverified", v == "unverified")) if on)
                     for k, v in zip(out["metric_kind"], out["verification"])]
    # Plain Python strings, as frame() keeps them (cheaper to sort and take than Arrow strings).
    for column in ("claimant", "claimant_type", "government_id", "government", "agency", "family", "metric_kind",
                   "caveat"):
        out[column] = out[column].fillna("").astype(object)
    return out


def build(frames, raws, basemaps, version) -> Dataset:
    places_df = frame(frames["places"], schema.PLACES)
    places = gpd.GeoDataFrame(places_df, geometry=gpd.points_from_xy(places_df.lon, places_df.lat), crs=CRS)
    where = places.set_index("id").geometry

    def at_place(df, column="place_id"):
        return gpd.GeoDataFrame(df, geometry=df[column].map(lambda p: where.get(p)), crs=CRS)

    flows_df = frame(frames["flows"], schema.FLOWS)
    flows = gpd.GeoDataFrame(flows_df, crs=CRS, geometry=[
        LineString([where[a], where[b]]) for a, b in zip(flows_df.from_place, flows_df.to_place)])

    def geoframe(name, table):
        return gpd.GeoDataFrame(frame(frames[name], table), geometry=raws[name].geometries, crs=CRS)

    claimants = frame(frames["claimants"], schema.CLAIMANTS)
    metrics = frame(frames["metrics"], schema.METRICS)
    return Dataset(
        places=places,
        claims=at_place(with_registries(frame(frames["claims"], schema.CLAIMS), claimants, metrics)),
        claimants=claimants,
        metrics=metrics,
        events=at_place(frame(frames["events"], schema.EVENTS)),
        flows=flows,
        routes=geoframe("routes", schema.ROUTES),
        areas=geoframe("areas", schema.AREAS),
        scenes=frame(frames["scenes"], schema.SCENES),
        countries=basemaps["overview"],
        countries_detail=basemaps["detail"],
        version=version,
    )
