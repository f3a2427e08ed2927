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

from geo.data import schema, validate, vessels
from geo.geometry.projection import WGS84
from geo.data.claims import check_claims, with_registries
from geo.data.validate import (COUNTRY_TOLERANCE_KM, ROUTE_END_TOLERANCE_KM, Problem, km_between,
                          parse_table, read_raw)

# GEO_DATA_DIR points the app at another copy of the data (the browser tests use a doctored one).
DATA_DIR = Path(os.environ.get("GEO_DATA_DIR") or Path(__file__).resolve().parents[2] / "data")
BASEMAP_FILES = {"overview": "basemap/countries_overview.geojson",
                 "detail": "basemap/countries_tumen.geojson"}
CRS = WGS84
DATE_COLUMNS = ("as_of_date", "statement_date", "reported_date", "date", "active_from", "active_to", "valid_from", "valid_to")


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
    problems += vessels.check_vessels(frames["vessels"], raws["vessels"].rows, frames["vessel_facts"],
                                      raws["vessel_facts"].rows)
    problems += check_claims(frames["claims"], raws["claims"].rows, schema.CLAIMS.filename, frames["metrics"],
                             claimants=frames["claimants"])
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


def claim_registry(data_dir: Path | str = DATA_DIR) -> tuple[list[dict], set[str], list[dict]]:
    """The metrics registry as parsed records, the bundled claim ids and the claimants registry, for
    the claim rules an imported file is held to (geo.data.claims.check_claims)."""
    data_dir = Path(data_dir)
    raw, _ = read_raw(data_dir / schema.METRICS.filename, schema.METRICS)
    metrics, _ = parse_table(raw, schema.METRICS.filename)
    raw, _ = read_raw(data_dir / schema.CLAIMANTS.filename, schema.CLAIMANTS)
    claimants, _ = parse_table(raw, schema.CLAIMANTS.filename)
    with (data_dir / schema.CLAIMS.filename).open(newline="", encoding="utf-8") as f:
        ids = {row["id"] for row in csv.DictReader(f) if row.get("id")}
    return metrics, ids, claimants


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


# A claimant is an organisation: no reporting chain, no person.
CHAIN_RE = re.compile(r"\bvia\b|as summari[sz]ed by|as recounted by|\bquoted by\b", re.IGNORECASE)
PERSON_RE = re.compile(r"\((?:[A-Z][a-z]+\.? ){1,2}[A-Z][a-z'-]+\)|\b(?:President|Minister|Secretary|Ambassador|"
                       r"spokes(?:person|man|woman)|chief|lawmaker|Deputy)\s+[A-Z][a-z]+ [A-Z][a-z]+")




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
