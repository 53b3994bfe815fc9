"""Terminal progress for long runs: phase, round, simulated time, bytes, quality."""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm


class RunProgress:
    """One tqdm counter: the round of the current phase (restarting at each phase),
    with the phase as description and simulated time, bytes and the latest test PSNR
    as postfix. Nothing is drawn when stderr is not a terminal (a log file or a pipe
    would get carriage-return debris), nor when ``enabled`` is false."""

    def __init__(self, enabled: bool = True, stream=None):
        stream = stream or sys.stderr
        interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.bar = tqdm(total=None, unit=" rounds", disable=not (enabled and interactive), file=stream,
                        dynamic_ncols=True)
        self.psnr = float("nan")
        self._phase = None

    def __call__(self, record: dict) -> None:
        if self.bar.disable:
            return
        if "psnr_db" in record and record.get("split", "test") == "test":
            self.psnr = record["psnr_db"]
        branch = record.get("branch", "main")
        phase = record.get("phase", "")
        label = phase if branch == "main" else f"{branch}/{phase}"
        if label != self._phase:  # a new phase counts its own rounds
            self._phase = label
            self.bar.reset()
            self.bar.set_description(label, refresh=False)
        parts = [f"t={record.get('sim_time_s', 0.0):.1f}s", f"{record.get('bytes_cumulative', 0) / 1e6:.2f}MB"]
        if self.psnr is not None and not (isinstance(self.psnr, float) and math.isnan(self.psnr)):
            parts.append(f"PSNR {self.psnr:.2f}dB")
        self.bar.set_postfix_str(" ".join(parts), refresh=False)
        self.bar.update(max(0, int(record.get("round", 0)) - self.bar.n))  # evaluations do not count

    def close(self) -> None:
        self.bar.close()
