"""What a state shows, decided in one place: `view_for(data, snapshot, state)`.

The page, the command line's exports, the slides and the video all render its answer
(geo.view.mapview.MapView) and compute nothing of their own.
"""
from geo.view.mapview import MapView, view_for  # noqa: F401
from geo.view.records import MapState  # noqa: F401
