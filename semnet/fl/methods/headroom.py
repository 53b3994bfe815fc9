"""Headroom: how much of the oracle's gain over the start each method captures.

Pure arithmetic on per-link records (``{"src", "dst", "psnr_db", ...}`` dicts, as phase
records and control summaries keep them). A link's headroom is the oracle's PSNR
minus the start's; a method captures ``(method - start) / (oracle - start)`` of it.
Per link the fraction is left out (None) where the headroom is below
``MIN_HEADROOM_DB``: a ratio of two noise-sized numbers says nothing. The mean
fraction is the ratio of the mean gains (not a mean of ratios, for the same reason).
"""

from __future__ import annotations

import math

MIN_HEADROOM_DB = 0.01  # below this a link's (or the mean) headroom is too small to divide by


def _by_link(links: list[dict]) -> dict[tuple[int, int], float]:
    return {(q["src"], q["dst"]): float(q["psnr_db"]) for q in links}


def _fraction(gain: float, headroom: float) -> float | None:
    if not math.isfinite(gain) or not math.isfinite(headroom) or headroom < MIN_HEADROOM_DB:
        return None
    return round(gain / headroom, 4)


def headroom(start: list[dict], oracle: list[dict], methods: dict[str, list[dict]]) -> dict:
    """The oracle's gain over ``start`` and the share of it each of ``methods`` (name ->
    per-link records of its final models) captures, per link and on the mean over
    links. Links are those of ``start``; every record list must cover them."""
    start_db, oracle_db = _by_link(start), _by_link(oracle)
    method_db = {name: _by_link(links) for name, links in methods.items()}
    rows = []
    for link, s in start_db.items():
        room = oracle_db[link] - s
        row = {"src": link[0], "dst": link[1], "start_psnr_db": round(s, 4), "oracle_psnr_db": round(oracle_db[link], 4),
               "oracle_gain_db": round(room, 4), "gain_db": {}, "captured": {}}
        for name, values in method_db.items():
            gain = values[link] - s
            row["gain_db"][name] = round(gain, 4)
            row["captured"][name] = _fraction(gain, room)
        rows.append(row)
    n = len(rows)
    mean_room = sum(oracle_db[k] - s for k, s in start_db.items()) / n if n else float("nan")
    gains = {name: (sum(values[k] - s for k, s in start_db.items()) / n if n else float("nan"))
             for name, values in method_db.items()}
    return {
        "start_psnr_db": round(sum(start_db.values()) / n, 4) if n else None,
        "oracle_psnr_db": round(sum(oracle_db[k] for k in start_db) / n, 4) if n else None,
        "oracle_gain_db": round(mean_room, 4) if n else None,
        "gain_db": {name: round(g, 4) for name, g in gains.items()},
        "captured": {name: _fraction(g, mean_room) for name, g in gains.items()},
        "min_headroom_db": MIN_HEADROOM_DB,
        # methods whose mean gain exceeds the oracle's: its budget (method.oracle) is too
        # small for it to bound them, and the fractions above 1 say so
        "exceeds_oracle": sorted(name for name, g in gains.items() if n and g > mean_room),
        "links": rows,
    }
