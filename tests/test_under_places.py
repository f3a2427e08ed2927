"""A place's marker is drawn over the analyst's own features: its panel lists those within
overlay.NEAR_KM of it, nearest first, and no others."""
import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from geo.view import overlay

TUMANGANG = (130.6081, 42.4214)


def test_features_within_a_kilometre_of_a_place_are_listed_nearest_first():
    frame = gpd.GeoDataFrame({
        "feature_id": [10, 11, 12, 13], "name": ["Far depot", "Yard sighting", "Siding", "Bridge line"],
        "kind": ["generic", "events", "generic", "generic"], "source_file": ["a.csv", "b.csv", "a.csv", "c.kml"],
        "date": [pd.NaT, pd.Timestamp("2024-08-01"), pd.NaT, pd.NaT]},
        geometry=[Point(130.6081, 42.4314),  # 1.1 km north
                  Point(*TUMANGANG), Point(130.6081, 42.4254),  # 0.44 km north
                  LineString([(130.60, 42.4224), (130.62, 42.4224)])], crs="EPSG:4326")  # passes 111 m north
    near = overlay.features_near(frame, *TUMANGANG)
    assert [f["line"] for f in near] == ["Yard sighting: events; from b.csv, 2024-08-01; 0 m from here",
                     "Bridge line: imported feature; from c.kml; 111 m from here",
                     "Siding: imported feature; from a.csv; 445 m from here"]
    assert near[0]["sel"] == {"kind": "imported", "feature_id": "ws11"} and near[0]["name"] == "Yard sighting"
    assert overlay.features_near(frame.iloc[:0], *TUMANGANG) == [] and overlay.features_near(None, *TUMANGANG) == []
