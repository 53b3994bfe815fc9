"""``links.channel.doppler_speed: trajectory``: each link's small-scale fading follows its
ends' current speeds. Checked against closed forms over a two-leg trajectory (Gauss–Markov
``J0(2 pi f_D T)^(tau / T)``, Jakes ``J0(2 pi f_D tau)``, Akki & Haber's product for two
moving ends, the other end alone when one stands), the mobility models' path lengths, the
compiled packet loop's bits and the scenario key's one-line errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from scipy import special

from semnet.channels import make_fading
from semnet.channels.processes.doppler import doppler_hz
from semnet.channels.processes.timevarying import ChannelProcess
from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import ScenarioError
from semnet.net.largescale import LargeScale
from semnet.net.mobility import GaussMarkovMobility, Mobility, RandomWaypoint
from semnet.net.network import build_network
from semnet.scenario import validate
from semnet.scenario.schema import ChannelSpec, LinksSpec, MobilitySpec, RateSpec
from semnet.scenario.topology import topology_spec
from tests.cli.conftest import exchange_scenario, with_key
from tests.net.message_rounds import play_message_rounds

CARRIER_HZ = 2.4e9
LAG_S = 1e-3  # the Gauss–Markov T
SLOW_MPS, FAST_MPS, SIDE_MPS = 1.0, 10.0, 4.0
SWITCH_S = 5.0  # user 0 walks SLOW_MPS before, FAST_MPS after
REALISATIONS = 4000
TOL = 0.05  # about 4.5 Monte-Carlo standard deviations of a correlation over REALISATIONS links


class TwoLegs(Mobility):
    """User 0: a leg at SLOW_MPS until SWITCH_S, then one at FAST_MPS; user 1 stands;
    user 2 walks at SIDE_MPS throughout (straight lines along x, well inside the area)."""

    def _step(self, pos):
        k = len(self._track) - 1  # the step being made
        speed = np.array([SLOW_MPS if k * self.step_s < SWITCH_S else FAST_MPS, 0.0, SIDE_MPS])
        return pos + np.stack([speed * self.step_s, np.zeros(3)], axis=1)


def _process(correlation: str, doppler_speed: str = "trajectory") -> ChannelProcess:
    mobility = TwoLegs(np.array([[10.0, 10.0], [500.0, 500.0], [10.0, 900.0]]), area_m=10_000.0, step_s=1.0,
                       speed_mps=(SLOW_MPS, FAST_MPS))
    keys = [(0, 1), (0, 2), (0, "server"), (1, "server")]
    large = LargeScale(keys, mobility=mobility, aggregator="server", aggregator_pos_m=(0.0, 0.0),
                       links=LinksSpec(snr_db=10.0), carrier_hz=CARRIER_HZ, rng=np.random.default_rng(0))
    return ChannelProcess(large, make_fading(LinksSpec(fading="rayleigh")), time_correlation=correlation,
                          doppler_hz=doppler_hz(mobility.mean_speed_mps, CARRIER_HZ), step_s=LAG_S, sinusoids=16,
                          comparison_states=4, comparison_step_s=1.0, doppler_speed=doppler_speed,
                          carrier_hz=CARRIER_HZ)


def _correlation(process: ChannelProcess, key, times) -> np.ndarray:
    """Empirical E[g(t_0) g*(t_j)] over REALISATIONS independent links."""
    acc = np.zeros(len(times), dtype=complex)
    for r in range(REALISATIONS):
        g = process.scatter(key, np.random.default_rng(r)).at(np.asarray(times))
        acc += g[0] * np.conj(g)
    return acc / REALISATIONS


def _f(speed_mps: float) -> float:
    return speed_mps * CARRIER_HZ / 299_792_458.0


def _gm(f_hz: float, lag_s):
    """Gauss–Markov closed form: rho^(tau / T), rho = J0(2 pi f_D T)."""
    return special.j0(2 * math.pi * f_hz * LAG_S) ** (np.asarray(lag_s) / LAG_S)


def _jakes(f_hz: float, lag_s):
    return special.j0(2 * math.pi * f_hz * np.asarray(lag_s))


# (correlation, lags on the slow leg, lags on the fast leg, closed form of one end)
LEGS = [
    ("gauss_markov", [0.0, 0.3, 1.0, 2.0], [0.0, 0.005, 0.02, 0.05], _gm),
    ("jakes", [0.0, 0.01, 0.03, 0.05], [0.0, 0.001, 0.003, 0.005], _jakes),
]


@pytest.mark.parametrize("correlation, slow_lags, fast_lags, closed", LEGS, ids=[c[0] for c in LEGS])
@pytest.mark.parametrize("doppler_speed", ["trajectory", pytest.param("mean", marks=pytest.mark.xfail(
    strict=True, reason="the mutation: one mean speed for both legs misses each leg's closed form"))])
def test_each_leg_decorrelates_at_its_own_speed(correlation, slow_lags, fast_lags, closed, doppler_speed):
    """User 0 (two legs) to the aggregator: on each leg the scatter's correlation is the
    closed form at that leg's Doppler shift; with one mean speed (the old behaviour) it is
    not, which the strict xfail checks."""
    process = _process(correlation, doppler_speed)
    mean_hz = _f(0.5 * (SLOW_MPS + FAST_MPS))
    for start, lags, speed in ((1.0, slow_lags, SLOW_MPS), (6.2, fast_lags, FAST_MPS)):
        est = _correlation(process, (0, "server"), start + np.array(lags))
        np.testing.assert_allclose(est.real, closed(_f(speed), lags), atol=TOL)
        assert np.all(np.abs(est.imag) < TOL)
        # the mean speed's closed form is far from this leg's: the check can tell them apart
        assert np.max(np.abs(closed(_f(speed), lags) - closed(mean_hz, lags))) > 4 * TOL


@pytest.mark.parametrize("correlation, closed", [("gauss_markov", _gm), ("jakes", _jakes)])
def test_a_standing_end_leaves_the_other_ends_doppler_and_two_moving_ends_multiply(correlation, closed):
    """User 1 stands: link 0 -> 1 fades as user 0 alone (the uplink's closed form); link
    0 -> 2 has two moving ends: Akki & Haber's product; two standing ends: a constant gain."""
    process = _process(correlation)
    lags = [0.0, 0.004, 0.012] if correlation == "jakes" else [0.0, 0.01, 0.03]
    times = 6.2 + np.array(lags)
    f_fast, f_side = _f(FAST_MPS), _f(SIDE_MPS)
    np.testing.assert_allclose(_correlation(process, (0, 1), times).real, closed(f_fast, lags), atol=TOL)
    np.testing.assert_allclose(_correlation(process, (0, 2), times).real,
                               closed(f_fast, lags) * closed(f_side, lags), atol=TOL)
    g = process.scatter((1, "server"), np.random.default_rng(0)).at(times)
    np.testing.assert_allclose(g, g[0], rtol=1e-12)


@pytest.mark.parametrize("correlation, slow_s, fast_s", [("gauss_markov", 0.2, 0.01), ("jakes", 0.015, 0.0015)])
def test_a_lag_across_the_change_of_speed_adds_each_legs_share(correlation, slow_s, fast_s):
    """``slow_s`` before the change of speed and ``fast_s`` after: Gauss–Markov multiplies
    each leg's rho^(overlap / T); Jakes turns by the cycles each leg adds, J0(2 pi (f_1 d_1 + f_2 d_2))."""
    process = _process(correlation)
    est = _correlation(process, (0, "server"), [SWITCH_S - slow_s, SWITCH_S + fast_s]).real[1]
    f1, f2 = _f(SLOW_MPS), _f(FAST_MPS)
    if correlation == "gauss_markov":
        expected = _gm(f1, slow_s) * _gm(f2, fast_s)
    else:
        expected = special.j0(2 * math.pi * (f1 * slow_s + f2 * fast_s))
    assert 0.3 < expected < 0.7  # both legs matter
    assert est == pytest.approx(expected, abs=TOL)


# ---------------------------------------------------------------- the trajectories' speeds


def test_random_waypoint_speed_is_the_walked_path_not_the_displacement():
    """No pauses, one speed: every step's path is v * step_s, turns at waypoints included
    (the displacement would be shorter in a step with a turn); with pauses it is lower."""
    walk = RandomWaypoint(np.full((50, 2), 5.0), area_m=20.0, step_s=1.0, speed_mps=(3.0, 3.0),
                          rng=np.random.default_rng(1))
    speeds = np.array([walk.speeds_mps(k) for k in range(40)])
    np.testing.assert_allclose(speeds, 3.0, rtol=1e-12)
    moved = np.array([np.hypot(*(walk.positions(k + 1) - walk.positions(k)).T) for k in range(40)])
    assert (moved < 3.0 - 1e-6).mean() > 0.05  # turns inside steps happen: displacement would miss them
    paused = RandomWaypoint(np.full((50, 2), 5.0), area_m=20.0, step_s=1.0, speed_mps=(3.0, 3.0),
                            pause_s=(0.5, 2.0), rng=np.random.default_rng(1))
    speeds = np.array([paused.speeds_mps(k) for k in range(40)])
    assert speeds.max() <= 3.0 + 1e-12 and (speeds < 3.0 - 1e-6).mean() > 0.2 and (speeds == 0.0).any()


def test_gauss_markov_speed_is_its_speed_process_through_the_walls():
    gm = GaussMarkovMobility(np.full((30, 2), 5.0), area_m=10.0, step_s=1.0, speed_mps=(1.0, 3.0),
                             rng=np.random.default_rng(2))
    speeds = np.array([gm.speeds_mps(k) for k in range(200)])
    assert speeds.min() >= 1.0 and speeds.max() <= 3.0
    assert speeds.mean() == pytest.approx(2.0, abs=0.1)
    assert speeds.std() > 0.1  # it changes step to step


# ---------------------------------------------------------------- the network and the compiled loop


def _network(doppler_speed: str, correlation: str = "gauss_markov", fading: str = "rayleigh"):
    mobility = MobilitySpec(model="gauss_markov", speed_mps=(0.5, 30.0), alpha=0.3, step_s=0.01)
    top = topology_spec(kind="ring", num_users=6, area_m=300.0, mobility=mobility)
    links = LinksSpec(fading=fading, k_factor=3.0, rate=RateSpec(mode="shannon", backoff=0.8, max_retries=1),
                      channel=ChannelSpec(time_correlation=correlation, gauss_markov_step_s=0.001,
                                          shadowing_std_db=4.0, carrier_hz=3.5e9, doppler_speed=doppler_speed))
    return build_network(top, links, seed=1)


def _play(net, rounds: int = 10):
    return play_message_rounds(net, rounds)


@pytest.mark.parametrize("fading", ["rayleigh", "rician"])
def test_the_compiled_packet_loop_gives_the_numpy_loops_bits_with_trajectory_doppler(monkeypatch, fading):
    """Messages span many 10 ms mobility steps, so their attempts cross changes of speed:
    compiled and numpy loops still write the same events and leave the same state."""
    from semnet.net import arq_compiled

    if arq_compiled.attempts is None:
        pytest.skip("numba is not installed: only the numpy loop runs")
    fast, fast_sim = _play(_network("trajectory", fading=fading))
    monkeypatch.setattr(arq_compiled, "attempts", None)
    slow, slow_sim = _play(_network("trajectory", fading=fading))
    monkeypatch.undo()
    assert [json.dumps(r, sort_keys=True) for r in fast] == [json.dumps(r, sort_keys=True) for r in slow]
    assert any(r["outcome"] == "outage" for r in fast) and sum(r["attempts"] for r in fast) > 3000
    assert repr(fast_sim.state()["queues"]) == repr(slow_sim.state()["queues"])
    assert fast_sim.network.channel.track._count > 20  # the messages crossed dozens of 10 ms mobility steps


def test_trajectory_doppler_changes_the_runs_and_reports_each_links_time_average():
    mean, traj = _network("mean"), _network("trajectory")
    assert [r["attempts"] for r in _play(mean, 3)[0]] != [r["attempts"] for r in _play(traj, 3)[0]]
    process = traj.channel
    f_a, f_b = process.ends_doppler_hz((0, 1))
    track = process.track
    steps = round(process.horizon_s / track.step_s)
    expected = np.mean([track.doppler_hz(k)[0] for k in range(steps)])
    assert f_a == pytest.approx(expected, rel=1e-9) and f_b > 0
    assert process.ends_doppler_hz((0, traj.aggregator))[1] == 0.0


# ---------------------------------------------------------------- the scenario key


def test_doppler_speed_defaults_to_mean_and_bad_values_are_one_line(tmp_path, capsys):
    assert validate(exchange_scenario()).links.channel.doppler_speed == "mean"
    cases = [
        ({"doppler_speed": "current"}, "links.channel.doppler_speed"),
        ({"doppler_speed": "trajectory", "speed_mps": 3.0, "time_correlation": "jakes"},
         "links.channel.speed_mps = 3.0: is one Doppler speed for every user"),
        ({"doppler_speed": "trajectory"},
         "links.channel.doppler_speed = 'trajectory': applies to a time correlation with memory"),
    ]
    for channel, expected in cases:
        raw = with_key(exchange_scenario(), "links.channel", channel)
        with pytest.raises(ScenarioError) as info:
            scenario = validate(raw)
            build_network(scenario.topology, scenario.links, scenario.seed)
        assert expected in str(info.value)
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(raw))
        assert main(["validate", str(path)]) == EXIT_USER_ERROR
        [line] = capsys.readouterr().err.splitlines()
        assert expected in line and ("mean" in line and "trajectory" in line)


def test_a_packet_stretch_splits_where_the_doppler_changes():
    """LinkDopplerTrack.stretch (the packet loop's coefficients) against a brute force over
    every attempt, on Gauss–Markov users whose speed changes every 10 ms step: the pieces
    hold the times of one grid step each, and the coefficients are the track's
    coefficient() between those times (edges of steps included)."""
    track = _network("trajectory").channel.link_track((0, 1))
    step = track.step_s
    assert len({track.rho(k) for k in range(50)}) > 40  # rho changes from step to step
    rng = np.random.default_rng(5)
    starts = np.concatenate([rng.uniform(0.0, 40 * step, 400), np.arange(1, 40) * step - 1e-12,
                             np.arange(1, 40) * step])
    for start in starts:
        spacing = step * float(rng.choice([0.0, 0.03, 0.4, 1.0, 2.5]))
        n = int(rng.integers(1, 60))
        from_s = max(0.0, start - step * float(rng.choice([0.0, 0.2, 0.9, 3.0])))
        used, count, a0, a, a_cross, a2 = track.stretch(from_s, start, spacing, n)
        times = start + spacing * np.arange(n)
        steps = [track.index(t) for t in times]
        assert 1 <= count <= used <= n
        assert set(steps[:count]) == {steps[0]} and (count == n or steps[count] != steps[0])
        assert a0 == pytest.approx(track.coefficient(from_s, start), rel=1e-12)
        if count > 1:
            assert a == pytest.approx(track.coefficient(times[0], times[1]), rel=1e-12)
        if used > count:
            assert set(steps[count:used]) == {steps[count]} and (used == n or steps[used] != steps[count])
            assert a_cross == pytest.approx(track.coefficient(times[count - 1], times[count]), rel=1e-12)
            if used > count + 1:
                assert a2 == pytest.approx(track.coefficient(times[count], times[count + 1]), rel=1e-12)
        else:
            assert used == n
