"""``semnet analyse COMMAND ...``: tables and figures from run directories.

The commands, their arguments and their outputs are :mod:`semnet.analysis.__main__`'s
(``semnet analyse --help`` lists them); this module only hands the command line over,
so that the package's command line is one program. The older spellings
``python -m analysis``, ``python -m semnet.analysis`` and
``python -m semnet.analysis.channel_time`` run the same code after one notice line.
"""

from __future__ import annotations

import sys

from semnet.cli.pipes import EXIT_BROKEN_PIPE, silence_stdout


def analyse(argv: list[str]) -> int:
    """Run ``semnet analyse`` with the arguments ``argv`` (those after ``analyse``);
    return the exit status."""
    from semnet.analysis.__main__ import PROG, main

    try:
        status = main(argv, prog=PROG)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE
