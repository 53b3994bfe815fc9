"""A fuzzer keeps bad input to one line (issue 25, point 6).

Hypothesis generates scenario documents and ``--set`` expressions — values of the wrong
type, huge and non-finite numbers, unknown keys at every level, deep nesting, aliases
(shared values, which YAML writes as ``&anchor``/``*alias``), control characters — and
every outcome must be a valid ``Scenario`` or one ``SemnetError`` line of bounded
length, never another exception, within bounded memory (time is not asserted: it
depends on the load; an unbounded expansion would blow the memory bound first).

The default suite runs a quick profile; ``pytest -m slow tests/scenario/test_fuzz.py``
runs the long one.
"""

from __future__ import annotations

import copy
import math
import tracemalloc
import typing

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semnet.errors import SemnetError
from semnet.scenario import Scenario, load_scenario
from semnet.scenario.loader import _models_in
from tests.cli.conftest import exchange_scenario
from tests.fl.conftest import tiny_scenario_dict

QUICK = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(max_examples=3000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MEGABYTES = 64.0
MAX_LINE = 1000


@pytest.fixture(scope="module", autouse=True)
def _registries_loaded(tmp_path_factory):
    """Validation imports the components' registries (and torch) once: not inside a measured call."""
    for raw in BASES:
        load_scenario(_write(tmp_path_factory, raw))


def _key_paths(model=Scenario, prefix: tuple = (), depth: int = 0) -> list[tuple[str, ...]]:
    """Every key path of the schema (sections and leaves), four levels deep."""
    paths = []
    for name, field in model.model_fields.items():
        path = prefix + (name,)
        paths.append(path)
        if depth < 3:
            for sub in _models_in(field.annotation):
                paths.extend(_key_paths(sub, path, depth + 1))
    return sorted(set(paths))


KEY_PATHS = _key_paths()
BASES = [exchange_scenario(), tiny_scenario_dict()]

# scalars a user may write, the wrong and the extreme ones included
numbers = st.one_of(
    st.integers(min_value=-10, max_value=10),
    st.integers(),
    st.sampled_from([2**63, -2**63 - 1, 10**30, 10**400, 2**1000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e-308, 0.0, -0.0]),
)
texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "..", "../../x", "/abs", "a\x00b", "\x07", "\u202e", "ring", "cell", "rayleigh",
                     "fedavg", "finefed", "1/6", "1e5", "yes", "null", "~", "&a", "*a", "!!python/object"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)


def _values(leaves=scalars):
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(st.one_of(texts, st.integers(-3, 3)), children, max_size=5),
        ),
        max_leaves=30,
    )


values = _values()


def _deep(depth: int):
    """A list or mapping nested ``depth`` levels."""
    value: typing.Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@st.composite
def shared(draw):
    """A value that holds one object several times: YAML writes it with an anchor and aliases."""
    inner = draw(values)
    width = draw(st.integers(1, 9))
    value = [inner] * width
    for _ in range(draw(st.integers(0, 9))):  # up to a billion laughs
        value = [value] * width
    return value


plausible = st.sampled_from([1, 2, 3, 4, 8, 0.5, 0.1, 10.0, -3.0, "ring", "complete", "star", "iid", "none",
                             "rayleigh", "fedavg", "cpu", True, False, None, [], {}])
edit_values = st.one_of(plausible, values, shared(), st.integers(1, 400).map(_deep))


@st.composite
def documents(draw):
    """A scenario mapping: a valid base with a few keys set, replaced or added."""
    raw = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 4))):
        path = list(draw(st.sampled_from(KEY_PATHS)))
        if draw(st.booleans()):  # an unknown key at that level
            path[-1] = draw(st.one_of(texts, st.sampled_from(["snr", "rounds", "kind ", "Name", "dir"])))
        node = raw
        for part in path[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                child = {}
                if isinstance(node, dict):
                    node[part] = child
            node = child
        if isinstance(node, dict):
            node[path[-1]] = draw(edit_values)
    return raw


def _yaml_snippets():
    return st.one_of(
        values.map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=math.inf).strip()),
        shared().map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=math.inf).strip()),
        st.sampled_from(["&a [*a]", "*nope", "[" * 300, "{" * 50, "1" + "0" * 5000, "-.inf", ".nan", "1e999",
                         "!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "{a: 1, a: 2}",
                         "[&x [1, 2], *x, *x]", "'unterminated", "a: b: c"]),
        texts,
    )


@st.composite
def overrides(draw):
    """``--set KEY.PATH=VALUE`` expressions: real, misspelt and odd key paths."""
    out = []
    for _ in range(draw(st.integers(0, 3))):
        path = list(draw(st.sampled_from(KEY_PATHS)))
        choice = draw(st.integers(0, 5))
        if choice == 0:
            path.append(draw(st.sampled_from(["x", "0", "99", "", " "])))
        elif choice == 1:
            path[-1] = draw(texts)
        key = ".".join(path) if choice != 2 else draw(texts)
        out.append(f"{key}={draw(_yaml_snippets())}" if draw(st.integers(0, 9)) else draw(texts))
    return out


def _write(tmp_path_factory, raw) -> str:
    path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    if isinstance(raw, str):
        path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return str(path)


OUTCOMES: dict[str, int] = {}


def check_outcome(path: str, sets: list[str]) -> None:
    """Read, override and validate: a Scenario, or one SemnetError line; bounded."""
    tracemalloc.start()
    try:
        scenario = load_scenario(path, sets)
        OUTCOMES["valid"] = OUTCOMES.get("valid", 0) + 1
    except SemnetError as err:
        OUTCOMES["error"] = OUTCOMES.get("error", 0) + 1
        message = str(err)
        assert "\n" not in message and "\r" not in message, repr(message[:300])
        assert 0 < len(message) <= MAX_LINE, len(message)
        assert "Traceback" not in message
    else:
        assert isinstance(scenario, Scenario)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEGABYTES * 2**20, f"{peak / 2**20:.0f} MB"


def _doc_texts():
    """Raw YAML text: a document dumped with anchors, then perhaps cut or spliced."""
    return st.one_of(
        documents().map(lambda raw: yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)),
        st.tuples(documents(), st.integers(0, 400)).map(
            lambda t: yaml.safe_dump(t[0], sort_keys=False)[: -t[1] or None]),  # torn
        st.tuples(documents(), _yaml_snippets()).map(
            lambda t: yaml.safe_dump(t[0], sort_keys=False) + f"description: {t[1]}\n"),
    )


@QUICK
@given(raw=documents(), sets=overrides())
def test_fuzzed_documents_and_sets_give_a_scenario_or_one_line(tmp_path_factory, raw, sets):
    check_outcome(_write(tmp_path_factory, raw), sets)


@QUICK
@given(text=_doc_texts())
def test_fuzzed_yaml_text_gives_a_scenario_or_one_line(tmp_path_factory, text):
    check_outcome(_write(tmp_path_factory, text), [])


@pytest.mark.slow
@LONG
@given(raw=documents(), sets=overrides())
def test_fuzzed_documents_and_sets_long(tmp_path_factory, raw, sets):
    check_outcome(_write(tmp_path_factory, raw), sets)


@pytest.mark.slow
@LONG
@given(text=_doc_texts())
def test_fuzzed_yaml_text_long(tmp_path_factory, text):
    check_outcome(_write(tmp_path_factory, text), [])


def test_the_fuzzer_reaches_valid_scenarios_and_errors():
    """The generators are not degenerate: the quick runs above met valid scenarios and
    errors both (recorded by ``check_outcome``)."""
    if not OUTCOMES:
        pytest.skip("run with the fuzz tests above")
    assert OUTCOMES["valid"] >= 5 and OUTCOMES["error"] >= 50, OUTCOMES
