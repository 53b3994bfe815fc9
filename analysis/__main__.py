"""``python -m analysis COMMAND RUN_DIRS... --out DIR`` from the repository root: the
same as ``python -m semnet.analysis`` (see :mod:`semnet.analysis.__main__`)."""

import sys

from semnet.analysis.__main__ import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m analysis"))
