"""The shape of every bundled data file: columns, their kinds and allowed values.

The schema is data, not code paths: adding a column is adding a row here, and the
validator, the loaders and data/README.md all follow from it.
"""
from __future__ import annotations

from dataclasses import dataclass

PLACE_KINDS = ("crossing", "rail_station", "port", "depot", "factory_region", "front_area",
               "strike_site", "capital", "summit_site")
PRECISIONS = ("exact", "approximate", "town", "region")
FAMILIES = ("munitions", "missiles", "troops", "money", "rail", "sea", "industry", "reverse")
QUALIFIERS = ("about", "at_least", "more_than", "up_to", "range")
BASES = ("count", "imagery_count", "capacity_estimate", "estimate", "official_statement")
CLAIMANT_TYPES = ("government", "intelligence_service", "think_tank", "multilateral_body", "media",
                  "self_reported")
METRIC_KINDS = ("count", "capacity_estimate", "share", "money", "rate")
METRIC_PERIODS = ("cumulative", "annual", "half_year", "single_event", "point_in_time", "per_week",
                  "per_month", "three_months")
VERIFICATIONS = ("verified", "unverified")
EVENT_KINDS = ("transfer", "imagery", "strike", "sanction", "diplomatic", "deployment")
MODES = ("rail", "sea", "road", "air")
ROUTE_STATUSES = ("reported", "inferred")
AREA_KINDS = ("factory_region", "front")
VIEWS = ("overview", "tumen", "sea", "rail", "front")
SELECTION_KINDS = ("route", "flow", "place", "railcars", "strike", "event", "area", "imported", "track", "totals",
                   "image", "detection", "vessel")
# What a row of vessel_facts.csv states about a vessel (see data/README.md, "Vessels").
VESSEL_FIELDS = ("name", "former_name", "imo", "mmsi", "flag", "home_port", "type", "built", "owner", "operator",
                 "manager", "linked_company", "sanction")
LAYER_IDS = ("basemap", "places", "routes", "flows", "railcars", "factories", "front", "strikes",
             "events", "tracks", "imported", "images", "detections")


@dataclass(frozen=True)
class Column:
    """One column of a table.

    kind is one of: id, text, number, date, url, choice, lon, lat, iso3, place (a place
    id), routes (;-separated route or flow ids), layers (;-separated layer ids), claimant
    and metric (ids in the two registries), claimants (;-separated claimant ids), claim
    (a claim id) and vessel (a vessel id).
    """

    name: str
    kind: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    filename: str
    columns: tuple[Column, ...]

    @property
    def is_geojson(self) -> bool:
        return self.filename.endswith(".geojson")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


PLACES = Table("places", "places.csv", (
    Column("id", "id"),
    Column("name"),
    Column("kind", "choice", choices=PLACE_KINDS),
    Column("lon", "lon"),
    Column("lat", "lat"),
    Column("country", "iso3"),
    Column("precision", "choice", choices=PRECISIONS),
    Column("description"),
    Column("source_url", "url"),
))

CLAIMANTS = Table("claimants", "claimants.csv", (
    Column("id", "id"),
    Column("name"),
    Column("type", "choice", choices=CLAIMANT_TYPES),
    Column("country", "iso3", required=False),
    Column("parent", "claimants", required=False),
    Column("note", required=False),
))

METRICS = Table("metrics", "metrics.csv", (
    Column("id", "id"),
    Column("family", "choice", choices=FAMILIES),
    Column("unit"),
    Column("kind", "choice", choices=METRIC_KINDS),
    Column("period", "choice", choices=METRIC_PERIODS),
    Column("counts"),
))

# The bundled claims: claimant and metric are ids into the two registries above, and each
# row says when and where it was last read against its source.
CLAIMS = Table("claims", "claims.csv", (
    Column("id", "id"),
    Column("metric", "metric"),
    Column("value", "number"),
    Column("value_high", "number", required=False),
    Column("qualifier", "choice", required=False, choices=QUALIFIERS),
    Column("unit"),
    Column("basis", "choice", choices=BASES),
    Column("as_of_date", "date"),
    # When the claimant said it (briefing, speech, report release); see data/README.md.
    Column("statement_date", "date"),
    Column("reported_date", "date"),
    Column("claimant", "claimant"),
    # Another copy of the same report credits someone else: the claimant is disputed between summaries.
    Column("claimant_alt", "claimant", required=False),
    Column("alt_url", "url", required=False),
    Column("attribution"),
    Column("outlet"),
    Column("url", "url"),
    Column("place_id", "place", required=False),
    Column("route_ids", "routes", required=False),
    Column("note"),
    Column("checked", "date", required=False),
    Column("checked_url", "url", required=False),
    Column("verification", "choice", choices=VERIFICATIONS),
    Column("restates", "claim", required=False),
))

# Claims a user imports: the bundled columns, with claimant as a registry id or name or as free text
# (then claimant_type and family say what the registries would), and no check of ours (checked).
IMPORTED_CLAIMS = Table("claims", "claims.csv", (
    Column("id", "id"),
    Column("metric"),
    Column("family", "choice", required=False, choices=FAMILIES),
    Column("value", "number"),
    Column("value_high", "number", required=False),
    Column("qualifier", "choice", required=False, choices=QUALIFIERS),
    Column("unit"),
    Column("basis", "choice", choices=BASES),
    Column("as_of_date", "date"),
    Column("statement_date", "date", required=False),
    Column("reported_date", "date"),
    Column("claimant"),
    Column("attribution"),
    Column("claimant_type", "choice", required=False, choices=CLAIMANT_TYPES),
    Column("outlet"),
    Column("url", "url"),
    Column("place_id", "place", required=False),
    Column("route_ids", "routes", required=False),
    Column("note"),
    Column("checked", "date", required=False),
    Column("checked_url", "url", required=False),
    Column("verification", "choice", required=False, choices=VERIFICATIONS),
    Column("restates", "claim", required=False),
    # The imported images (their names, ;-separated) the figure was read from: the evidence panel shows them.
    Column("images", required=False),
))

EVENTS = Table("events", "events.csv", (
    Column("id", "id"),
    Column("date", "date"),
    Column("title"),
    Column("kind", "choice", choices=EVENT_KINDS),
    Column("place_id", "place", required=False),
    Column("description"),
    Column("url", "url"),
))

FLOWS = Table("flows", "flows.csv", (
    Column("id", "id"),
    Column("name"),
    Column("family", "choice", choices=FAMILIES),
    Column("from_place", "place"),
    Column("to_place", "place"),
    Column("volume_metric"),
    Column("description"),
))

SCENES = Table("scenes", "scenes.csv", (
    Column("id", "id"),
    Column("title"),
    Column("date", "date"),
    Column("view", "choice", choices=VIEWS),
    Column("layers", "layers"),
    Column("caption"),
    # The places the caption speaks of: the presenter's camera frames them at any window size.
    Column("focus", "places", required=False),
    # Which headline figure leads while the scene is shown (geo.model.evidence.HEADLINES).
    Column("topic", "choice", required=False, choices=("Containers", "Shells", "Missiles", "Troops")),
))

ROUTES = Table("routes", "routes.geojson", (
    Column("id", "id"),
    Column("name"),
    Column("mode", "choice", choices=MODES),
    Column("from_place", "place"),
    Column("to_place", "place"),
    Column("status", "choice", choices=ROUTE_STATUSES),
    Column("volume_metric", required=False),
    Column("active_from", "date"),
    Column("active_to", "date", required=False),
    Column("description"),
    Column("source_url", "url", required=False),
))

AREAS = Table("areas", "areas.geojson", (
    Column("id", "id"),
    Column("name"),
    Column("kind", "choice", choices=AREA_KINDS),
    Column("place_id", "place", required=False),
    Column("valid_from", "date"),
    Column("valid_to", "date", required=False),
    Column("precision", "choice", choices=PRECISIONS),
    Column("plants", required=False),
    Column("description"),
    Column("source_url", "url"),
))

# The vessels our sources name, one row each; everything known about them is in VESSEL_FACTS.
VESSELS = Table("vessels", "vessels.csv", (
    Column("id", "id"),
    Column("name"),
    Column("note", required=False),
))

# One fact per row, each with the page it was read in and a verbatim quote that supports it.
VESSEL_FACTS = Table("vessel_facts", "vessel_facts.csv", (
    Column("id", "id"),
    Column("vessel_id", "vessel"),
    Column("field", "choice", choices=VESSEL_FIELDS),
    Column("value"),
    Column("valid_from", "date", required=False),
    Column("valid_to", "date", required=False),
    Column("authority", required=False),  # who imposed a sanction (field sanction only)
    Column("outlet"),
    Column("url", "url"),
    Column("read", "date"),
    Column("quote"),
    Column("note", required=False),
))

TABLES = (PLACES, CLAIMANTS, METRICS, CLAIMS, EVENTS, FLOWS, SCENES, ROUTES, AREAS, VESSELS, VESSEL_FACTS)

# Geometry each GeoJSON table may hold.
GEOMETRY_TYPES = {
    "routes": ("LineString",),
    "areas": ("Polygon", "MultiPolygon"),
}
