"""A base station's band shared by the users who transmit on it, under a scheduler.

Each transmission is a :class:`BandJob` of ``work_s`` seconds: its airtime had it the
whole band (from its link's rate, packets and retransmissions). A user's jobs are
served one after another (FIFO); between users the scheduler decides:

``tdma``
    Round robin: one user's job holds the whole band until it ends, then the next
    user with something to send (in order of arrival) takes its turn. ``n`` equal
    jobs of ``w`` seconds submitted together end at ``w, 2w, ..., n w``.
``ofdma``
    Equal share: each of the ``n`` users with something to send gets ``B / n`` and
    so ``1 / n`` of its full-band rate, re-split whenever a user arrives or leaves
    (processor sharing, in virtual time: ``O(log n)`` per arrival or end). ``n``
    equal jobs submitted together all end at ``n w``.
``proportional_fair``
    Slotted: each slot of ``slot_s`` (or until the served job ends) the whole band
    goes to the user with the largest ``r_i(t) / T_i``, its current rate over its
    throughput averaged over ``window_s`` while it has something to send; users who
    arrive (no throughput yet) go first.
    With rates that do not change in time this converges to equal time shares, the
    maximiser of ``sum_i log(phi_i r_i)``, i.e. to ``ofdma``'s allocation; it differs
    where the rates follow a channel over time (its owner's ``rate_bps``). It costs
    one decision, ``O(n)``, per slot.

Each scheduler is a :class:`SharedBand` subclass registered in
:data:`semnet.registry.schedulers` under its name (``links.scheduler``);
:func:`make_band` builds one. A plugin's scheduler subclasses :class:`SharedBand` the
same way (it overrides :meth:`SharedBand._shares` and the hooks it needs).

A share of the band carries that share of the full-band rate (the SNR per hertz is
kept). The band is a fluid server: between decisions (an arrival, an end, a slot
boundary) every share is constant, so jobs progress by arithmetic; SimPy is woken
only at the next decision, through one timeout whose callback checks a generation
number (an arrival re-plans, and older timeouts are then ignored). The owner (a
:class:`~semnet.sim.cell.CellMedium`) plans each job when it starts (``plan``) and
hears of its end (``done``).
"""

from __future__ import annotations

import math
import heapq
from collections import deque

import simpy

from semnet.registry import schedulers

__all__ = ["BandJob", "EqualShare", "ProportionalFair", "RoundRobin", "SharedBand", "make_band"]

# a job whose time to finish is within this fraction of the shortest one ends with it
_TIE = 1e-12


class BandJob:
    """One transmission on the band.

    ``user`` is who it belongs to (jobs of one user go FIFO); ``items`` what the owner
    needs to resolve it. ``work_s`` is set by the owner's ``plan`` when the job starts
    (``start_s``); ``on_air_s`` counts the seconds its sender actually transmitted
    (its whole duration on a sub-band, its own slots in turn).
    """

    __slots__ = ("user", "items", "work_s", "remaining_s", "start_s", "on_air_s", "nominal_bps", "extra")

    def __init__(self, user, items):
        self.user = user
        self.items = items
        self.work_s = math.nan
        self.remaining_s = math.nan
        self.start_s = math.nan
        self.on_air_s = 0.0
        self.nominal_bps = math.nan  # proportional fair: the rate ``work_s`` assumes
        self.extra = None  # the owner's per-job data (e.g. a broadcast's per-receiver outcomes)

    @property
    def started(self) -> bool:
        return self.start_s == self.start_s  # not NaN


class _Wake:
    """The band's timeout callback (picklable, unlike a lambda)."""

    __slots__ = ("band", "generation", "when_s")

    def __init__(self, band: "SharedBand", generation: int, when_s: float):
        self.band = band
        self.generation = generation
        self.when_s = when_s

    def __call__(self, _event) -> None:
        self.band.wake(self.generation, self.when_s)


class SharedBand:
    """One band (an uplink or a downlink) shared by a scheduler (module docstring): the
    fluid server common to every scheduler; a subclass decides who is served.

    Parameters
    ----------
    env : simpy.Environment
    owner
        Has ``plan(job, t_s)`` (sets ``job.work_s``, and for proportional fair
        ``job.nominal_bps``), ``done(job, end_s)`` and, for proportional fair,
        ``rate_bps(job, t_s)`` (the job's current full-band rate).
    slot_s, window_s : float
        Proportional fair: slot length and throughput averaging window.

    Attributes
    ----------
    follows_channel : bool
        The scheduler serves each job at its current rate (``owner.rate_bps``), so the
        owner plans it at its nominal rate without packet losses (proportional fair).
    """

    name = ""
    follows_channel = False

    def __init__(self, env: simpy.Environment, owner, *, slot_s: float = 1e-3, window_s: float = 0.1):
        self.env = env
        self.scheduler = self.name
        self.owner = owner
        self.slot_s = float(slot_s)
        self.window_s = float(window_s)
        self.t_s = float(env.now)  # the time the jobs' progress is counted to
        self.queues: dict = {}  # user -> deque of jobs; insertion order is the round-robin order
        self.current: BandJob | None = None  # tdma and proportional fair: the job holding the band
        self.current_speed = 1.0  # proportional fair: its work seconds per second
        self.slot_end_s = math.inf
        self.avg_bps: dict = {}  # proportional fair: each user's averaged throughput
        self.v = 0.0  # ofdma: virtual time, the work each sending user has been served
        self.finish_v: list = []  # ofdma: heap of (virtual end, sequence, head job)
        self.sequence = 0
        self.generation = 0

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict:
        # the environment and the owner are re-attached after a restore (attach)
        return {**self.__dict__, "env": None, "owner": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if type(self) is SharedBand:  # pickled when one class served every scheduler
            self.__class__ = schedulers.get(state["scheduler"])

    def attach(self, env: simpy.Environment, owner) -> None:
        """Join ``env`` (a restored band): wake at the next decision again."""
        self.env = env
        self.owner = owner
        if self.queues:
            self._arm()

    # ------------------------------------------------------------------ interface

    def add(self, job: BandJob) -> None:
        """A job arrives now."""
        now = float(self.env.now)
        self.advance(now)
        queue = self.queues.get(job.user)
        if queue is None:
            queue = self.queues[job.user] = deque()
        queue.append(job)
        self._arrived(job, queue)
        self._arm()

    def _arrived(self, job: BandJob, queue: deque) -> None:
        """``job`` joined its user's ``queue`` (a hook)."""

    def wake(self, generation: int, when_s: float) -> None:
        if generation != self.generation:
            return  # planned before a later arrival changed the shares
        # the clock may sit a rounding error before the planned decision: serve up to it
        self.advance(max(float(self.env.now), when_s))
        self._arm()

    def finish(self) -> None:
        """Serve everything left as if nothing more arrived."""
        self.advance(math.inf)
        self.generation += 1

    @property
    def active(self) -> bool:
        return bool(self.queues)

    # ------------------------------------------------------------------ the fluid server

    def advance(self, t_s: float) -> None:
        """Serve the jobs from ``self.t_s`` to ``t_s``, ending those due by then."""
        while self.queues:
            shares = self._shares()
            step = self._step(shares)
            if self.t_s + step > t_s:
                self._progress(shares, t_s - self.t_s)
                self.t_s = t_s
                return
            self._progress(shares, step)
            self.t_s += step
            ended = [job for job, rate in shares if job.remaining_s <= _TIE * max(job.work_s, rate * step)]
            for job in ended:
                self._end(job)
            self._stepped()
        if t_s != math.inf and t_s > self.t_s:
            self.t_s = t_s

    def _stepped(self) -> None:
        """After each decision of :meth:`advance` (a hook)."""

    def _progress(self, shares: list, dt: float) -> None:
        if dt <= 0:
            return
        for job, rate in shares:
            job.remaining_s -= rate * dt
            job.on_air_s += dt
        self._served(dt)

    def _served(self, dt: float) -> None:
        """The band served :attr:`current` for ``dt`` seconds (a hook)."""

    def _end(self, job: BandJob) -> None:
        job.remaining_s = 0.0
        queue = self.queues[job.user]
        queue.popleft()
        self._next(job, queue)
        if self.current is job:
            self.current = None
        self.owner.done(job, self.t_s)

    def _next(self, job: BandJob, queue: deque) -> None:
        """``job`` ended; ``queue`` holds its user's later jobs."""
        if not queue:
            del self.queues[job.user]
            self.avg_bps.pop(job.user, None)  # proportional fair: back later, it starts afresh

    def _start(self, job: BandJob) -> None:
        if not job.started:
            job.start_s = self.t_s
            self.owner.plan(job, self.t_s)
            job.remaining_s = job.work_s
            if not job.work_s > 0:  # an empty message ends at once
                job.work_s = job.remaining_s = 0.0

    def _shares(self) -> list:
        """(job, work seconds served per second) of the jobs in service now."""
        if self.current is None:
            self._pick()
        return [(self.current, self.current_speed)]

    def _pick(self) -> None:
        """Set :attr:`current` (and :attr:`current_speed`): the job that holds the band next."""
        raise NotImplementedError(f"scheduler {type(self).__qualname__} does not implement _pick")

    def _arm(self) -> None:
        """Wake SimPy at the next decision (an end, or a slot boundary)."""
        self.generation += 1
        if not self.queues:
            return
        when = self._next_decision_s()
        self.env.timeout(max(0.0, when - float(self.env.now))).callbacks.append(_Wake(self, self.generation, when))

    def _next_decision_s(self) -> float:
        return self.t_s + self._step(self._shares())

    def _step(self, shares: list) -> float:
        """Seconds to the next decision under ``shares``: a job's end or a slot boundary."""
        return min((job.remaining_s / rate if rate > 0 else math.inf) for job, rate in shares)


def make_band(env: simpy.Environment, scheduler: str, owner, **options) -> SharedBand:
    """A band shared by the scheduler registered as ``scheduler``."""
    return schedulers.get(scheduler)(env, owner, **options)


class RoundRobin(SharedBand):
    """``tdma`` (module docstring): one user's job holds the whole band until it ends."""

    name = "tdma"

    def _pick(self) -> None:
        self.current = next(iter(self.queues.values()))[0]
        self._start(self.current)

    def _next(self, job: BandJob, queue: deque) -> None:
        if queue:  # round robin: a user with more to send goes to the back of the line
            del self.queues[job.user]
            self.queues[job.user] = queue
        else:
            super()._next(job, queue)


class EqualShare(SharedBand):
    """``ofdma`` (module docstring): every user with something to send gets an equal share."""

    name = "ofdma"

    def _arrived(self, job: BandJob, queue: deque) -> None:
        if len(queue) == 1:
            self._start_shared(job)

    def _next(self, job: BandJob, queue: deque) -> None:
        if queue:
            self._start_shared(queue[0])  # the user's next message takes its share at once
        else:
            super()._next(job, queue)

    def _next_decision_s(self) -> float:
        finish_v = self.finish_v[0][0]
        return self.t_s + max(0.0, finish_v - self.v) * len(self.finish_v)

    def advance(self, t_s: float) -> None:
        """Equal share in virtual time: ``v`` grows at ``1 / n`` per second while ``n``
        users send, and a job of ``w`` that started at ``v0`` ends when ``v = v0 + w``
        (processor sharing), so an arrival or an end costs ``O(log n)``, not ``O(n)``."""
        heap = self.finish_v
        while heap:
            n = len(heap)  # one head job per user with something to send
            finish_v, _, job = heap[0]
            dt = max(0.0, (finish_v - self.v) * n)
            if self.t_s + dt > t_s:
                if t_s > self.t_s:
                    self.v += (t_s - self.t_s) / n
                    self.t_s = t_s
                return
            heapq.heappop(heap)
            self.t_s += dt
            self.v = finish_v
            job.on_air_s = self.t_s - job.start_s  # on its sub-band all along
            job.remaining_s = 0.0
            self._end(job)
        if t_s != math.inf and t_s > self.t_s:
            self.t_s = t_s

    def _start_shared(self, job: BandJob) -> None:
        self._start(job)
        heapq.heappush(self.finish_v, (self.v + job.work_s, self.sequence, job))
        self.sequence += 1


class ProportionalFair(SharedBand):
    """``proportional_fair`` (module docstring): slotted; each slot goes to the head job
    with the largest current rate over averaged throughput."""

    name = "proportional_fair"
    follows_channel = True

    def _stepped(self) -> None:
        if self.current is None or self.t_s >= self.slot_end_s:
            self.current = None  # the next slot is decided afresh

    def _served(self, dt: float) -> None:
        a = min(1.0, dt / self.window_s)
        served = self.current.user
        for user in self.queues:
            rate_bps = self.current_speed * self.current.nominal_bps if user == served else 0.0
            self.avg_bps[user] = (1.0 - a) * self.avg_bps.get(user, 0.0) + a * rate_bps

    def _pick(self) -> None:
        """The head job with the largest current rate over average."""
        best, best_metric, best_rate = None, -1.0, 0.0
        for user, queue in self.queues.items():
            job = queue[0]
            self._start(job)
            rate = self.owner.rate_bps(job, self.t_s)
            avg = self.avg_bps.get(user, 0.0)
            metric = math.inf if avg <= 0.0 else rate / avg
            if metric > best_metric:
                best, best_metric, best_rate = job, metric, rate
        self.current = best
        self.current_speed = best_rate / best.nominal_bps if best.nominal_bps > 0 else 1.0
        self.slot_end_s = self.t_s + self.slot_s

    def _step(self, shares: list) -> float:
        return min(super()._step(shares), self.slot_end_s - self.t_s)


schedulers.add("tdma", RoundRobin, "round robin: one user's message holds the whole band until it ends")
schedulers.add("ofdma", EqualShare, "equal shares of the band among the users with something to send")
schedulers.add("proportional_fair", ProportionalFair,
               "slotted: each slot to the user with the largest current rate over its averaged throughput")
