"""Plugins register components without editing semnet: from a scenario's `plugins:`
list, or from the `semnet.plugins` entry-point group; names and options they bring
are checked when the scenario loads, with one-line errors."""

import subprocess
import sys
import textwrap

import pytest

from semnet import registry
from semnet.errors import ScenarioError
from semnet.scenario import validate

PLUGIN = '''
from pydantic import BaseModel, ConfigDict, Field
from semnet.extend import FederatedStart, methods

class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(2, ge=1)

@methods.register("{name}", "a test method")
class TestMethod(FederatedStart):
    Options = Options
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A plugin module on sys.path registering method NAME; removed afterwards."""
    name = f"plugin_method_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(PLUGIN.format(name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    registry.methods.remove(name)
    sys.modules.pop(name, None)


def test_a_plugin_named_in_the_scenario_registers_its_method(plugin):
    scenario = validate({"plugins": [plugin], "method": {"name": plugin, "options": {"rounds": 3}}})
    assert scenario.method.name == plugin
    method = registry.methods.get(plugin)(scenario.method)
    assert method.options.rounds == 3


def test_without_the_plugin_the_name_is_unknown(plugin):
    with pytest.raises(ScenarioError) as info:
        validate({"method": {"name": "no_such_method"}})
    assert "method.name = 'no_such_method': unknown method; allowed:" in str(info.value)


def test_plugin_options_are_checked(plugin):
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": [plugin], "method": {"name": plugin, "options": {"rounds": 0}}}, source="s.yaml")
    assert str(info.value).startswith("s.yaml: method.options.rounds = 0: ")
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": [plugin], "method": {"name": plugin, "options": {"speed": 1}}})
    assert "method.options.speed" in str(info.value) and "allowed: rounds" in str(info.value)


def test_built_in_methods_take_no_options():
    with pytest.raises(ScenarioError) as info:
        validate({"method": {"name": "finefed", "options": {"x": 1}}})
    assert "method.options" in str(info.value) and "takes no options" in str(info.value)


def test_an_unknown_plugin_module_is_one_line():
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": ["semnet_no_such_plugin"]}, source="s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: plugins[0] = 'semnet_no_such_plugin': no such module")
    assert "\n" not in message


def test_a_plugin_that_fails_to_import_says_why(tmp_path, monkeypatch):
    (tmp_path / "broken_semnet_plugin.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": ["broken_semnet_plugin"]})
    assert "plugins[0] = 'broken_semnet_plugin': importing it failed: RuntimeError: boom" in str(info.value)
    sys.modules.pop("broken_semnet_plugin", None)


def test_model_options_reach_the_constructor_and_are_checked():
    scenario = validate({"model": {"name": "deep_jscc", "options": {}}})
    assert scenario.model.options == {}
    with pytest.raises(ScenarioError) as info:
        validate({"model": {"name": "deep_jscc", "options": {"depth": 7}}}, source="s.yaml")
    assert str(info.value) == "s.yaml: model.options.depth: not an argument of model 'deep_jscc'; allowed: (none)"
    with pytest.raises(ScenarioError) as info:
        validate({"model": {"name": "deep_jscc", "options": {"width": 2}}})
    assert "model.options.width: set by model.width" in str(info.value)


def test_model_options_are_passed_to_a_plugin_model(tmp_path, monkeypatch):
    from semnet.models import register_model
    from semnet.models.deep_jscc import DeepJSCC
    from semnet.workload import model_factory

    class Tagged(DeepJSCC):
        def __init__(self, latent_channels: int = 16, width: float = 1.0, tag: int = 0):
            super().__init__(latent_channels, width)
            self.tag = tag

    register_model("tagged_test_model", "a model with one extra argument")(Tagged)
    try:
        scenario = validate({"model": {"name": "tagged_test_model", "latent_channels": 4, "width": 0.25,
                                       "options": {"tag": 7}}})
        import torch

        model = model_factory(scenario.model, (32, 32), 0, torch.device("cpu"))()
        assert model.tag == 7
    finally:
        registry.models.remove("tagged_test_model")


def test_entry_point_plugins_register_without_a_plugins_line(tmp_path):
    """An installed package's `semnet.plugins` entry point is imported on first lookup."""
    (tmp_path / "ep_semnet_demo.py").write_text(PLUGIN.format(name="ep_demo_method"))
    dist = tmp_path / "ep_semnet_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-semnet-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[semnet.plugins]\ndemo = ep_semnet_demo\n")
    code = textwrap.dedent("""
        from semnet.scenario import validate
        s = validate({"method": {"name": "ep_demo_method"}})
        print(s.method.name)
    """)
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(tmp_path), "PATH": ""},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ep_demo_method"


WRONG_KINDS = '''
from semnet.extend import methods, controls, channels, FadingModel
from semnet.registry import topologies

@methods.register("wrong_method_{tag}")
class NotAMethod:
    pass

@controls.register("wrong_control_{tag}")
def not_a_control():
    pass

@channels.register("asserting_channel_{tag}")
class Asserting(FadingModel):
    def __init__(self, m: float = 1.0):
        assert m > 0, "m must be positive"
    def sample_numpy(self, size, rng):
        return rng.standard_normal(size) + 0j
    def sample_torch(self, batch, generator, device, dtype):
        raise NotImplementedError

@topologies.register("failing_topology_{tag}")
def failing(spec, rng):
    return {{}}["missing"]
'''


@pytest.fixture
def wrong_kinds(tmp_path, monkeypatch):
    tag = tmp_path.name.replace("-", "_")
    name = f"wrong_kinds_{tag}"
    (tmp_path / f"{name}.py").write_text(WRONG_KINDS.format(tag=tag))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, tag
    for reg, entry in ((registry.methods, "wrong_method"), (registry.controls, "wrong_control"),
                       (registry.channels, "asserting_channel"), (registry.topologies, "failing_topology")):
        reg.remove(f"{entry}_{tag}")
    sys.modules.pop(name, None)


def test_a_plugin_registering_the_wrong_kind_of_object_is_one_line(wrong_kinds):
    module, tag = wrong_kinds
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": [module], "method": {"name": f"wrong_method_{tag}"}}, source="s.yaml")
    message = str(info.value)
    assert message.startswith(f"s.yaml: method.name = 'wrong_method_{tag}': ")
    assert "not a subclass of semnet.fl.loop.strategy.Method" in message and "\n" not in message
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": [module], "method": {"controls": [f"wrong_control_{tag}"]}})
    assert "method.controls[0]" in str(info.value) and "not a subclass of semnet.fl.methods.controls.Control" in str(info.value)


def test_a_plugin_constructor_or_builder_that_fails_is_one_line(wrong_kinds):
    module, tag = wrong_kinds
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": [module], "links": {"fading": f"asserting_channel_{tag}", "channel_options": {"m": -1}}})
    assert "links.channel_options" in str(info.value) and "AssertionError: m must be positive" in str(info.value)
    from semnet.net.network import build_network

    scenario = validate({"plugins": [module], "topology": {"kind": f"failing_topology_{tag}", "num_users": 3}})
    with pytest.raises(ScenarioError) as info:
        build_network(scenario.topology, scenario.links, 0)
    assert f"topology builder 'failing_topology_{tag}' failed: KeyError" in str(info.value)


def test_controls_on_a_method_that_runs_none_are_an_error():
    with pytest.raises(ScenarioError) as info:
        validate({"method": {"name": "fedavg", "controls": ["compute_matched"]}})
    assert "method.controls" in str(info.value) and "runs no controls" in str(info.value)
    assert "finefed" in str(info.value)


def test_options_that_are_not_a_pydantic_model_are_one_line(tmp_path, monkeypatch):
    name = f"bad_options_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "from semnet.extend import FederatedStart, methods\n"
        f"@methods.register('{name}')\nclass M(FederatedStart):\n    Options = dict\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ScenarioError) as info:
            validate({"plugins": [name], "method": {"name": name}})
        assert "its Options" in str(info.value) and "not a pydantic model" in str(info.value)
    finally:
        registry.methods.remove(name)
        sys.modules.pop(name, None)


def test_a_stored_run_of_the_flat_topology_format_still_loads():
    """Run directories written before topology kinds had their own keys hold every kind's."""
    from pathlib import Path

    from semnet.scenario import load_scenario

    stored = sorted(Path("results/quickstart").glob("*/scenario.yaml"))
    assert stored, "the quickstart records are part of the repository"
    scenario = load_scenario(stored[0])
    assert scenario.topology.kind == "ring" and not hasattr(scenario.topology, "radius_m")
    # a user's own file with a key of another kind is still an error
    with pytest.raises(ScenarioError, match="unknown key 'topology.radius_m'"):
        validate({"topology": {"kind": "ring", "radius_m": 50.0}})


def test_a_sweep_finds_a_plugin_next_to_its_base_scenario(tmp_path):
    """The sweep's points are checked (and later run) with the base file's folder searched."""
    from semnet.sweep import expand, load_sweep

    folder = tmp_path / "study"
    folder.mkdir()
    name = f"sweep_plugin_{tmp_path.name.replace('-', '_')}"
    (folder / f"{name}.py").write_text(PLUGIN.format(name=name))
    (folder / "base.yaml").write_text(f"plugins: [{name}]\nmethod: {{name: {name}}}\n")
    (tmp_path / "sweep.yaml").write_text("base: study/base.yaml\ngrid:\n  seed: [0, 1]\n")
    try:
        points = expand(load_sweep(tmp_path / "sweep.yaml"))
        assert [p.scenario.method.name for p in points] == [name, name]
        assert points[0].search == (str(folder.resolve()),)
    finally:
        registry.methods.remove(name)
        sys.modules.pop(name, None)
