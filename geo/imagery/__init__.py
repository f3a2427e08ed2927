"""Georeferenced images (satellite scenes, aerial chips, screenshots with a world file, KML ground
overlays): read, placed, reprojected once to Web Mercator and cut into a small pyramid.

- geo.imagery.headers: what a file claims before any library opens it (format, pixel size,
  world files, a date in the name), standard library only, so a hostile file is refused at once.
- geo.imagery.overlay: KML/KMZ GroundOverlays (LatLonBox, rotation, TimeStamp/TimeSpan).
- geo.imagery.raster: reading with rasterio (its own GDAL), warping to EPSG:3857 as RGBA with
  transparent nodata, the pyramid as PNG bytes, the footprint in lon/lat.

Every refusal is an ImageProblem whose str() is one line naming the file; geo.imports turns it
into its own ImportProblem. This package knows nothing of the importer or the store.
"""
