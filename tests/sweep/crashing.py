"""A worker target that kills its own process on the point with index 1 (a stand-in for
a crash in native code or the out-of-memory killer); spawned workers import it by name."""

import os

from semnet.sweep.worker import PointTask, run_point


def crash_on_second_point(task: PointTask) -> dict:
    if task.index == 1:
        os._exit(3)
    return run_point(task)
