import pytest

from semnet.scenario import validate


def tiny_scenario_dict(**method) -> dict:
    """3 users on a complete graph, a narrow model, a few steps: seconds on a CPU."""
    base_method = {
        "name": "finefed",
        "federated": {"rounds": 2, "local": {"steps": 2, "batch_size": 8}},
        "finetune": {
            "iterations": 1,
            "encoder": {"steps": 2, "batch_size": 8},
            "decoder_rounds": 1,
            "decoder": {"steps": 2, "batch_size": 8},
        },
    }
    base_method.update(method)
    return {
        "name": "tiny",
        "seed": 3,
        "topology": {"kind": "complete", "num_users": 3},
        "links": {"snr_db": 10.0, "overrides": [{"src": 0, "dst": 1, "snr_db": 0.0}]},
        "data": {"source": "embedded", "partition": {"kind": "iid"}, "train_per_user": 64, "test_per_user": 8},
        "model": {"name": "deep_jscc", "latent_channels": 4, "width": 0.25},
        "method": base_method,
        "simulation": {"device": "cpu", "compute": {"samples_per_s": 100.0}},
        "output": {"progress": False},
    }


@pytest.fixture
def tiny():
    def make(**method):
        return validate(tiny_scenario_dict(**method))

    return make


def build_context(scenario):
    """A RunContext the way the runner builds it (no run directory; the events go to the
    list returned with it), for tests that drive strategies by hand."""
    import torch

    from semnet.fl.loop.context import RunContext, RunSettings
    from semnet.fl.execution.trainer import Trainer
    from semnet.models import Channel
    from semnet.fl.loop.evaluation import LinkEvaluator
    from semnet.net.network import build_network
    from semnet.assembly import compute_speeds
    from semnet.sim import Simulator
    from semnet.workload import load_user_data, model_factory

    net = build_network(scenario.topology, scenario.links, scenario.seed)
    events = []
    sim = Simulator(net, seed=scenario.seed, compute_speed=compute_speeds(scenario, net), sink=events.append)
    data = load_user_data(scenario.data, net.users, scenario.seed)
    channel = Channel("awgn")
    device = torch.device("cpu")
    links = net.image_links()
    snr = {link: net.link(*link).snr_db for link in links}
    ev = LinkEvaluator(links, snr, data.test, channel, device, seed=1)
    ctx = RunContext(settings=RunSettings.of(scenario), network=net, sim=sim, trainer=Trainer(channel, device),
                     evaluator=ev, validator=ev, train_images=data.train,
                     new_model=model_factory(scenario.model, data.image_hw, scenario.seed, device),
                     device=device, record_metric=lambda r: None, progress=lambda r: None)
    return ctx, events
