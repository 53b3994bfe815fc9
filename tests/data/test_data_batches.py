import pytest
import torch

from semnet.data import BatchStream, ImageSet, iterate_once
from semnet.errors import DataError


def _images(n=10, h=4, w=4):
    # image i is filled with value i, so batches reveal which images they hold
    return torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, h, w).contiguous()


def _ids(batch):
    return (batch[:, 0, 0, 0] * 255).round().long().tolist()


def test_shape_dtype_range():
    stream = BatchStream(ImageSet(_images() * 25, torch.zeros(10, dtype=torch.int64), ("a",)), 4, seed=0)
    batch = stream.next()
    assert batch.shape == (4, 3, 4, 4) and batch.dtype == torch.float32
    assert float(batch.min()) >= 0.0 and float(batch.max()) <= 1.0
    assert torch.allclose(batch * 255, (batch * 255).round())


def test_every_image_once_per_epoch_and_reshuffled():
    stream = BatchStream(_images(12), 4, seed=1)
    epoch0 = [i for _ in range(3) for i in _ids(stream.next())]
    epoch1 = [i for _ in range(3) for i in _ids(stream.next())]
    assert sorted(epoch0) == sorted(epoch1) == list(range(12))
    assert epoch0 != epoch1
    assert stream.epoch == 1 and stream.steps == 6


def test_batches_crossing_epochs_keep_size_and_coverage():
    stream = BatchStream(_images(10), 4, seed=2)
    seen = [i for _ in range(5) for i in _ids(stream.next())]  # 20 images = 2 epochs
    assert sorted(seen[:10]) == sorted(seen[10:]) == list(range(10))
    assert BatchStream(_images(3), 8, seed=0).next().shape[0] == 8  # batch larger than data


def test_deterministic_per_seed():
    a, b, c = (BatchStream(_images(), 3, seed=s) for s in (7, 7, 8))
    seq_a = [_ids(a.next()) for _ in range(8)]
    assert seq_a == [_ids(b.next()) for _ in range(8)]
    assert seq_a != [_ids(c.next()) for _ in range(8)]


def test_global_rng_is_untouched():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    stream = BatchStream(_images(), 4, seed=0, augment=True)
    stream.next()
    assert torch.equal(torch.rand(3), expected)


def test_augment_flips_horizontally_only():
    img = torch.arange(16, dtype=torch.uint8).view(1, 1, 1, 16).expand(64, 3, 2, 16).contiguous()
    stream = BatchStream(img, 64, seed=0, augment=True)
    batch = stream.next()
    plain, flipped = img[0].float() / 255, img[0].flip(-1).float() / 255
    is_plain = torch.tensor([torch.equal(x, plain) for x in batch])
    is_flipped = torch.tensor([torch.equal(x, flipped) for x in batch])
    assert bool((is_plain | is_flipped).all())
    assert 10 < int(is_flipped.sum()) < 54
    # without augmentation the order of images is the same stream
    assert _ids(BatchStream(_images(), 4, seed=3, augment=True).next()) == \
        _ids(BatchStream(_images(), 4, seed=3).next())


def test_to_moves_storage_and_output_device():
    stream = BatchStream(_images(), 4, seed=0).to("cpu")
    assert stream.device == torch.device("cpu") and stream.next().device.type == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_storage_matches_cpu():
    cpu = BatchStream(_images(), 4, seed=5)
    gpu = BatchStream(_images(), 4, seed=5).to("cuda")
    for _ in range(5):
        assert torch.equal(cpu.next(), gpu.next().cpu())


def test_iterate_once_in_order():
    batches = list(iterate_once(_images(10), 4))
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    assert [i for b in batches for i in _ids(b)] == list(range(10))


def test_rejects_empty_and_bad_input():
    with pytest.raises(DataError, match="empty"):
        BatchStream(_images(0), 4, seed=0)
    with pytest.raises(TypeError):
        BatchStream(torch.zeros(2, 3, 4, 4), 4, seed=0)
    with pytest.raises(ValueError):
        BatchStream(_images(), 0, seed=0)
