"""Partition kinds dispatch through ``semnet.registry.partitioners``: the built-in
parts are exactly those of the code before the registry, and a plugin partitioner
(plain, or a class-share matrix through ``class_shares``) is reached by name."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from semnet.data import PARTITION_KINDS, PartitionRequest, class_shares, partition, partition_pair
from semnet.data.partition import validate_options
from semnet.errors import DataError
from semnet.registry import partitioners
from semnet.scenario.data import BUILTIN_PARTITIONS

TRAIN = np.repeat(np.arange(4), 5)
TEST = np.repeat(np.arange(4), 3)

# Computed with the code before the registry: partition_pair(TRAIN, TEST, 3, kind=..., seed=1,
# alpha=1.0, classes_per_user=2) -> (train parts, test parts).
PAIRS = {
    'iid': (
        [[8, 1, 18, 14, 17, 7, 9], [16, 4, 10, 2, 5, 12, 6], [15, 3, 0, 11, 19, 13]],
        [[0, 9, 10, 5], [3, 1, 4, 8], [6, 11, 2, 7]],
    ),
    'dirichlet': (
        [[8, 6, 2, 1, 12, 19, 7, 14, 9], [10, 13, 16, 15, 4, 17], [18, 5, 11, 3, 0]],
        [[2, 5, 4, 7, 9], [8, 3, 11, 1], [10, 0, 6]],
    ),
    'classes': (
        [[2, 18, 0, 16], [13, 11, 10, 8, 12, 7, 9, 14, 6, 5], [17, 19, 1, 15, 3, 4]],
        [[9, 0, 11, 2], [7, 4, 8, 3, 5, 6], [10, 1]],
    ),
    'source': (
        [[19, 8, 16, 5, 18, 6, 15, 9, 17, 7], [1, 2, 4, 0, 3], [14, 12, 13, 11, 10]],
        [[9, 5, 11, 10, 4, 3], [2, 1, 0], [8, 6, 7]],
    ),
}

# partition(TRAIN, 2, kind=..., seed=8, alpha=0.5, classes_per_user=1)
SINGLES = {
    'iid': [[11, 1, 17, 5, 2, 4, 0, 12, 18, 8], [14, 19, 16, 3, 10, 13, 15, 7, 9, 6]],
    'dirichlet': [[9, 2, 11, 1], [3, 0, 17, 12, 10, 5, 16, 6, 4, 8, 7, 18, 13, 19, 15, 14]],
    'classes': [[8, 7, 9, 6, 5], [14, 10, 12, 13, 11]],
    'source': [[6, 5, 7, 0, 8, 2, 1, 3, 4, 9], [10, 11, 17, 12, 19, 13, 14, 18, 15, 16]],
}


@pytest.mark.parametrize("kind", PARTITION_KINDS)
def test_builtin_parts_are_unchanged(kind):
    train, test = partition_pair(TRAIN, TEST, 3, kind=kind, seed=1, alpha=1.0, classes_per_user=2)
    assert [p.tolist() for p in train] == PAIRS[kind][0]
    assert [p.tolist() for p in test] == PAIRS[kind][1]
    assert all(p.dtype == np.int64 for p in train + test)
    alone = partition(TRAIN, 2, kind=kind, seed=8, alpha=0.5, classes_per_user=1)
    assert [p.tolist() for p in alone] == SINGLES[kind]


def test_builtin_kinds_are_registered_in_order():
    assert PARTITION_KINDS == BUILTIN_PARTITIONS
    assert partitioners.names()[: len(PARTITION_KINDS)] == list(PARTITION_KINDS)
    assert all(partitioners.describe()[kind] for kind in PARTITION_KINDS)


def test_builtin_kinds_take_no_options():
    assert validate_options("iid", None) == {}
    with pytest.raises(DataError, match="'dirichlet' is built in and takes no options"):
        partition(TRAIN, 2, kind="dirichlet", seed=0, options={"beta": 1})
    with pytest.raises(DataError, match=r"partition kind 'zipf' is not allowed; allowed: iid, dirichlet"):
        validate_options("zipf", {})


# --------------------------------------------------------------------------- plugins


@pytest.fixture
def register():
    """Register partitioners for one test only (the registry is process-wide)."""
    added = []

    def add(name, partitioner, description="a test partitioner"):
        partitioners.add(name, partitioner, description)
        added.append(name)
        return partitioner

    yield add
    for name in added:
        partitioners._entries.pop(name, None)


def test_a_registered_partitioner_is_reached_by_name(register):
    seen = []

    def halves(request: PartitionRequest):
        """Users take consecutive runs of a shuffled order; options.reverse flips it."""
        seen.append(request)
        order = request.rng("train").permutation(len(request.train_labels))
        if request.options.get("reverse"):
            order = order[::-1]
        test = request.test_labels
        return (np.array_split(order, request.num_users),
                [] if test is None else np.array_split(np.arange(len(test)), request.num_users))

    register("test_halves", halves)
    parts = partition(TRAIN, 2, kind="test_halves", seed=5, options={"reverse": True})
    assert sorted(np.concatenate(parts).tolist()) == list(range(20))
    assert seen[-1].options == {"reverse": True} and seen[-1].alpha == 0.5 and seen[-1].min_size == 1
    again = partition(TRAIN, 2, kind="test_halves", seed=5, options={"reverse": True})
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    train, test = partition_pair(TRAIN, TEST, 3, kind="test_halves", seed=5)
    assert [len(p) for p in test] == [4, 4, 4] and all(p.dtype == np.int64 for p in train + test)


def test_class_shares_gives_a_plugin_matching_test_splits(register):
    @class_shares
    def first_user_gets_even_classes(request, classes):
        def draw(rng):
            shares = np.zeros((len(classes), request.num_users))
            shares[classes % 2 == 0, 0] = 1.0
            shares[classes % 2 == 1, 1:] = 1.0 / (request.num_users - 1)
            return shares
        return draw

    register("test_even", first_user_gets_even_classes)
    train, test = partition_pair(TRAIN, TEST, 3, kind="test_even", seed=0)
    assert set(TRAIN[train[0]]) == {0, 2} and set(TEST[test[0]]) == {0, 2}
    assert set(TRAIN[train[1]]) == set(TRAIN[train[2]]) == {1, 3}
    with pytest.raises(DataError, match=r"test_even partition of 20 images among 3 users cannot give every user 6"):
        partition(TRAIN, 3, kind="test_even", seed=0, min_size=6)


def test_an_options_model_is_checked_and_handed_over(register):
    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        reverse: bool = False

    def iid_like(request):
        assert isinstance(request.options, Options)
        parts = np.array_split(np.arange(len(request.train_labels)), request.num_users)
        return (parts[::-1] if request.options.reverse else parts), []

    iid_like.Options = Options
    register("test_model_options", iid_like)
    assert partition(TRAIN, 2, kind="test_model_options", seed=0, options={"reverse": True})[0][0] == 10
    assert validate_options("test_model_options", {}).reverse is False
    with pytest.raises(ValidationError, match="Extra inputs"):
        validate_options("test_model_options", {"flip": True})


@pytest.mark.parametrize(
    ("parts", "match"),
    [
        (lambda n: [np.arange(n)], r"returned list .* a list of 2 index arrays"),
        (lambda n: [np.arange(10), np.arange(10, 20.0)], r"gave user 1 training indices of shape \(10,\) dtype float64"),
        (lambda n: [np.arange(0), np.arange(20)], r"gave user 0 0 training images; every user needs at least 1"),
        (lambda n: [np.arange(10), np.arange(10, 21)], r"gave training indices outside 0..19"),
        (lambda n: [np.arange(11), np.arange(10, 20)], r"gave some training image to more than one user"),
    ],
)
def test_a_partitioner_breaking_the_contract_is_named(register, parts, match):
    register("test_broken", lambda request: (parts(len(request.train_labels)), []))
    with pytest.raises(DataError, match=r"partitioner 'test_broken'.*" + match):
        partition(TRAIN, 2, kind="test_broken", seed=0)
