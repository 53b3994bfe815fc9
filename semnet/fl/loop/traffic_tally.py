"""The live images' statistics and records (:mod:`semnet.fl.loop.traffic`): per branch,
phase and link, per window of ``traffic.window_s``, one ``images.jsonl`` line per image,
and the summary's ``traffic`` section."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from semnet.sim.traffic import ImageSent

__all__ = ["TrafficTally"]


class _Stats:
    """Images of one (branch, phase, link) or one window of it."""

    __slots__ = ("images", "lost", "psnr_db", "latency_s", "shown_psnr_db", "sinr_db")

    def __init__(self):
        self.images = 0
        self.lost = 0
        self.psnr_db: list[float] = []  # delivered images that were decoded
        self.latency_s: list[float] = []  # every image that travelled, lost or not
        self.shown_psnr_db: list[float] = []  # digital: what the receiver showed of every image, fallbacks too
        self.sinr_db: list[float] = []  # every image's SINR (links.interference.model sinr only)

    def add(self, latency_s: float | None, lost: bool, psnr_db: float | None,
            shown_psnr_db: float | None = None, sinr_db: float | None = None) -> None:
        self.images += 1
        self.lost += lost
        if latency_s is not None:  # None: never sent (a digital image that fits no encoding)
            self.latency_s.append(latency_s)
        if psnr_db is not None:
            self.psnr_db.append(psnr_db)
        if shown_psnr_db is not None:
            self.shown_psnr_db.append(shown_psnr_db)
        if sinr_db is not None:
            self.sinr_db.append(sinr_db)

    def merge(self, other: "_Stats") -> None:
        self.images += other.images
        self.lost += other.lost
        self.psnr_db += other.psnr_db
        self.latency_s += other.latency_s
        self.shown_psnr_db += other.shown_psnr_db
        self.sinr_db += other.sinr_db

    def as_dict(self) -> dict:
        psnr, latency = np.asarray(self.psnr_db), np.asarray(self.latency_s)
        out = {
            "images": self.images,
            "delivered": self.images - self.lost,
            "lost": self.lost,
            "psnr_db_mean": _round(psnr.mean(), 4) if psnr.size else None,
            "psnr_db_p5": _round(np.percentile(psnr, 5), 4) if psnr.size else None,
            "latency_s_mean": _round(latency.mean(), 7) if latency.size else None,
            "latency_s_p50": _round(np.percentile(latency, 50), 7) if latency.size else None,
            "latency_s_p99": _round(np.percentile(latency, 99), 7) if latency.size else None,
            **({"shown_psnr_db_mean": _round(np.mean(self.shown_psnr_db), 4)} if self.shown_psnr_db else {}),
        }
        if self.sinr_db:  # runs without interference keep their records as they were
            sinr = np.asarray(self.sinr_db)
            out["sinr_db_mean"] = _round(sinr.mean(), 4)
            out["sinr_db_p5"] = _round(np.percentile(sinr, 5), 4)
        return out

    def state(self) -> tuple:
        state = self.images, self.lost, list(self.psnr_db), list(self.latency_s)
        if self.sinr_db:
            return state + (list(self.shown_psnr_db), list(self.sinr_db))
        return state + (list(self.shown_psnr_db),) if self.shown_psnr_db else state

    @classmethod
    def of(cls, state: tuple) -> "_Stats":
        stats = cls()
        stats.images, stats.lost, stats.psnr_db, stats.latency_s = state[0], state[1], list(state[2]), list(state[3])
        stats.shown_psnr_db = list(state[4]) if len(state) > 4 else []
        stats.sinr_db = list(state[5]) if len(state) > 5 else []
        return stats


def _round(value, digits: int) -> float:
    return round(float(value), digits)


class TrafficTally:
    """Every branch's image statistics, windows and records (module docstring).

    ``write_metric`` appends a ``metrics.jsonl`` record; ``write_image`` an
    ``images.jsonl`` one (None: no per-image records).
    """

    def __init__(self, spec, symbols: int, write_metric: Callable[[dict], None],
                 write_image: Callable[[dict], None] | None):
        self.spec = spec
        self.symbols = symbols
        self.window_s = float(spec.window_s)
        self._write_metric = write_metric
        self._write_image = write_image
        self.rows: dict[tuple, _Stats] = {}  # (branch, phase, src, dst)
        self.windows: dict[tuple, _Stats] = {}  # (branch, phase, src, dst, window)
        self.recorders: list = []  # live, not state: each branch's TrafficRecorder, as it is made

    def add(self, image: ImageSent, *, branch: str, index: int | None, lost: bool, psnr_db: float | None,
            versions: tuple, extra: dict | None = None) -> None:
        """One scored image; ``extra``: what its record adds (a digital image's packet,
        ``shown_psnr_db`` the PSNR of what its receiver showed)."""
        extra = extra or {}
        phase = image.label.get("phase", "")
        latency = None if extra.get("unfit") else image.t_end_s - image.t_gen_s  # unfit: never sent
        shown = extra.get("shown_psnr_db")
        sinr_db = None if image.on_air is None else image.on_air.sinr_db()
        key = (branch, phase, image.src, image.dst)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _Stats()
        row.add(latency, lost, psnr_db, shown, sinr_db)
        window = int(math.floor(image.t_gen_s / self.window_s))
        wkey = key + (window,)
        stats = self.windows.get(wkey)
        if stats is None:
            stats = self.windows[wkey] = _Stats()
        stats.add(latency, lost, psnr_db, shown, sinr_db)
        if self._write_image is not None:
            record = {
                "branch": branch, "phase": phase, "round": image.label.get("round", 0), "src": image.src,
                "dst": image.dst, "n": image.n, "image": index, "t_gen_s": image.t_gen_s,
                "t_start_s": image.t_start_s, "t_end_s": image.t_end_s, "latency_s": latency,
                "snr_db": round(float(image.snr_db), 4), "lost": lost,
                "psnr_db": None if psnr_db is None else round(psnr_db, 4),
                "encoder": versions[0], "decoder": versions[1],
            }
            if image.h is not None:
                record["h"] = [round(image.h.real, 6), round(image.h.imag, 6)]
            if image.on_air is not None:  # large-scale SINR over its airtime (semnet.sim.interference)
                record["sinr_db"] = round(sinr_db, 4)
                record["interfered_by"] = image.on_air.interfered_by()
            self._write_image({**record, **extra})

    def deployed(self, branch: str, records: list[dict]) -> None:
        for record in records:
            self._write_metric({"split": "deployment", "branch": branch, **record})

    def close_windows(self, branch: str, horizon_s: float) -> None:
        """Write the windows of ``branch`` that end by ``horizon_s`` (no image generated in
        them is still to come) and forget them."""
        done = [key for key in self.windows if key[0] == branch and (key[4] + 1) * self.window_s <= horizon_s]
        done.sort(key=lambda key: (key[4], key[2], key[3]))  # stable: phases in the order they came
        for key in done:
            stats = self.windows.pop(key)
            _, phase, src, dst, window = key
            self._write_metric({"split": "traffic", "branch": branch, "phase": phase, "src": src, "dst": dst,
                                "window": window, "t_start_s": round(window * self.window_s, 9),
                                "t_end_s": round((window + 1) * self.window_s, 9), **stats.as_dict()})

    def finish(self) -> None:
        """The run is over: every branch's images are settled and every window written."""
        for recorder in self.recorders:
            recorder.settle(final=True)

    def summary(self) -> dict:
        """The summary's ``traffic`` section."""
        spec = self.spec
        branches: dict = {}
        for (branch, phase, src, dst), stats in self.rows.items():
            entry = branches.setdefault(branch, {"total": _Stats(), "phases": {}})
            entry["total"].merge(stats)
            phase_entry = entry["phases"].setdefault(phase, {"total": _Stats(), "links": []})
            phase_entry["total"].merge(stats)
            phase_entry["links"].append({"src": src, "dst": dst, **stats.as_dict()})
        out = {}
        for branch, entry in branches.items():
            phases = {name: {**p["total"].as_dict(), "links": p["links"]} for name, p in entry["phases"].items()}
            out[branch] = {**entry["total"].as_dict(), "phases": phases}
        digital = getattr(spec, "digital", None)
        return {
            "images_per_s": spec.images_per_s, "arrivals": spec.arrivals, "queue": spec.queue,
            "deadline_s": spec.deadline_s, "window_s": spec.window_s, "channel_uses_per_image": self.symbols,
            **({} if digital is None else {"digital": digital.model_dump()}),
            "branches": out,
        }

    def state(self) -> dict:
        return {"rows": {k: v.state() for k, v in self.rows.items()},
                "windows": {k: v.state() for k, v in self.windows.items()}}

    def load_state(self, state: dict) -> None:
        self.rows = {k: _Stats.of(v) for k, v in state["rows"].items()}
        self.windows = {k: _Stats.of(v) for k, v in state["windows"].items()}
