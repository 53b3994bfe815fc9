"""SimPy engine: links as FIFO servers booked by arithmetic, media that share airtime (dedicated links, node
radios, a cell's scheduled bands), compute as per-node resources, rounds of tasks."""

from semnet.sim.engine import Simulator
from semnet.sim.message import Message, Task, TaskOutcome

__all__ = ["Message", "Simulator", "Task", "TaskOutcome"]
