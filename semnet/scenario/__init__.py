"""Scenario files: YAML -> validated, frozen ``Scenario``."""

from semnet.scenario.loader import apply_overrides, load_scenario, read_yaml, resolved_yaml, validate
from semnet.scenario.schema import Scenario

__all__ = ["Scenario", "apply_overrides", "load_scenario", "read_yaml", "resolved_yaml", "validate"]
