"""The digital baseline meets the same channel states as the JSCC evaluator."""

import numpy as np
import torch

from semnet.channels.laws.rayleigh import Rayleigh
from semnet.digital.states import comparison_snr_db, realised_snr_db, replayed_gains
from semnet.fl.loop.evaluation import LinkEvaluator
from semnet.models import Channel, create_model


class RecordingRayleigh(Rayleigh):
    """Rayleigh fading that keeps every gain it draws, in order."""

    def __init__(self):
        super().__init__()
        self.drawn = []

    def sample_torch(self, batch, generator, device, dtype):
        h = super().sample_torch(batch, generator, device, dtype)
        self.drawn.append(h.clone().numpy())
        return h


def test_replayed_gains_are_the_gains_the_jscc_evaluator_drew():
    fading = RecordingRayleigh()
    model = create_model("deep_jscc", latent_channels=2, width=0.25, generator=torch.Generator().manual_seed(0))
    images = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    link = (2, 0)
    evaluator = LinkEvaluator([link], {link: 7.0}, {2: images}, Channel(fading), torch.device("cpu"), seed=11,
                              realisations=2, batch_size=3, with_ssim=False)
    evaluator.evaluate(lambda u: model.encoder, lambda u: model.decoder)
    drawn = np.concatenate(fading.drawn)
    symbols = 2 * 4 * 4 // 2  # c * H/4 * W/4 / 2 complex channel uses
    replayed = replayed_gains(Rayleigh(), 11, link, images=5, realisations=2, batch_size=3, symbols=symbols)
    assert drawn.shape == (10,)
    np.testing.assert_array_equal(replayed, drawn)
    # another link or seed meets other gains (the replay is not of any stream)
    assert not np.allclose(replayed_gains(Rayleigh(), 12, link, 5, 2, 3, symbols), drawn)


def test_realised_snr_adds_the_gain_in_db():
    got = realised_snr_db(10.0, np.array([1.0, 0.1j * np.sqrt(10), 0.0]))
    np.testing.assert_allclose(got[:2], [10.0, 0.0], atol=1e-12)
    assert got[2] == -np.inf


def test_comparison_states_are_taken_in_order_and_wrap():
    states = (np.array([5.0, 10.0, 15.0]), np.array([1.0, np.sqrt(2), 0.5]))
    got = comparison_snr_db(states, 7)
    db = [5.0, 10.0 + 10 * np.log10(2), 15.0 + 10 * np.log10(0.25)]
    np.testing.assert_allclose(got, [db[m % 3] for m in range(7)])
