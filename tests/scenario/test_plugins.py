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
