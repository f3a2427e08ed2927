"""A synthetic AIS export (the columns of a public one: MMSI,BaseDateTime,LAT,LON,SOG,COG,...) whose
ships call at Rajin, Vostochny and Dunai, go dark once and meet once at sea, with every event
known by construction, for the page's tests. Every position is made up; no vessel here is real,
though two carry the names the sources give (the registry joins by MMSI and IMO, which are made up too).
"""
from __future__ import annotations

import math

import pandas as pd

HEADER = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo"
PORTS = {"Rajin": (130.300, 42.243), "Vostochny": (133.060, 42.740), "Dunai": (132.355, 42.890)}
MEET = (131.60, 41.70)  # open sea: far over 10 km from every port polygon
STEP = pd.Timedelta(minutes=30)
START = pd.Timestamp("2024-09-02T00:00:00")


def km(a, b) -> float:
    kx = 111.32 * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((b[0] - a[0]) * kx, (b[1] - a[1]) * 110.574)


class Ship:
    def __init__(self, mmsi, name, imo, at):
        self.mmsi, self.name, self.imo, self.at, self.t, self.rows = mmsi, name, imo, at, START, []

    def fix(self, sog):
        self.rows.append((self.mmsi, self.t, self.at[1], self.at[0], sog, self.name, self.imo))

    def stay(self, hours, sog=0.1):
        for _ in range(int(hours * 2)):
            self.fix(sog)
            self.t += STEP

    def sail(self, to, knots=10.0, dark=()):
        """Sail in a straight line at `knots`, a position every 30 min; none in the `dark` span
        of hours since leaving (the transponder off)."""
        start, left = self.at, self.t
        hours = km(start, to) / (knots * 1.852)
        steps = max(1, int(hours * 2))
        for i in range(1, steps + 1):
            f = i / steps
            self.at = (start[0] + f * (to[0] - start[0]), start[1] + f * (to[1] - start[1]))
            self.t += STEP
            since = (self.t - left) / pd.Timedelta(hours=1)
            if not (dark and dark[0] <= since < dark[1]):
                self.fix(knots)


def voyages() -> tuple[list[tuple], dict]:
    """Positions, and what they hold by construction: calls per port, the gap, the encounter."""
    angara = Ship("273111110", "ANGARA", "", PORTS["Rajin"])
    maria = Ship("273222220", "MARIA", "", PORTS["Rajin"])
    drifter = Ship("511333330", "TEST DRIFTER", "", MEET)
    # Angara: Rajin, out to sea where it meets the drifter, Vostochny, back to Rajin dark for 14 h, Rajin, Vostochny.
    angara.stay(6)
    angara.sail(MEET)
    angara.stay(4, sog=0.5)
    angara.sail(PORTS["Vostochny"])
    angara.stay(10)
    angara.sail(PORTS["Rajin"], knots=5.0, dark=(6, 20))
    angara.stay(8)
    angara.sail(PORTS["Vostochny"])
    angara.stay(6)
    # Maria: Rajin, Dunai, Rajin, Dunai.
    maria.t += pd.Timedelta(hours=2)
    maria.stay(5)
    maria.sail(PORTS["Dunai"])
    maria.stay(8)
    maria.sail(PORTS["Rajin"])
    maria.stay(6)
    maria.sail(PORTS["Dunai"])
    maria.stay(4)
    # The drifter waits at the meeting point from before Angara comes until after it has gone.
    met = angara.rows[12][1]  # Angara's position 12: at sea, on its way out
    drifter.t = met
    drifter.stay(24, sog=0.4)
    rows = angara.rows + maria.rows + drifter.rows
    truth = {"calls": {"Rajin": 4, "Vostochny": 2, "Dunai": 2}, "rajin_vessels": 2, "gaps": 1, "encounters": 1}
    return rows, truth


def month_end_calls() -> tuple[list[tuple], dict]:
    """Calls at Rajin around the end of September 2024, with what they hold by construction:
    Boundary calls from 30 September into 1 October (it counts in September, when it began) and
    again on 10 October; Open End comes in on 5 October and its track ends in port (a call without
    a final exit); Far Side calls at Vostochny in October (another port, not counted at Rajin)."""
    off = (130.50, 42.10)  # at sea, about 20 km from Rajin
    boundary = Ship("273444440", "BOUNDARY", "", off)
    boundary.t = pd.Timestamp("2024-09-30T18:00:00")
    boundary.sail(PORTS["Rajin"])
    boundary.stay(12)  # over midnight into October
    boundary.sail(off)
    boundary.t = pd.Timestamp("2024-10-10T06:00:00")
    boundary.fix(10.0)
    boundary.sail(PORTS["Rajin"])
    boundary.stay(5)
    boundary.sail(off)
    open_end = Ship("273555550", "OPEN END", "", off)
    open_end.t = pd.Timestamp("2024-10-05T09:00:00")
    open_end.sail(PORTS["Rajin"])
    open_end.stay(6)  # and no position after: the track ends inside
    far = Ship("273666660", "FAR SIDE", "", (133.20, 42.60))
    far.t = pd.Timestamp("2024-10-03T00:00:00")
    far.sail(PORTS["Vostochny"])
    far.stay(6)
    far.sail((133.20, 42.60))
    truth = {"september": (1, 1), "october": (2, 2), "to_october": (3, 2)}  # (calls, vessels) at Rajin
    return boundary.rows + open_end.rows + far.rows, truth


def ais_csv(rows: list[tuple] | None = None) -> str:
    """An AIS export of `rows` (default: the voyages)."""
    rows = voyages()[0] if rows is None else rows
    lines = [HEADER]
    for mmsi, t, lat, lon, sog, name, imo in sorted(rows, key=lambda r: (r[1], r[0])):
        lines.append(f"{mmsi},{t:%Y-%m-%dT%H:%M:%S},{lat:.5f},{lon:.5f},{sog:.1f},90.0,90,{name},{imo},UBCD7,70,0,"
                     f"110,18,6.5,70")
    return "\n".join(lines) + "\n"
