"""Robust aggregation rules and faults against hand computations."""

import pytest
import torch

from semnet.fl.algorithms.robust import (coordinate_median, krum_scores, krum_selection, pairwise_squared_distances,
                                         trimmed_count, trimmed_mean)
from semnet.fl.algorithms.rules import make_rule
from semnet.fl.loop.faults import Faults, corrupted
from semnet.registry import aggregators
from semnet.scenario.robust import FaultsSpec


def _updates(*rows):
    """One update per row, split into two tensors (a 2-vector and a scalar) to check the layout."""
    return [[torch.tensor(r[:2], dtype=torch.float32), torch.tensor(r[2], dtype=torch.float32)] for r in rows]


def _flat(update):
    return [round(v, 6) for t in update for v in t.reshape(-1).tolist()]


def test_median_of_an_odd_count_is_the_middle_value_per_coordinate():
    ups = _updates([1, 10, 0], [5, -3, 2], [2, 4, -7])
    assert _flat(coordinate_median(ups)) == [2, 4, 0]


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values():
    # column 0: 1 2 5 100 -> (2 + 5) / 2; column 1: -3 0 4 10 -> 2; column 2: 3 3 3 7 (tie) -> 3
    ups = _updates([1, 10, 3], [5, -3, 3], [2, 4, 7], [100, 0, 3])
    assert _flat(coordinate_median(ups)) == [3.5, 2, 3]


def test_trimmed_mean_drops_floor_beta_n_at_each_end():
    ups = _updates([1, 2, 2], [2, 2, 2], [3, 2, 9], [4, 2, -9], [100, 2, 2])
    # beta 0.2 of 5: one at each end -> column 0 mean(2, 3, 4); column 2 (ties) -> mean(2, 2, 2)
    assert _flat(trimmed_mean(ups, 0.2)) == [3, 2, 2]
    # beta 0.39: floor(1.95) = 1, the same; beta 0.4: two at each end -> the median
    assert _flat(trimmed_mean(ups, 0.39)) == [3, 2, 2]
    assert _flat(trimmed_mean(ups, 0.4)) == [3, 2, 2]
    assert _flat(trimmed_mean(_updates([0, 0, 0], [1, 1, 1], [5, 5, 5], [10, 10, 10]), 0.25)) == [3, 3, 3]


def test_trimmed_count_is_the_floor_despite_binary_fractions():
    assert [trimmed_count(n, b) for n, b in [(5, 0.2), (10, 0.3), (10, 0.7 / 2), (100, 0.29), (6, 0.1)]] == \
        [1, 3, 3, 29, 0]


def test_krum_scores_and_selection_match_a_hand_computation():
    # 1-D updates 0, 1, 2, 3, 100 split as (x, 0) + 0; n = 5, f = 1: each scores its 2 nearest
    ups = _updates(*[[x, 0, 0] for x in (0, 1, 2, 3, 100)])
    assert krum_scores(ups, 1) == [5.0, 2.0, 2.0, 5.0, 97.0 ** 2 + 98.0 ** 2]
    assert krum_selection(ups, 1) == [1]  # 1 and 2 tie at 2: the lower index wins
    assert krum_selection(ups, 1, selected=3) == [1, 2, 0]
    assert _flat(make_rule("krum", {"faulty": 1}).combine(ups, [1] * 5)) == [1, 0, 0]
    # Multi-Krum averages the chosen ones (1, 2, 0) by their weights: (1 x 1 + 2 x 3 + 0 x 9) / 13
    assert _flat(make_rule("krum", {"faulty": 1, "selected": 3}).combine(ups, [9, 1, 3, 4, 9])) == [round(7 / 13, 6), 0, 0]


def test_krum_distances_span_every_tensor_of_an_update():
    ups = _updates([0, 0, 0], [3, 0, 4], [0, 1, 0])
    assert pairwise_squared_distances(ups).tolist() == [[0, 25, 1], [25, 0, 9 + 1 + 16], [1, 26, 0]]


def test_rules_are_registered_and_check_their_client_counts():
    assert {"mean", "median", "trimmed_mean", "krum"} <= set(aggregators.names())
    assert make_rule("krum", {"faulty": 1}).check_clients(5) is None
    assert "more than 2 x 1 + 2 = 4" in make_rule("krum", {"faulty": 1}).check_clients(4)
    assert "selected <= 4" in make_rule("krum", {"faulty": 1, "selected": 5}).check_clients(5)
    assert make_rule("trimmed_mean", {"trim_fraction": 0.2}).check_clients(5) is None
    assert "trims none" in make_rule("trimmed_mean", {"trim_fraction": 0.2}).check_clients(4)
    with pytest.raises(ValueError):
        make_rule("median", {"faulty": 1})  # takes no options


def test_the_mean_rule_is_the_data_weighted_mean():
    ups = _updates([1, 0, 0], [4, 0, 0])
    assert _flat(make_rule("mean").combine(ups, [2, 1])) == [2, 0, 0]


def test_corruptions_follow_their_definitions():
    u = [torch.tensor([1.0, -2.0]), torch.tensor(3.0)]
    assert _flat(corrupted(u, "sign_flip")) == [-1, 2, -3]
    assert _flat(corrupted(u, "scaled", factor=-2.5)) == [-2.5, 5, -7.5]
    big = [torch.zeros(200_000)]
    noisy = corrupted(big, "gaussian", std=0.3, generator=torch.Generator().manual_seed(1))[0]
    assert abs(noisy.std().item() - 0.3) < 0.003 and abs(noisy.mean().item()) < 0.003


def test_faults_touch_only_the_listed_users_and_steps_and_replay_their_noise():
    spec = FaultsSpec(users=[2], kind="gaussian", std=1.0, steps=["decoders"])

    def gen(*purpose):
        return torch.Generator().manual_seed(hash(purpose) % 1000)

    faults = Faults(spec, gen)
    u = [torch.zeros(4)]
    assert faults.apply(u, 1, "decoders", 0)[0].tolist() == [0.0] * 4
    assert faults.apply(u, 2, "global", 0)[0].tolist() == [0.0] * 4
    first, again = faults.apply(u, 2, "decoders", 0)[0], faults.apply(u, 2, "decoders", 0)[0]
    assert first.abs().sum() > 0 and torch.equal(first, again)
    assert faults.any_in("decoders") and not faults.any_in("global")
    assert not Faults(None, gen).any_in("global")
