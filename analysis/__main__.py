"""``python -m analysis COMMAND RUN_DIRS... --out DIR`` from the repository root: the
older spelling of ``semnet analyse`` (see :mod:`semnet.analysis.__main__`); it prints one
notice line on stderr, then runs the same command line."""

import sys

from semnet.analysis.__main__ import main, notice

if __name__ == "__main__":
    notice("python -m analysis")
    sys.exit(main(prog="python -m analysis"))
