"""simulation.precision: bf16 trains the model layers under autocast; weights, symbols,
noise and losses stay float32."""

import pytest
import torch

from semnet.data import BatchStream
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel
from semnet.models import create_model


@pytest.mark.parametrize("model_name", ["deep_jscc", "adjscc"])
def test_bf16_trains_float32_weights_close_to_fp32(model_name):
    images = torch.randint(0, 256, (32, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    losses = {}
    for precision in ("fp32", "bf16"):
        model = create_model(model_name, latent_channels=4, width=0.25).init_weights(torch.Generator().manual_seed(0))
        job = TrainJob(key=0, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])],
                       data=BatchStream(images, 8, seed=0), steps=5, generator=torch.Generator().manual_seed(1))
        result = Trainer(Channel("rayleigh"), torch.device("cpu"), precision=precision).run([job])[0]
        assert all(p.dtype == torch.float32 for p in model.parameters())
        losses[precision] = result.loss
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        Trainer(Channel("awgn"), torch.device("cpu"), precision="fp8")
