"""From a scenario's data and model sections to what the learning needs: each user's
training, validation and test images, and a factory of identically initialised models."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from semnet.data import index_image_folder, load_cifar10_pickle, load_embedded, load_image_folder, partition_pair
from semnet.errors import DataError, ModelError
from semnet.safe_load import CHECKPOINT_RULE, UnreadableFile, load_torch_file
from semnet.models import JSCCModel, create_model, latent_channels_for_ratio
from semnet.scenario.schema import DataSpec, ModelSpec
from semnet.seeding import derive_seed

log = logging.getLogger(__name__)

DOWNSAMPLE = 4  # both registered model families halve the resolution twice
EMBEDDED_IMAGE_SIZE = 32  # side of the embedded patches unless data.image_size says otherwise


@dataclass
class UserData:
    """uint8 image tensors (N,3,H,W) per user."""

    train: dict[int, torch.Tensor]
    validation: dict[int, torch.Tensor]
    test: dict[int, torch.Tensor]
    image_hw: tuple[int, int]
    test_labels: dict[int, torch.Tensor] = dataclasses.field(default_factory=dict)  # int64 (N,) per user
    class_names: tuple[str, ...] = ()


def load_user_data(spec: DataSpec, users: list[int], seed: int, *, validation_per_user: int = 0) -> UserData:
    """Load the data set, partition it over ``users`` and cut each user's splits."""
    train, test = _load(spec)
    train_parts, test_parts = partition_pair(
        train.labels.numpy(),
        test.labels.numpy(),
        len(users),
        kind=spec.partition.kind,
        seed=derive_seed(seed, "partition"),
        alpha=spec.partition.alpha,
        classes_per_user=spec.partition.classes_per_user,
        options=spec.partition.options,
    )
    out_train, out_val, out_test, out_labels = {}, {}, {}, {}
    for user, tr_idx, te_idx in zip(users, train_parts, test_parts):
        tr_idx = list(tr_idx)
        if validation_per_user:
            held = min(validation_per_user, max(1, len(tr_idx) // 10))
            out_val[user] = train.take(tr_idx[-held:])
            tr_idx = tr_idx[:-held]
        if spec.train_per_user is not None:
            tr_idx = tr_idx[: spec.train_per_user]
        te_idx = list(te_idx)
        if spec.test_per_user is not None:
            te_idx = te_idx[: spec.test_per_user]
        if not tr_idx or not te_idx:
            raise DataError(
                f"data: user {user} got {len(tr_idx)} training and {len(te_idx)} test images after partitioning "
                f"'{spec.partition.kind}'; use fewer users, a larger data set or another partition"
            )
        out_train[user] = train.take(tr_idx)
        out_test[user] = test.take(te_idx)
        out_labels[user] = test.labels[te_idx].contiguous()
    hw = tuple(next(iter(out_train.values())).shape[-2:])
    if hw[0] % DOWNSAMPLE or hw[1] % DOWNSAMPLE:
        raise DataError(f"data: image size {hw[0]}x{hw[1]} must be divisible by {DOWNSAMPLE}; set data.image_size")
    return UserData(out_train, out_val, out_test, hw, out_labels, tuple(test.class_names))


def _load(spec: DataSpec):
    if spec.source == "embedded":  # image_size: the side of the patches cut from the photographs
        return load_embedded(patch_size=spec.image_size or EMBEDDED_IMAGE_SIZE, seed=0)
    root = Path(spec.path).expanduser()
    if not root.exists():
        raise DataError(f"data.path '{spec.path}' does not exist (resolved to {root.resolve()})")
    if _holds_cifar_batches(spec):
        check_data_keys(spec)
        return load_cifar10_pickle(root, split="train"), load_cifar10_pickle(root, split="test")
    if spec.cache_dir is not None:  # the disk cache holds whole sets: cheap to read back whole
        kwargs = dict(image_size=spec.image_size, max_per_class=spec.max_per_class, cache_dir=spec.cache_dir)
        return load_image_folder(root, split="train", **kwargs), load_image_folder(root, split="test", **kwargs)
    # only the images the users get are decoded (a tenth of CIFAR-10 in the paper scenario)
    kwargs = dict(image_size=spec.image_size, max_per_class=spec.max_per_class)
    return index_image_folder(root, split="train", **kwargs), index_image_folder(root, split="test", **kwargs)


def _holds_cifar_batches(spec: DataSpec) -> bool:
    return spec.source == "cifar10" and spec.path is not None and (Path(spec.path).expanduser()
                                                                   / "cifar-10-batches-py").is_dir()


def check_data_keys(spec: DataSpec) -> None:
    """Refuse the keys the CIFAR-10 python batches do not use (they are read whole, 32x32),
    when ``data.path`` holds them; ``semnet validate`` calls it too, so that the mistake
    shows before a run (a path that is not there is left to the run: a scenario may be
    checked where its data is not)."""
    if not _holds_cifar_batches(spec):
        return
    for key in ("image_size", "max_per_class", "cache_dir"):
        value = getattr(spec, key)
        if value is not None and not (key == "image_size" and value == 32):
            raise DataError(f"data.{key} = {value!r}: not used with the CIFAR-10 python batches in "
                            f"'{spec.path}' (32x32, read whole); leave it out, or point data.path at a folder "
                            "of images")


def latent_channels(spec: ModelSpec, image_hw: tuple[int, int] = (32, 32)) -> int:
    if spec.latent_channels is not None:
        return spec.latent_channels
    if spec.bandwidth_ratio is not None:
        return latent_channels_for_ratio(float(spec.bandwidth_ratio), image_hw=image_hw, downsample=DOWNSAMPLE)
    return 16


def symbols_per_image(spec: ModelSpec, image_hw: tuple[int, int] = (32, 32)) -> int:
    """k: complex channel uses per image (c real values per latent position, paired)."""
    c = latent_channels(spec, image_hw)
    return c * (image_hw[0] // DOWNSAMPLE) * (image_hw[1] // DOWNSAMPLE) // 2


def model_factory(spec: ModelSpec, image_hw: tuple[int, int], seed: int, device: torch.device) -> Callable[[], JSCCModel]:
    """A function returning the same initial model every call (seeded; optional checkpoint)."""
    c = latent_channels(spec, image_hw)
    state = load_checkpoint(spec.checkpoint) if spec.checkpoint else None

    def new_model() -> JSCCModel:
        init = torch.Generator().manual_seed(derive_seed(seed, "model_init"))
        model = create_model(spec.name, latent_channels=c, width=spec.width, generator=init, **spec.options)
        if state is not None:
            try:
                model.load_state_dict(state)
            except RuntimeError as err:
                first = _state_dict_problem(str(err))
                raise ModelError(
                    f"model.checkpoint '{spec.checkpoint}' does not fit model '{spec.name}' "
                    f"(latent_channels={c}, width={spec.width}): {first}"
                ) from None
        return model.to(device)

    return new_model


def load_checkpoint(path: str) -> dict:
    """Read a model state dict saved by semnet; one-line ModelError if missing or corrupt."""
    file = Path(path).expanduser()
    if file.is_dir():
        raise ModelError(f"model.checkpoint '{path}' is a directory; give a .pt file")
    if not file.is_file():
        raise ModelError(f"model.checkpoint '{path}' does not exist")
    try:
        state = load_torch_file(file)  # tensors and plain data only: no code runs from a checkpoint
    except UnreadableFile as err:
        raise ModelError(f"model.checkpoint '{path}' is not a readable PyTorch checkpoint: {err.reason} "
                         f"({CHECKPOINT_RULE})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"model.checkpoint '{path}' holds no model state dict (a mapping of names to tensors)")
    return state


def _state_dict_problem(message: str) -> str:
    """The informative line of torch's load_state_dict error (its first line is generic)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for line in lines[1:]:
        return line if len(line) <= 160 else line[:157] + "..."
    return lines[0] if lines else message

