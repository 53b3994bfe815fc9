"""The one round loop (`run_rounds`) on a recording stand-in for the run: what it calls,
in which order, how often, and when it stops."""

from types import SimpleNamespace

import pytest

from semnet.fl.loop.context import PhaseRecord
from semnet.fl.loop.strategy import RoundStrategy, run_rounds


class FakeRun:
    """Records every call run_rounds makes; validation PSNR follows a given curve. It
    stands in for the run and for each of its views (their method names differ)."""

    def __init__(self, eval_every_rounds=0, validation_curve=None):
        self.settings = SimpleNamespace(eval_every_rounds=eval_every_rounds)
        self.calls = []
        self.curve = validation_curve or (lambda rnd: 20.0)
        self.played = 0
        self.resume_log = None  # no checkpoints
        self.phases = self.rounds = self.deployment = self

    def view(self, uses, owner):
        return self

    def begin(self, name):
        self.calls.append(("begin", name))

    def play(self, plans):
        self.played += 1
        self.calls.append(("play", self.played))
        return [], []

    def aggregation_delay(self):
        self.calls.append(("delay",))

    def deploy_pairing(self, enc, dec, *, via, missing_only=False):
        pass  # live traffic's seam: no images travel here

    def settle(self):
        pass

    def report(self, **fields):
        self.calls.append(("report",))

    def evaluate(self, enc, dec, *, final=False, validation=False):
        self.calls.append(("validate" if validation else "test", self.played))
        return [], {"psnr_db": self.curve(self.played)}

    def watch_collapse(self, enc, dec):
        self.calls.append(("watch",))

    def checkpoint_end(self, enc, dec):
        self.calls.append(("saved",))

    def end(self, enc=None, dec=None, validation_psnr_db=None):
        self.calls.append(("end", validation_psnr_db))
        # like the real one, validates the final models unless told their value
        validation = self.curve(self.played) if validation_psnr_db is None else validation_psnr_db
        return PhaseRecord("p", 0, 0, 0, 0, 0, 0, 0, 0, self.played, 0, validation_psnr_db=validation)


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


# ------------------------------------------------------------ the learning-rate floor

from semnet.fl.loop.schedule import RateSchedule  # noqa: E402


def converge_rule(**kw):
    rule = dict(min_gain_db=0.1, window_frac=0.1, min_rounds=4, eval_every=1, min_lr_frac=0.25)
    return SimpleNamespace(**{**rule, **kw})


def scheduled(run, schedule):
    strategy = Strategy(run)
    strategy.schedule = schedule
    return strategy


def test_a_plateau_reached_at_a_decayed_rate_is_not_convergence():
    """Cosine over 100 rounds, a curve that rises until round 80 and is flat after: the
    plateau rule holds only where the rate is far below a quarter of its base."""
    run = FakeRun(validation_curve=lambda rnd: min(rnd, 80) * 0.5)
    record = run_rounds(run, scheduled(run, RateSchedule(1e-3, "cosine", 100)), 100, phase="p",
                        converge=converge_rule())
    assert 80 < run.played < 100  # the loop still stops at the plateau: nothing changes but the verdict
    assert record.converged is False
    decision = record.convergence
    assert decision["converged"] is False and "decayed learning rate" in decision["reason"]
    assert decision["lr_at_decision"] == pytest.approx(RateSchedule(1e-3, "cosine", 100).lr(run.played))
    assert decision["lr_frac_at_decision"] < 0.25
    assert decision["decision_round"] == run.played
    assert decision["rule"] == {"min_gain_db": 0.1, "window_frac": 0.1, "min_rounds": 4, "eval_every": 1,
                                "min_lr_frac": 0.25}
    assert decision["validation_gain_db"] < 0.1


def test_the_same_plateau_at_a_constant_rate_is_convergence():
    run = FakeRun(validation_curve=lambda rnd: min(rnd, 80) * 0.5)
    record = run_rounds(run, scheduled(run, RateSchedule(1e-3, "constant", 100)), 100, phase="p",
                        converge=converge_rule())
    assert record.converged is True and record.convergence["lr_frac_at_decision"] == 1.0
    assert record.convergence["lr_at_decision"] == 1e-3
    assert record.convergence["reason"].startswith(f"plateau at round {run.played}")


def test_an_early_plateau_under_cosine_is_still_convergence():
    """Flat from round 3: the rule holds at round ~6, where cosine over 100 rounds is near its base."""
    run = FakeRun(validation_curve=lambda rnd: min(rnd, 3) * 1.0)
    record = run_rounds(run, scheduled(run, RateSchedule(1e-3, "cosine", 100)), 100, phase="p",
                        converge=converge_rule())
    assert record.converged is True and record.convergence["lr_frac_at_decision"] > 0.9


def test_running_out_of_rounds_records_the_rate_and_the_gain():
    run = FakeRun(validation_curve=lambda rnd: float(rnd))
    record = run_rounds(run, scheduled(run, RateSchedule(1e-3, "constant", 12)), 12, phase="p",
                        converge=converge_rule())
    assert record.converged is False and record.convergence["reason"] == "no plateau within 12 rounds"
    assert record.convergence["decision_round"] == 12 and record.convergence["validation_gain_db"] == 3.0


def test_without_a_rate_the_plateau_rule_alone_decides():
    run = FakeRun(validation_curve=lambda rnd: min(rnd, 3) * 1.0)
    record = run_rounds(run, Strategy(run), 50, phase="p", converge=converge_rule())
    assert record.converged is True and record.convergence["lr_at_decision"] is None


def test_plateau_then_cosine_holds_the_rate_until_the_plateau_and_then_decays():
    rates = {}

    class Recording(Strategy):
        def configure(self, rnd):
            rates[rnd] = self.lr(rnd)
            return []

    def curve(rnd):  # flat from round 20; each round at a decayed rate adds 0.1 dB
        return min(rnd, 20) * 0.5 + 0.1 * sum(1 for r, lr in rates.items() if r <= rnd and lr < 1e-3)

    run = FakeRun(validation_curve=curve)
    strategy = Recording(run)
    strategy.schedule = RateSchedule(1e-3, "plateau_then_cosine", 200, decay_rounds=10)
    record = run_rounds(run, strategy, 200, phase="p", converge=converge_rule())
    plateau = record.convergence["decision_round"]
    assert 20 < plateau < 40 and record.converged is True
    assert record.convergence["lr_frac_at_decision"] == 1.0
    assert all(rates[r] == 1e-3 for r in range(1, plateau + 1))  # constant up to the decision
    decay = [rates[r] for r in range(plateau + 1, plateau + 11)]
    assert decay[0] == 1e-3 and all(a > b for a, b in zip(decay, decay[1:])) and decay[-1] < 0.03e-3
    assert run.played == plateau + 10 == record.rounds
    assert record.convergence["decay"] == {"schedule": "plateau_then_cosine", "from_round": plateau + 1,
                                           "rounds": 10, "validation_gain_db": pytest.approx(0.9)}
    # the decay's end is validated by the phase end (the check stopped at the plateau)
    assert run.calls[-2] == ("end", None)


def test_plateau_then_cosine_decays_after_the_rounds_run_out_too():
    run = FakeRun(validation_curve=lambda rnd: float(rnd))
    strategy = scheduled(run, RateSchedule(1e-3, "plateau_then_cosine", 12, decay_rounds=4))
    record = run_rounds(run, strategy, 12, phase="p", converge=converge_rule())
    assert record.converged is False and run.played == 16
    assert record.convergence["decay"]["from_round"] == 13


def test_cosine_schedule_matches_the_old_formula():
    import math
    schedule = RateSchedule(2e-3, "cosine", 100)
    for rnd in (1, 40, 67, 100):
        assert schedule.lr(rnd) == 2e-3 * 0.5 * (1.0 + math.cos(math.pi * (rnd - 1) / 100))
