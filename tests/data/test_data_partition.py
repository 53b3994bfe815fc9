import numpy as np
import pytest

from semnet.data import PARTITION_KINDS, partition, partition_pair
from semnet.errors import DataError

LABELS = np.repeat(np.arange(10), 100)  # 10 classes x 100 images
TEST_LABELS = np.repeat(np.arange(10), 20)


def _entropy(labels: np.ndarray, num_classes: int = 10) -> float:
    p = np.bincount(labels, minlength=num_classes) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _assert_disjoint(parts, n, covering=True):
    joined = np.concatenate(parts)
    assert len(joined) == len(np.unique(joined))
    assert joined.min() >= 0 and joined.max() < n
    if covering:
        assert len(joined) == n
    assert all(p.dtype == np.int64 for p in parts)


@pytest.mark.parametrize("kind", PARTITION_KINDS)
@pytest.mark.parametrize("num_users", [1, 3, 10, 17])
def test_disjoint_covering_and_reproducible(kind, num_users):
    parts = partition(LABELS, num_users, kind=kind, seed=5, classes_per_user=2)
    assert len(parts) == num_users
    covering = not (kind == "classes" and num_users * 2 < 10)
    _assert_disjoint(parts, len(LABELS), covering)
    assert all(len(p) >= 1 for p in parts)
    again = partition(LABELS, num_users, kind=kind, seed=5, classes_per_user=2)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


@pytest.mark.parametrize("kind", PARTITION_KINDS)
def test_seed_matters(kind):
    a = partition(LABELS, 4, kind=kind, seed=0)
    b = partition(LABELS, 4, kind=kind, seed=1)
    assert any(not np.array_equal(x, y) for x, y in zip(a, b))


def test_iid_sizes_equal():
    sizes = [len(p) for p in partition(LABELS, 7, kind="iid", seed=0)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(LABELS)


def test_dirichlet_small_alpha_skews_labels_more():
    def mean_entropy(alpha):
        return np.mean([_entropy(LABELS[p]) for p in partition(LABELS, 10, kind="dirichlet", seed=3, alpha=alpha)])

    skewed, flat = mean_entropy(0.1), mean_entropy(100.0)
    assert skewed < 0.6 * flat
    assert flat > 0.95 * np.log(10)


def test_dirichlet_min_size_respected():
    parts = partition(LABELS, 20, kind="dirichlet", seed=0, alpha=0.3, min_size=20)
    assert min(len(p) for p in parts) >= 20


@pytest.mark.parametrize("k", [1, 2, 3])
def test_classes_per_user_respected(k):
    parts = partition(LABELS, 10, kind="classes", seed=2, classes_per_user=k)
    assert all(len(np.unique(LABELS[p])) == k for p in parts)
    assert len(np.unique(LABELS[np.concatenate(parts)])) == 10  # round-robin covers every class


def test_source_partition_users_fewer_and_more_than_sources():
    few = partition(LABELS, 3, kind="source", seed=0)
    owned = [set(np.unique(LABELS[p])) for p in few]
    assert sorted(len(o) for o in owned) == [3, 3, 4]
    for p in few:  # each source goes whole to one user
        assert all(np.count_nonzero(LABELS[p] == c) == 100 for c in np.unique(LABELS[p]))
    many = partition(LABELS, 20, kind="source", seed=0)
    assert all(len(np.unique(LABELS[p])) == 1 for p in many)
    assert all(len(p) == 50 for p in many)


@pytest.mark.parametrize("kind", PARTITION_KINDS)
def test_pair_test_split_follows_train_distribution(kind):
    train, test = partition_pair(LABELS, TEST_LABELS, 5, kind=kind, seed=4, alpha=0.2)
    _assert_disjoint(train, len(LABELS), kind != "classes")
    _assert_disjoint(test, len(TEST_LABELS), kind != "classes")
    if kind == "iid":
        assert {len(te) for te in test} == {40}
        return
    for tr, te in zip(train, test):
        assert len(te) >= 1
        p = np.bincount(LABELS[tr], minlength=10) / len(tr)
        q = np.bincount(TEST_LABELS[te], minlength=10) / len(te)
        assert 0.5 * np.abs(p - q).sum() < 0.2  # total variation distance
    assert all(set(LABELS[tr]) >= set(TEST_LABELS[te]) for tr, te in zip(train, test))


def test_parts_are_shuffled_so_prefixes_mix_classes():
    for kind in ("dirichlet", "classes", "source"):
        for part in partition(LABELS, 3, kind=kind, seed=0, alpha=100.0, classes_per_user=3):
            head = LABELS[part[:30]]
            assert len(np.unique(head)) > 1, kind


def test_pair_train_parts_match_plain_partition():
    train, _ = partition_pair(LABELS, TEST_LABELS, 4, kind="classes", seed=9)
    alone = partition(LABELS, 4, kind="classes", seed=9)
    assert all(np.array_equal(a, b) for a, b in zip(train, alone))


@pytest.mark.parametrize("call, match", [
    (lambda: partition(LABELS, 4, kind="zipf", seed=0), "kind 'zipf'.*iid, dirichlet, classes, source"),
    (lambda: partition(LABELS, 0, kind="iid", seed=0), "num_users 0"),
    (lambda: partition(LABELS, 1001, kind="iid", seed=0), "1001 users"),
    (lambda: partition(LABELS, 4, kind="dirichlet", seed=0, alpha=0.0), "alpha 0.0"),
    (lambda: partition(LABELS, 4, kind="classes", seed=0, classes_per_user=11), r"classes_per_user 11.*1\.\.10"),
    (lambda: partition(LABELS, 200, kind="dirichlet", seed=0, alpha=0.01, min_size=5), "fewer than 5"),
    (lambda: partition(LABELS, 15, kind="source", seed=0, min_size=60), "cannot give every user 60"),
    (lambda: partition_pair(LABELS, TEST_LABELS[:3], 4, kind="iid", seed=0), "test image"),
    (lambda: partition(np.array([], dtype=np.int64), 2, kind="iid", seed=0), "of 0 images"),
])
def test_impossible_requests_raise_one_line_data_errors(call, match):
    with pytest.raises(DataError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
