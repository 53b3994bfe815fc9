import numpy as np
import pytest
import torch

from semnet.data import ImageSet


def _set(n=6):
    images = torch.arange(n * 3 * 2 * 2, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(n, 3, 2, 2)
    return ImageSet(images, torch.arange(n, dtype=torch.int64) % 3, ("a", "b", "c"))


def test_len_nbytes_and_subset_order():
    s = _set()
    assert len(s) == 6
    assert s.nbytes == 6 * 12 + 6 * 8
    sub = s.subset(np.array([4, 1, 1]))
    assert sub.labels.tolist() == [1, 1, 1]
    assert torch.equal(sub.images[0], s.images[4])
    assert sub.class_names == s.class_names
    assert torch.equal(s.subset(torch.tensor([2])).images, s.images[2:3])
    assert torch.equal(s.subset([]).images, s.images[:0])


def test_is_frozen_and_class_names_become_tuple():
    s = ImageSet(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), torch.zeros(1, dtype=torch.int64), ["x"])
    assert s.class_names == ("x",)
    with pytest.raises(AttributeError):
        s.labels = torch.zeros(1, dtype=torch.int64)


@pytest.mark.parametrize("images, labels", [
    (torch.zeros(2, 3, 2, 2), torch.zeros(2, dtype=torch.int64)),                # float images
    (torch.zeros(2, 1, 2, 2, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64)),  # one channel
    (torch.zeros(2, 3, 2, 2, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64)),  # length mismatch
    (torch.zeros(2, 3, 2, 2, dtype=torch.uint8), torch.full((2,), 5, dtype=torch.int64)),  # label out of range
])
def test_rejects_malformed_tensors(images, labels):
    with pytest.raises((TypeError, ValueError)):
        ImageSet(images, labels, ("a", "b"))
