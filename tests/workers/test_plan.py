"""What simulation.threads/workers: auto resolve to, given the free cores, the settings
and the first round's work (pure: no run, no clock). Expected values are worked out by
hand from the rules in docs/features/execution.md."""

import pytest

from semnet.workers import available_cores, free_cores
from semnet.workers.plan import (SPREAD_MIN_ROUND_FLOP, SPREAD_MIN_ROUND_FLOP_IDLE_CORES, THREADS_MIN_STEP_FLOP,
                                 ExecutionPlan, auto_cores, plan_execution)

BIG_STEP = 4e9  # the paper model's training step (batch 64, 0.0627 GFLOP a training image)
TINY_STEP = 1e7  # a test model's


def plan(threads="auto", workers="auto", cores=2, **work):
    p = plan_execution(threads, workers, cores, **work)
    return p.threads, p.workers, p.worker_threads


def test_before_the_first_round_auto_threads_take_every_free_core_and_no_worker_starts():
    assert plan(cores=2) == (2, 1, 2)
    assert plan(cores=16) == (16, 1, 16)
    assert plan(workers=None, cores=2) == (2, 1, 2)  # null workers: auto, as before auto existed


def test_one_process_trains_on_every_free_core_when_rounds_are_too_short_for_workers():
    # the bench_fedavg round: 5,000 images of 0.0627 GFLOP = 3.1e11 FLOP, under the 5e11 that pays workers
    assert plan(cores=2, step_flop=BIG_STEP, round_flop=3.1e11, chains=10) == (2, 1, 2)


def test_small_steps_train_on_one_thread():
    assert plan(cores=8, step_flop=TINY_STEP, round_flop=1e9, chains=3) == (1, 1, 1)
    assert plan(cores=8, step_flop=THREADS_MIN_STEP_FLOP, round_flop=1e9, chains=1) == (8, 1, 8)  # at the limit: threads


def test_long_rounds_spread_over_as_many_workers_as_cores_and_chains():
    # the paper round: 10,000 images = 6.3e11 FLOP; 2 free cores, 10 chains: 2 workers of one thread
    assert plan(cores=2, step_flop=BIG_STEP, round_flop=6.3e11, chains=10) == (2, 2, 1)
    # 16 free cores but 4 chains: 4 workers of 16 // 4 = 4 threads each
    assert plan(cores=16, step_flop=BIG_STEP, round_flop=SPREAD_MIN_ROUND_FLOP, chains=4) == (16, 4, 4)
    # one chain (centralised training): nothing to spread
    assert plan(cores=16, step_flop=BIG_STEP, round_flop=1e13, chains=1) == (16, 1, 16)


def test_a_busy_machine_gets_one_thread_and_no_workers():
    assert plan(cores=1) == (1, 1, 1)
    assert plan(cores=1, step_flop=BIG_STEP, round_flop=1e13, chains=10) == (1, 1, 1)


def test_cores_left_idle_by_pinned_threads_are_used_by_workers_for_shorter_rounds():
    # threads: 1 on 2 free cores: workers pay from 5e10 FLOP a round (they keep one thread each)
    assert plan(threads=1, cores=2, step_flop=BIG_STEP, round_flop=1e11, chains=6) == (1, 2, 1)
    assert plan(threads=1, cores=2, step_flop=BIG_STEP, round_flop=SPREAD_MIN_ROUND_FLOP_IDLE_CORES / 2,
                chains=6) == (1, 1, 1)
    # tiny steps leave the process at one thread too: the same lower bar
    assert plan(cores=4, step_flop=TINY_STEP, round_flop=SPREAD_MIN_ROUND_FLOP_IDLE_CORES, chains=3) == (1, 3, 1)


def test_explicit_settings_always_win():
    assert plan(threads=4, workers=1, cores=1, step_flop=TINY_STEP, round_flop=1e13, chains=10) == (4, 1, 4)
    assert plan(threads=1, workers=3, cores=1) == (1, 3, 1)
    # workers given, threads auto: the free cores shared out, the run's process keeps them all
    assert plan(workers=3, cores=7) == (7, 3, 2)
    assert plan(workers=4, cores=2) == (2, 4, 1)


def test_null_threads_mean_one_as_before_auto():
    assert plan(threads=None, cores=8, step_flop=BIG_STEP, round_flop=1e9, chains=2) == (1, 1, 1)


def test_a_gpu_trains_in_one_process_and_ray_takes_the_free_cores():
    assert plan(cores=8, device="cuda", step_flop=BIG_STEP, round_flop=1e13, chains=10) == (8, 1, 8)
    assert plan(workers=4, cores=8, device="cuda") == (8, 1, 8)
    assert plan(threads=1, cores=3, backend="ray") == (1, 3, 1)


def test_unknown_work_never_starts_workers():
    assert plan(cores=4, step_flop=None, round_flop=None, chains=10) == (4, 1, 4)


def test_the_plan_records_the_cores_auto_counted():
    assert plan_execution("auto", 2, 6) == ExecutionPlan(6, 2, 3, cores=6)
    assert plan_execution("auto", 2, 6).as_dict() == {"threads": 6, "workers": 2, "worker_threads": 3}
    assert plan_execution(1, 1, 6) == ExecutionPlan(1, 1, 1, None)  # nothing auto: no cores counted


@pytest.mark.parametrize("env, expected", [
    ({}, 6),
    ({"SEMNET_CPUS": "2"}, 2),  # a sweep point's budget
    ({"OMP_NUM_THREADS": "1"}, 1),  # the user's thread cap
    ({"SEMNET_CPUS": "4", "OMP_NUM_THREADS": "3"}, 3),
    ({"SEMNET_CPUS": "16"}, 6),  # a cap, never more than the free cores
    ({"SEMNET_CPUS": "0", "OMP_NUM_THREADS": "two"}, 6),  # not a count: ignored
])
def test_auto_cores_are_the_free_cores_under_the_environment_caps(env, expected):
    assert auto_cores(free=6, env=env) == expected


def test_free_cores_are_at_most_this_process_s_cores():
    assert 1 <= free_cores(sample_s=0.05) <= available_cores()
    assert 1 <= auto_cores(env={}) <= available_cores()


def test_a_resume_checkpoint_s_plan_is_read_back_only_when_well_formed():
    from semnet.runner import recorded_plan

    assert recorded_plan({"execution": {"threads": 2, "workers": 3, "worker_threads": 1}}) == ExecutionPlan(2, 3, 1)
    assert recorded_plan(None) is None
    assert recorded_plan({}) is None  # a checkpoint written before auto
    assert recorded_plan({"execution": {"threads": 0, "workers": 1, "worker_threads": 1}}) is None
    assert recorded_plan({"execution": {"threads": 2}}) is None
    assert recorded_plan({"execution": "2 threads"}) is None


def test_free_cores_follow_the_cores_busy_now_not_the_lagging_load_average(monkeypatch):
    from semnet.workers import cores

    monkeypatch.setattr(cores, "available_cores", lambda: 4)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (3.0, 3.0, 3.0))  # a run that just ended
    monkeypatch.setattr(cores, "_busy_now", lambda cpus, interval_s: 0.2)
    assert cores.free_cores() == 4
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # a run that just started
    monkeypatch.setattr(cores, "_busy_now", lambda cpus, interval_s: 2.6)
    assert cores.free_cores() == 1
    monkeypatch.setattr(cores, "_busy_now", lambda cpus, interval_s: None)  # no per-core counters
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (1.4, 1.0, 1.0))
    assert cores.free_cores() == 3


def _sample(at_s: float, per_cpu: dict, own_s: float):
    from semnet.workers.cores import CpuSample

    return CpuSample(at_s, per_cpu, own_s)


def test_the_cores_others_keep_busy_exclude_this_process_s_own_work():
    from semnet.workers.cores import others_busy

    first = _sample(10.0, {0: (1000, 400), 1: (1000, 900)}, own_s=3.0)
    # over 2 s: core 0 busy 150 of 200 ticks (0.75), core 1 busy 50 of 200 (0.25); this
    # process ran 0.6 CPU seconds meanwhile (0.3 of a core): the others kept 0.7 busy
    second = _sample(12.0, {0: (1200, 450), 1: (1200, 1050)}, own_s=3.6)
    assert others_busy(first, second, [0, 1]) == pytest.approx(0.7)
    assert others_busy(first, second, [1]) == 0.0  # never below zero
    assert others_busy(first, second, [0, 2]) is None  # a core the counters do not show


def test_an_open_window_spares_the_wait(monkeypatch):
    from semnet.workers import cores

    clock = [100.0]
    samples = iter([_sample(100.0, {0: (0, 0)}, 0.0), _sample(103.0, {0: (300, 300)}, 0.0)])
    monkeypatch.setattr(cores.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cores, "cpu_sample", lambda: next(samples))
    slept = []
    monkeypatch.setattr(cores.time, "sleep", slept.append)
    cores.open_busy_window()
    clock[0] = 103.0  # the run's imports took 3 s
    assert cores._busy_now([0], 0.5) == 0.0 and slept == []
    # used once: the next count samples again, waiting for its whole interval
    samples = iter([_sample(103.0, {0: (300, 300)}, 0.0), _sample(103.5, {0: (350, 325)}, 0.0)])
    assert cores._busy_now([0], 0.5) == pytest.approx(0.5) and slept == [0.5]


def test_a_stale_window_is_not_used(monkeypatch):
    from semnet.workers import cores

    clock = [0.0]
    samples = iter([_sample(0.0, {0: (0, 0)}, 0.0), _sample(500.0, {0: (100, 0)}, 0.0),
                    _sample(500.5, {0: (150, 50)}, 0.0)])
    monkeypatch.setattr(cores.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cores, "cpu_sample", lambda: next(samples))
    monkeypatch.setattr(cores.time, "sleep", lambda s: None)
    cores.open_busy_window()
    clock[0] = 500.0  # opened minutes ago: the load then says nothing about now
    assert cores._busy_now([0], 0.5) == 0.0  # measured from 500 s to 500.5 s, not from 0 s


def test_one_core_allowed_counts_nothing(monkeypatch):
    from semnet.workers import plan

    monkeypatch.setattr(plan, "free_cores", lambda: pytest.fail("counted the free cores"))
    assert auto_cores(env={"OMP_NUM_THREADS": "1"}) == 1
