"""Ships as evidence: AIS positions kept by month, and what they show (port calls, AIS gaps,
encounters, loitering).

- `ports`: the bundled port polygons (data/ports.geojson) and how they were drawn.
- `positions`: the positions store, Parquet partitioned by import batch and month, read with DuckDB.
- `ais`: public AIS exports (MarineCadastre/NOAA columns, lower-case variants, Parquet) read in chunks.
- `detections`: the rules, on a frame of positions or over the store (`detect`, `detect_store`).
- `distributed`: the same detections on a Dask cluster (`detect_dask`).
- `registry`: the bundled vessels (data/vessels.csv, vessel_facts.csv), joined to tracks by IMO or MMSI.
- `sanctions`: vessels on imported sanctions lists (OpenSanctions, FollowTheMoney).

The package stands between the workspace (geo.store, which writes a batch's positions here and
removes them with it) and the importers (geo.imports, whose ImportProblem it raises).
"""
