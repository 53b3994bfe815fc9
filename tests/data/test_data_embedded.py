import numpy as np
import pytest
import torch

from semnet.data import load_embedded
from semnet.data.embedded import EMBEDDED_SOURCES, _build
from semnet.errors import DataError


def test_sizes_dtypes_and_labels():
    train, test = load_embedded()
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (3, 32, 32)
    assert test.images.dtype == torch.uint8 and test.images.shape[1:] == (3, 32, 32)
    assert train.labels.dtype == torch.int64
    assert 3000 <= len(train) <= 12000
    assert 200 <= len(test) <= 1500
    assert train.class_names == test.class_names == EMBEDDED_SOURCES
    assert len(EMBEDDED_SOURCES) >= 8
    # every source appears in both splits
    assert set(train.labels.tolist()) == set(test.labels.tolist()) == set(range(len(EMBEDDED_SOURCES)))


def test_is_cached_and_deterministic():
    first = load_embedded()
    assert load_embedded() is first
    fresh = _build.__wrapped__(32, 0)  # bypasses the lru_cache: a genuine second build
    assert fresh is not first
    for a, b in zip(first, fresh):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_no_patch_in_both_splits():
    train, test = load_embedded()
    seen = {bytes(p) for p in train.images.numpy()}
    assert not any(bytes(p) in seen for p in test.images.numpy())


def test_patches_are_not_flat():
    train, test = load_embedded()
    for s in (train, test):
        std = s.images.reshape(len(s), -1).float().std(dim=1)
        assert float(std.min()) >= 1.5


def test_seed_changes_the_fold_and_patch_size_is_honoured():
    base_train, base_test = load_embedded()
    other_train, other_test = load_embedded(seed=1)
    assert len(other_test) != len(base_test) or not torch.equal(other_test.images, base_test.images)
    small_train, small_test = load_embedded(patch_size=16)
    assert small_train.images.shape[1:] == (3, 16, 16)
    assert len(small_train) > len(base_train)


def test_impossible_patch_size_is_a_data_error():
    with pytest.raises(DataError, match="patch_size 1000"):
        load_embedded(patch_size=1000)


def test_sources_are_non_iid():
    train, _ = load_embedded()
    means = np.stack([train.images[train.labels == c].float().mean(dim=(0, 2, 3)).numpy()
                      for c in range(len(train.class_names))])
    assert np.ptp(means, axis=0).max() > 40  # colour statistics differ strongly between photos


def test_validate_knows_the_largest_embedded_patch():
    """``data.image_size`` with the embedded source is bounded in the schema (no data
    there): the bound is the largest multiple of 4 the photographs allow."""
    from semnet.data.embedded import _TEST_FOLDS, _load_photos
    from semnet.scenario.data import EMBEDDED_MAX_IMAGE_SIZE

    largest = min(min(p.shape[0], p.shape[1] // _TEST_FOLDS) for p in _load_photos().values())
    assert EMBEDDED_MAX_IMAGE_SIZE == largest - largest % 4
