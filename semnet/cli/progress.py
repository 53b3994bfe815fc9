"""Terminal progress for long runs: phase, round, simulated time, bytes, quality."""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm


class RunProgress:
    """A tqdm counter of rounds whose description and postfix follow the run."""

    def __init__(self, enabled: bool = True):
        self.bar = tqdm(total=None, unit="round", disable=not enabled, file=sys.stderr, dynamic_ncols=True)
        self.psnr = float("nan")

    def __call__(self, record: dict) -> None:
        if "psnr_db" in record and record.get("split", "test") == "test":
            self.psnr = record["psnr_db"]
        branch = record.get("branch", "main")
        phase = record.get("phase", "")
        self.bar.set_description(phase if branch == "main" else f"{branch}/{phase}", refresh=False)
        parts = [f"round {record.get('round', 0)}", f"t={record.get('sim_time_s', 0.0):.1f}s",
                 f"{record.get('bytes_cumulative', 0) / 1e6:.2f}MB"]
        if self.psnr is not None and not (isinstance(self.psnr, float) and math.isnan(self.psnr)):
            parts.append(f"PSNR {self.psnr:.2f}dB")
        self.bar.set_postfix_str(" ".join(parts), refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
