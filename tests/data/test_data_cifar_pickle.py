import pickle

import numpy as np
import pytest
import torch

from semnet.data import load_cifar10_pickle
from semnet.errors import DataError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    """A tiny file set in torchvision's layout; checksums are bypassed (they pin the real files)."""
    import torchvision.datasets.cifar as cifar

    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(0)
    names = [name for name, _ in cifar.CIFAR10.train_list + cifar.CIFAR10.test_list]
    for i, name in enumerate(names):
        data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
        with open(base / name, "wb") as f:
            pickle.dump({"data": data, "labels": [i, 9 - i]}, f)
    with open(base / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CLASSES}, f)
    monkeypatch.setattr(cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)
    return tmp_path


def test_reads_torchvision_layout(fake_cifar):
    train = load_cifar10_pickle(fake_cifar)
    test = load_cifar10_pickle(fake_cifar / "cifar-10-batches-py", split="test")
    assert train.images.shape == (10, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.tolist() == [0, 9, 1, 8, 2, 7, 3, 6, 4, 5]
    assert test.labels.tolist() == [5, 4] and test.class_names == tuple(CLASSES)
    with open(fake_cifar / "cifar-10-batches-py" / "test_batch", "rb") as f:
        raw = pickle.load(f)["data"][0]
    assert torch.equal(test.images[0], torch.from_numpy(raw.reshape(3, 32, 32)))


def test_missing_data_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10_pickle(tmp_path / "nope")
    with pytest.raises(DataError, match="no intact CIFAR-10 python data"):
        load_cifar10_pickle(tmp_path)


def test_bad_split_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="split 'val'.*train, test"):
        load_cifar10_pickle(tmp_path, split="val")
