"""docs/scenario-reference.md stays in step with the schema: every section has a heading,
every key a table row, and the example scenario validates."""

import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from semnet.scenario import load_scenario, validate
from semnet.scenario.schema import LocalTrainSpec, Scenario

from semnet.scenario.loader import _model_of as _section_model  # noqa: E402  (one implementation)

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


def _all_models(annotation) -> list:
    """Every section model in ``annotation``: one, or the members of a union of
    sections (the topology kinds, documented in one table)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _all_models(arg)]


class _Union:
    """Several section models documented under one heading: the union of their keys."""

    def __init__(self, models):
        self.models = models
        self.model_fields = {key: None for m in models for key in m.model_fields}


def _sections(model=Scenario, path=""):
    """(dotted section path, model) for every section, the root as ''."""
    yield path, model
    for name, field in model.model_fields.items():
        sub = _section_model(field.annotation)
        if sub is None:
            continue
        members = _all_models(field.annotation)
        if len(members) > 1:
            yield f"{path}.{name}" if path else name, _Union(members)
        else:
            yield from _sections(sub, f"{path}.{name}" if path else name)


def _doc_tables() -> dict[str, set[str]]:
    """Heading -> keys in the first column of the tables under it."""
    tables: dict[str, set[str]] = {}
    heading = None
    in_key_table = False
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            tables.setdefault(heading, set())
        elif line.startswith("| key |"):
            in_key_table = True
        elif not line.startswith("|"):
            in_key_table = False
        elif heading and in_key_table and (m := re.match(r"\| `([a-z_0-9]+)` \|", line)):
            tables[heading].add(m.group(1))
    return tables


# sections documented by another section's table (same model)
SAME_AS = {"links.aggregator.rate": "links.rate",
           "method.finetune.decoder_aggregation": "method.federated.aggregation"}


SECTIONS = [(path, model) for path, model in _sections() if model is not LocalTrainSpec]


@pytest.mark.parametrize("path, model", SECTIONS, ids=[p or "top" for p, _ in SECTIONS])
def test_every_key_is_documented(path, model):
    tables = _doc_tables()
    heading = f"`{SAME_AS.get(path, path)}`" if path else "Top level"
    assert heading in tables, f"no heading {heading} in {DOC.name}"
    assert set(model.model_fields) == tables[heading]


def test_local_training_keys_are_documented():
    assert set(LocalTrainSpec.model_fields) == _doc_tables()["Local training sections"]


def test_example_validates(tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks
    for i, block in enumerate(blocks):
        raw = yaml.safe_load(block)
        if "extends" in raw:  # written as a file of scenarios/<folder>/ (the matched set's place)
            here = DOC.parents[1] / "scenarios" / "media_mobility"
            entries = raw["extends"] if isinstance(raw["extends"], list) else [raw["extends"]]
            raw["extends"] = [str((here / entry).resolve()) for entry in entries]
            path = tmp_path / f"example{i}.yaml"
            path.write_text(yaml.safe_dump(raw))
            load_scenario(path)
        else:
            validate(raw, DOC.name)
