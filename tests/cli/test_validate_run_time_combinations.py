"""Combinations that docs/scenario-reference.md says cannot run are refused by
``semnet validate`` in one line (and by ``semnet run`` before it writes anything), and
their near neighbours that do run are accepted."""

import pytest

from semnet.cli.main import main

from .test_bad_input import assert_one_line_error

_SHANNON = {"mode": "shannon", "backoff": 0.5, "packet_bits": 12000, "max_retries": 4}
_CELL_BROADCAST = {"medium": "cell", "scheduler": "ofdma", "downlink": "broadcast", "fading": "rayleigh",
                   "aggregator": {"rate": _SHANNON}}

# each setting that turns the channel over time on, and the key the error names for it
_CAUSES = [
    ("mobility", {"topology": {"mobility": {"model": "random_waypoint", "speed_mps": [0.5, 2.0]}}},
     "topology.mobility.model = 'random_waypoint'"),
    ("doppler", {"links": {"channel": {"time_correlation": "gauss_markov", "speed_mps": 1.0}}},
     "links.channel.time_correlation = 'gauss_markov'"),
    ("shadowing", {"links": {"channel": {"shadowing_std_db": 4.0}}}, "links.channel.shadowing_std_db = 4.0"),
    ("umi", {"links": {"path_loss": {"model": "umi_street_canyon"}}}, "links.path_loss.model = 'umi_street_canyon'"),
]


def _scenario(cause: dict, **links) -> dict:
    raw = {"topology": dict(cause.get("topology", {})), "links": {**_CELL_BROADCAST, **cause.get("links", {}), **links}}
    return {key: value for key, value in raw.items() if value}


@pytest.mark.parametrize("cause, expected", [pytest.param(c, e, id=i) for i, c, e in _CAUSES])
def test_a_shannon_rate_broadcast_on_a_channel_over_time_is_refused_by_validate(tmp_path, write_scenario, capsys,
                                                                                cause, expected):
    path = write_scenario(_scenario(cause))
    assert_one_line_error(capsys, main(["validate", path]), path, "links.downlink = 'broadcast'",
                          "links.aggregator.rate.mode = 'shannon'", expected, "allowed here: links.downlink unicast")
    rc = main(["run", path, "--out", str(tmp_path / "run"), "--quiet"])
    assert_one_line_error(capsys, rc, path, "links.downlink = 'broadcast'")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("links", [
    pytest.param({"aggregator": {"rate": {"mode": "fixed", "rate_bps": 1.0e7}}, "rate": _SHANNON},
                 id="user_links_shannon_aggregator_fixed"),
    pytest.param({"downlink": "unicast"}, id="unicast"),
])
def test_its_neighbours_that_run_are_accepted(write_scenario, capsys, links):
    # the broadcast at a fixed aggregator rate (user links at Shannon rates), or Shannon unicasts, on moving users
    path = write_scenario(_scenario(_CAUSES[0][1], **links))
    assert main(["validate", path]) == 0, capsys.readouterr().err


def test_a_static_channel_takes_a_shannon_rate_broadcast(write_scenario, capsys):
    path = write_scenario({"links": _CELL_BROADCAST})  # block fading, no channel over time: modelled
    assert main(["validate", path]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("topology, detail", [
    ({"kind": "erdos_renyi", "p": 0.0}, "p = 0.0"),
    ({"kind": "ring", "num_users": 1}, "num_users = 1"),
])
def test_a_graph_without_links_is_refused_by_validate(write_scenario, capsys, topology, detail):
    path = write_scenario({"topology": topology})
    assert_one_line_error(capsys, main(["validate", path]), path, "has no links", detail)


@pytest.mark.parametrize("key, value", [("image_size", 64), ("max_per_class", 10), ("cache_dir", "cache")])
def test_keys_the_cifar_batches_do_not_use_are_refused_by_validate(tmp_path, write_scenario, capsys, key, value):
    (tmp_path / "cifar" / "cifar-10-batches-py").mkdir(parents=True)
    path = write_scenario({"data": {"source": "cifar10", "path": str(tmp_path / "cifar"), key: value}})
    assert_one_line_error(capsys, main(["validate", path]), path, f"data.{key} = {value!r}",
                          "not used with the CIFAR-10 python batches")


def test_cifar_keys_are_left_alone_where_the_batches_are_not(tmp_path, write_scenario, capsys):
    # a folder of images takes image_size, and a path that is not there is the run's to report
    (tmp_path / "images").mkdir()
    for root in (tmp_path / "images", tmp_path / "absent"):
        path = write_scenario({"data": {"source": "cifar10", "path": str(root), "image_size": 64}})
        assert main(["validate", path]) == 0, capsys.readouterr().err
    batches = tmp_path / "cifar" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    path = write_scenario({"data": {"source": "cifar10", "path": str(batches.parent), "image_size": 32}})
    assert main(["validate", path]) == 0, capsys.readouterr().err  # 32 is what the batches are
