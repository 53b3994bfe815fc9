import pytest
import torch
from torch import nn

from semnet.fl.algorithms.aggregation import load_tensors, state_bits, tensors_of, weighted_average


def test_weighted_average_exact_on_known_tensors():
    a = [torch.tensor([1.0, 2.0]), torch.tensor([[0.0]])]
    b = [torch.tensor([3.0, 6.0]), torch.tensor([[4.0]])]
    out = weighted_average([a, b], [1, 3])
    assert torch.equal(out[0], torch.tensor([2.5, 5.0]))
    assert torch.equal(out[1], torch.tensor([[3.0]]))


def test_weighted_average_single_client_is_identity():
    a = [torch.randn(3, 4)]
    assert torch.allclose(weighted_average([a], [7])[0], a[0])


@pytest.mark.parametrize("weights", [[0, 0], [1]])
def test_weighted_average_rejects_bad_weights(weights):
    a = [torch.ones(2)]
    with pytest.raises(ValueError):
        weighted_average([a, a], weights)


def test_tensors_round_trip_and_bits():
    net = nn.Sequential(nn.Linear(3, 2), nn.PReLU())
    state = tensors_of(net)
    other = nn.Sequential(nn.Linear(3, 2), nn.PReLU())
    load_tensors(other, state)
    for x, y in zip(net.parameters(), other.parameters()):
        assert torch.equal(x, y)
    assert state_bits(net) == 32 * (3 * 2 + 2 + 1)


def test_plateau_needs_a_flat_window_not_one_noisy_point():
    from semnet.fl.loop.convergence import plateaued as _plateaued

    rising = {r: 10 + 0.1 * r for r in range(0, 41, 2)}
    assert not _plateaued(rising, 40, 0.1, 0.1, 2)
    noisy_rise = {r: 10 + 0.05 * r + (0.15 if r == 34 else 0.0) for r in range(0, 41, 2)}
    assert not _plateaued(noisy_rise, 40, 0.1, 0.1, 2)  # one lucky evaluation does not stop it
    flat = {r: 14.0 + (0.05 if r % 4 else -0.05) for r in range(0, 41, 2)}
    assert _plateaued(flat, 40, 0.1, 0.1, 2)


def test_plateau_is_not_fooled_by_the_cifar_start_that_stopped_too_early():
    """Validation PSNR of a real CIFAR-10 FedAvg start (paper scenario, seed 0) that was
    still gaining ~0.1 dB per 5 rounds; two-evaluation windows stopped it at round 75."""
    from semnet.fl.loop.convergence import plateaued as _plateaued

    history = {50: 17.7333, 55: 18.396, 60: 18.7198, 65: 18.8847, 70: 18.6326, 75: 19.0346}
    assert not _plateaued(history, 75, 0.1, 0.1, 5)


def test_cosine_schedule_decays_the_local_learning_rate_to_zero_at_the_round_budget():
    from semnet.fl.algorithms.federated import FederatedStrategy
    from semnet.fl.loop.schedule import RateSchedule
    from semnet.scenario.schema import FederatedSpec

    spec = FederatedSpec(rounds=10, local={"steps": 1, "lr": 0.002}, lr_schedule="cosine")
    strategy = FederatedStrategy.__new__(FederatedStrategy)  # the schedule alone, no run
    strategy.schedule = RateSchedule.of(spec)
    rates = [strategy.lr(r) for r in range(1, 11)]
    assert rates[0] == 0.002 and strategy.base_lr == 0.002
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert 0 < rates[-1] < 0.0001
    strategy.schedule = RateSchedule.of(FederatedSpec(rounds=10, local={"steps": 1, "lr": 0.002}))
    assert {strategy.lr(r) for r in range(1, 11)} == {0.002}
