"""Model registry: names, descriptions, errors, bandwidth-ratio helper."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from semnet.errors import ModelError
from semnet import registry
from semnet.models import create_model, latent_channels_for_ratio, list_models


def test_builtin_models_are_registered_with_descriptions():
    models = list_models()
    assert {"deep_jscc", "adjscc"} <= set(models)
    assert list(models) == registry.models.names()  # one registry: the list is the registry's
    assert all(isinstance(d, str) and d and "\n" not in d for d in models.values())


def test_unknown_model_lists_valid_names():
    with pytest.raises(ModelError, match="'nope'.*adjscc.*deep_jscc"):
        create_model("nope")


def test_unknown_keyword_is_named():
    with pytest.raises(ModelError, match="latent_chans.*accepted: latent_channels, width"):
        create_model("deep_jscc", latent_chans=8)


@pytest.mark.parametrize("kwargs", [{"latent_channels": 0}, {"latent_channels": 2.5}, {"width": 0.0}, {"width": -1}])
def test_bad_values_raise_model_error(kwargs):
    with pytest.raises(ModelError, match=str(next(iter(kwargs)))):
        create_model("deep_jscc", **kwargs)


def test_generator_initialisation_is_reproducible():
    a = create_model("adjscc", generator=torch.Generator().manual_seed(3))
    b = create_model("adjscc", generator=torch.Generator().manual_seed(3))
    c = create_model("adjscc", generator=torch.Generator().manual_seed(4))
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        torch.testing.assert_close(pa, pb)
        if name.endswith("weight") and pa.dim() > 1:
            assert not torch.equal(pa, pc)


@pytest.mark.parametrize(("ratio", "channels"), [(1 / 6, 16), (1 / 12, 8), (Fraction(1, 3), 32), (1 / 96, 1)])
def test_latent_channels_for_ratio(ratio, channels):
    assert latent_channels_for_ratio(ratio) == channels
    assert latent_channels_for_ratio(ratio, image_hw=(64, 64)) == channels


@pytest.mark.parametrize("ratio", [0.1, 0.0, -1 / 6, 1 / 200])
def test_latent_channels_for_impossible_ratio(ratio):
    with pytest.raises(ModelError, match="ratio"):
        latent_channels_for_ratio(ratio)
