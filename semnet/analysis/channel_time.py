"""The older command line of the realised-SNR figure,
``python -m semnet.analysis.channel_time RUN_DIR [--out DIR] [--links N]``: one notice line,
then ``semnet analyse channel-time`` (:mod:`semnet.analysis.channel_over_time`)."""

from __future__ import annotations

import sys

from .__main__ import main as analyse
from .__main__ import notice


def main(argv: list[str] | None = None) -> int:
    """Run ``semnet analyse channel-time`` with ``argv`` (default: the command line's)."""
    if argv is None:
        notice("python -m semnet.analysis.channel_time", "semnet analyse channel-time")
    return analyse(["channel-time", *(sys.argv[1:] if argv is None else argv)],
                   prog="python -m semnet.analysis.channel_time")


if __name__ == "__main__":
    raise SystemExit(main())
