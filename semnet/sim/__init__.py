"""SimPy engine: links as FIFO resources, compute as per-node resources, rounds of tasks."""

from semnet.sim.engine import Simulator
from semnet.sim.message import Message, Task, TaskOutcome

__all__ = ["Message", "Simulator", "Task", "TaskOutcome"]
