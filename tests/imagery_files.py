"""GeoTIFFs made here with rasterio, for the page's image tests: one flat colour over a box, in
EPSG:4326 or a UTM zone, dated in the file's TIFFTAG_DATETIME."""
from pathlib import Path

import numpy as np

YARD = (130.595, 42.412, 130.625, 42.430)  # a box round Tumangang station (LOC_TUMANGANG_STN 130.6081, 42.4214)
RED, BLUE = (220, 20, 20), (20, 40, 220)


def geotiff(path: Path, colour, date: str, bounds=YARD, size=(300, 180), crs: str = "EPSG:4326") -> Path:
    """A three-band GeoTIFF of one colour covering `bounds` (lon/lat), dated `date` (YYYY-MM-DD)."""
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.warp import transform_bounds
    west, south, east, north = bounds if crs == "EPSG:4326" else transform_bounds("EPSG:4326", crs, *bounds)
    width, height = size
    pixels = np.stack([np.full((height, width), c, dtype=np.uint8) for c in colour])
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8", crs=crs,
                       transform=from_bounds(west, south, east, north, width, height)) as dst:
        dst.write(pixels)
        dst.update_tags(TIFFTAG_DATETIME=f"{date.replace('-', ':')} 10:30:00")
    return path
