from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semnet.data import load_image_folder
from semnet.data.folder import clear_memory_cache
from semnet.errors import DataError

CIFAR10_JPEG = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10-jpeg"


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _colour(value: int, h: int = 32, w: int = 32) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


@pytest.fixture
def tiny_folder(tmp_path):
    """root/train/{cat,ant,bee}/..png with distinct constant colours (PNG is lossless)."""
    root = tmp_path / "tiny"
    for cls, values in {"cat": [10, 20, 30], "ant": [40, 50], "bee": [60]}.items():
        for i, v in enumerate(values):
            _write(root / "train" / cls / f"{i:03d}.png", _colour(v))
    _write(root / "test" / "ant" / "000.png", _colour(70))
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    return root


def test_shapes_labels_and_sorted_order(tiny_folder):
    s = load_image_folder(tiny_folder)
    assert s.class_names == ("ant", "bee", "cat")
    assert s.images.dtype == torch.uint8 and s.images.shape == (6, 3, 32, 32)
    assert s.labels.tolist() == [0, 0, 1, 2, 2, 2]
    assert s.images[:, 0, 0, 0].tolist() == [40, 50, 60, 10, 20, 30]


def test_test_split_and_max_per_class(tiny_folder):
    assert load_image_folder(tiny_folder, split="test").labels.tolist() == [0]
    small = load_image_folder(tiny_folder, max_per_class=1)
    assert small.labels.tolist() == [0, 1, 2]
    assert small.images[:, 0, 0, 0].tolist() == [40, 60, 10]


def test_flat_layout_without_split_folder(tmp_path):
    for cls in ("b", "a"):
        _write(tmp_path / "flat" / cls / "x.png", _colour(5))
    s = load_image_folder(tmp_path / "flat", split="train")
    assert s.class_names == ("a", "b") and len(s) == 2


def test_memory_cache_returns_same_object(tiny_folder):
    assert load_image_folder(tiny_folder) is load_image_folder(tiny_folder)
    assert load_image_folder(tiny_folder) is not load_image_folder(tiny_folder, max_per_class=2)


def test_resize_and_center_crop(tmp_path):
    # 40x80 image: left half black, right half white, a red column in the very middle
    img = np.zeros((40, 80, 3), dtype=np.uint8)
    img[:, 40:] = 255
    _write(tmp_path / "r" / "train" / "x" / "a.png", img)
    s = load_image_folder(tmp_path / "r", image_size=20)
    assert s.images.shape == (1, 3, 20, 20)
    row = s.images[0, 0, 10].tolist()
    assert row[0] < 30 and row[-1] > 225  # centre crop straddles the black/white edge


def test_random_crop_is_seeded(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(4):
        _write(tmp_path / "r" / "train" / "x" / f"{i}.png", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    a = load_image_folder(tmp_path / "r", image_size=24, crop="random", seed=1)
    clear_memory_cache()
    b = load_image_folder(tmp_path / "r", image_size=24, crop="random", seed=1)
    c = load_image_folder(tmp_path / "r", image_size=24, crop="random", seed=2)
    assert a is not b and torch.equal(a.images, b.images)
    assert not torch.equal(a.images, c.images)


def test_mixed_sizes_need_image_size(tmp_path):
    _write(tmp_path / "m" / "train" / "x" / "a.png", _colour(1, 32, 32))
    _write(tmp_path / "m" / "train" / "x" / "b.png", _colour(1, 40, 48))
    with pytest.raises(DataError, match="different sizes"):
        load_image_folder(tmp_path / "m")
    assert load_image_folder(tmp_path / "m", image_size=32).images.shape == (2, 3, 32, 32)


def test_grayscale_and_rgba_become_rgb(tmp_path):
    Image.fromarray(np.full((8, 8), 77, dtype=np.uint8)).save(_mk(tmp_path / "g" / "train" / "x" / "a.png"))
    Image.fromarray(np.full((8, 8, 4), 99, dtype=np.uint8)).save(_mk(tmp_path / "g" / "train" / "x" / "b.png"))
    s = load_image_folder(tmp_path / "g")
    assert s.images.shape == (2, 3, 8, 8)
    assert s.images[0].unique().tolist() == [77] and s.images[1].unique().tolist() == [99]


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_disk_cache_round_trip(tiny_folder, tmp_path):
    cache = tmp_path / "cache"
    first = load_image_folder(tiny_folder, cache_dir=cache)
    files = list(cache.glob("*.pt"))
    assert len(files) == 1 and not list(cache.glob("*.tmp"))
    clear_memory_cache()
    # Prove the second call reads the cache: change pixels on disk without changing the file list.
    _write(tiny_folder / "train" / "ant" / "000.png", _colour(200))
    second = load_image_folder(tiny_folder, cache_dir=cache)
    assert second is not first
    assert torch.equal(second.images, first.images) and torch.equal(second.labels, first.labels)
    assert second.class_names == first.class_names
    # A changed file list is a different key, hence a fresh decode.
    _write(tiny_folder / "train" / "ant" / "001b.png", _colour(9))
    clear_memory_cache()
    third = load_image_folder(tiny_folder, cache_dir=cache)
    assert len(third) == 7 and len(list(cache.glob("*.pt"))) == 2


def test_missing_path_is_a_one_line_data_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as info:
        load_image_folder(missing)
    assert str(info.value) == f"data path '{missing}' does not exist"


def test_empty_folder_is_a_data_error(tmp_path):
    (tmp_path / "empty" / "train" / "cls").mkdir(parents=True)
    with pytest.raises(DataError) as info:
        load_image_folder(tmp_path / "empty")
    message = str(info.value)
    assert "\n" not in message and f"'{tmp_path / 'empty'}'" in message
    assert "contains no images in ImageFolder layout (<root>/<split>/<class>/<image>)" in message


def test_broken_image_is_a_data_error(tmp_path):
    _mk(tmp_path / "b" / "train" / "x" / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="cannot be decoded"):
        load_image_folder(tmp_path / "b")


@pytest.mark.parametrize("kwargs, match", [
    ({"image_size": 0}, "image_size 0"),
    ({"crop": "middle"}, "crop 'middle'.*center, random"),
    ({"max_per_class": 0}, "max_per_class 0"),
])
def test_bad_arguments_are_data_errors(tiny_folder, kwargs, match):
    with pytest.raises(DataError, match=match):
        load_image_folder(tiny_folder, **kwargs)


@pytest.mark.skipif(not CIFAR10_JPEG.is_dir(), reason="CIFAR-10 JPEG copy not at ../shared/data/cifar10-jpeg")
@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_jpeg_copy(split):
    s = load_image_folder(CIFAR10_JPEG, split=split, max_per_class=5)
    assert s.images.shape == (50, 3, 32, 32) and s.images.dtype == torch.uint8
    assert s.class_names == ("airplane", "automobile", "bird", "cat", "deer",
                             "dog", "frog", "horse", "ship", "truck")
    assert torch.equal(s.labels, torch.arange(10).repeat_interleave(5))
    assert 40 < float(s.images.float().mean()) < 200
    assert torch.equal(load_image_folder(CIFAR10_JPEG, split=split, max_per_class=5, image_size=32).images,
                       s.images)  # 32x32 passes through untouched


def test_images_decoded_side_by_side_keep_the_order_of_the_files(tmp_path, monkeypatch):
    """Chunks decode on several threads at once: every image still lands at its file's
    place (the chunk size is cut to 3 so that 40 files make 14 chunks)."""
    from semnet.data import decode

    monkeypatch.setattr(decode, "_CHUNK", 3)
    paths = []
    for i in range(40):
        path = tmp_path / "c" / f"{i:03d}.png"
        _write(path, _colour(i * 6))
        paths.append(str(path))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(4)
        images = decode.decode_files(paths, workers=4)
    finally:
        torch.set_num_threads(threads)
    assert images[:, 0, 0, 0].tolist() == [i * 6 for i in range(40)]


def test_index_takes_the_pixels_of_the_whole_load_decoding_only_those(tiny_folder, monkeypatch):
    import semnet.data.folder as folder

    whole = load_image_folder(tiny_folder)
    decoded: list[int] = []
    real = folder.decode_files
    monkeypatch.setattr(folder, "decode_files", lambda paths, **kw: decoded.append(len(paths)) or real(paths, **kw))
    index = folder.index_image_folder(tiny_folder)
    assert decoded == []  # listing decodes nothing
    assert index.class_names == whole.class_names and torch.equal(index.labels, whole.labels)
    assert torch.equal(index.take([5, 0, 5]), whole.images[[5, 0, 5]])
    assert decoded == [2]  # positions 0 and 5, once each
    assert torch.equal(index.take([0, 3]), whole.images[[0, 3]])
    assert decoded == [2, 1]  # position 0 was kept
    assert folder.index_image_folder(tiny_folder) is index


def test_index_refuses_a_later_take_of_another_size(tiny_folder):
    from semnet.data.folder import index_image_folder

    _write(tiny_folder / "train" / "bee" / "001.png", _colour(90, 16, 16))
    index = index_image_folder(tiny_folder)
    index.take([0])
    with pytest.raises(DataError, match="different sizes.*32x32, 16x16"):
        index.take([3])


def test_index_names_a_missing_folder(tmp_path):
    from semnet.data.folder import index_image_folder

    with pytest.raises(DataError, match="does not exist"):
        index_image_folder(tmp_path / "nowhere")
