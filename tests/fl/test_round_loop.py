"""The one round loop (`run_rounds`) on a recording stand-in for the run: what it calls,
in which order, how often, and when it stops."""

from types import SimpleNamespace

import pytest

from semnet.fl.context import PhaseRecord
from semnet.fl.strategy import RoundStrategy, run_rounds


class FakeRun:
    """Records every call run_rounds makes; validation PSNR follows a given curve."""

    def __init__(self, eval_every_rounds=0, validation_curve=None):
        self.settings = SimpleNamespace(eval_every_rounds=eval_every_rounds)
        self.calls = []
        self.curve = validation_curve or (lambda rnd: 20.0)
        self.played = 0

    def begin_phase(self, name):
        self.calls.append(("begin", name))

    def play(self, plans):
        self.played += 1
        self.calls.append(("play", self.played))
        return [], []

    def aggregation_delay(self):
        self.calls.append(("delay",))

    def report(self, **fields):
        self.calls.append(("report",))

    def evaluate(self, enc, dec, *, final=False, validation=False):
        self.calls.append(("validate" if validation else "test", self.played))
        return [], {"psnr_db": self.curve(self.played)}

    def watch_collapse(self, enc, dec):
        self.calls.append(("watch",))

    def checkpoint_phase_end(self, enc, dec):
        self.calls.append(("saved",))

    def end_phase(self, enc=None, dec=None, validation_psnr_db=None):
        self.calls.append(("end", validation_psnr_db))
        return PhaseRecord("p", 0, 0, 0, 0, 0, 0, 0, 0, self.played, 0)


class Strategy(RoundStrategy):
    evaluates_between_rounds = True

    def configure(self, rnd):
        return []

    def pairing(self):
        return (lambda i: None), (lambda j: None)


def kinds(run, kind):
    return [c for c in run.calls if c[0] == kind]


def test_each_round_plays_aggregates_waits_and_reports_in_order():
    run = FakeRun()
    run_rounds(run, Strategy(run), 2, phase="p")
    # the phase's own final scoring is end_phase's job (here a stub)
    # a phase's start is remembered first, so that a collapse below it is caught
    assert run.calls == [("begin", "p"), ("watch",), ("play", 1), ("delay",), ("report",), ("play", 2), ("delay",),
                         ("report",), ("end", None), ("saved",)]


def test_strategies_that_do_not_aggregate_or_report_skip_those_calls():
    class Quiet(Strategy):
        aggregates = False
        reports = False

    run = FakeRun()
    run_rounds(run, Quiet(run), 2, phase="p")
    assert not kinds(run, "delay") and not kinds(run, "report") and len(kinds(run, "play")) == 2


def test_test_evaluations_every_n_rounds_but_not_after_the_last():
    run = FakeRun(eval_every_rounds=2)
    run_rounds(run, Strategy(run), 5, phase="p")
    assert kinds(run, "test") == [("test", 2), ("test", 4)]  # round 5's score is the phase end's
    fine_tuning = FakeRun(eval_every_rounds=2)

    class FineTuning(Strategy):
        evaluates_between_rounds = False

    run_rounds(fine_tuning, FineTuning(fine_tuning), 5, phase="p")
    assert kinds(fine_tuning, "test") == []


def test_without_a_phase_the_caller_owns_it():
    run = FakeRun()
    assert run_rounds(run, Strategy(run), 3) is None
    assert not kinds(run, "begin") and not kinds(run, "end") and len(kinds(run, "play")) == 3


def test_a_plateau_stops_the_rounds_and_marks_convergence():
    converge = SimpleNamespace(min_gain_db=0.1, window_frac=0.1, min_rounds=4, eval_every=1)
    run = FakeRun(validation_curve=lambda rnd: min(rnd, 3) * 1.0)  # gains until round 3, then flat
    record = run_rounds(run, Strategy(run), 50, phase="p", converge=converge)
    assert record.converged is True
    assert 6 <= run.played < 50  # windows of 3 evaluations: flat ones need rounds 4..6 at least
    assert kinds(run, "validate")[0] == ("validate", 0)  # the start is validated before any round
    assert run.calls[-2] == ("end", float(min(run.played, 3)))  # the last check's value, no second pass


def test_a_rising_curve_runs_out_of_rounds_unconverged():
    converge = SimpleNamespace(min_gain_db=0.1, window_frac=0.1, min_rounds=4, eval_every=1)
    run = FakeRun(validation_curve=lambda rnd: float(rnd))
    record = run_rounds(run, Strategy(run), 12, phase="p", converge=converge)
    assert record.converged is False and run.played == 12


@pytest.mark.parametrize("converge", [None, SimpleNamespace(min_gain_db=0.1, window_frac=0.1, min_rounds=1,
                                                             eval_every=1)])
def test_zero_rounds_have_no_convergence_verdict(converge):
    run = FakeRun()
    record = run_rounds(run, Strategy(run), 0, phase="p", converge=converge)
    assert record.converged is None and run.played == 0
