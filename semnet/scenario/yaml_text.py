"""YAML text read safely and within bounds: the safe loader with duplicate keys refused
and ``1e5`` read as a float, and limits on size, aliases, expanded values and nesting
checked on libyaml's event stream before anything is built, so that an alias bomb or a
generated file is one line in well under a second."""

from __future__ import annotations

import re
from typing import Any

import yaml

from semnet.errors import ScenarioError


# what a scenario, sweep or --set value may hold: scenarios are a few kilobytes and a
# few hundred values, so these limits only ever stop files that would take minutes and
# gigabytes to read (an alias bomb, a generated file), before they are read
MAX_FILE_BYTES = 1 << 20  # 1 MiB
MAX_ALIASES = 1_000  # uses of '*anchor'
MAX_VALUES = 100_000  # values (scalars, lists, mappings) with every alias expanded
MAX_DEPTH = 100  # nested lists and mappings
MAX_EXTENDS = 20  # files one scenario reads through 'extends:', its lists and chains together


class YamlLimitError(ScenarioError):
    """A YAML document over one of the limits above (raised while it is composed, so
    nothing is built from it)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain PyYAML keeps the last one silently)
    and documents over the limits above."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"{_at(self.peek_event())}more than {MAX_ALIASES:,} aliases (*name); "
                                     "write the values out")
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(f"{_at(self.peek_event())}lists and mappings nested more than {MAX_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return self.construct_document(node)


def _at(event) -> str:
    mark = getattr(event, "start_mark", None)
    return f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""


def _check_expanded_size(root: yaml.Node) -> None:
    """Refuse a document whose values, every alias expanded, exceed :data:`MAX_VALUES`
    (counted once per distinct node, so an alias bomb costs nothing to measure), or
    where an alias refers to the section it is in."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlLimitError(f"{_at(node)}an alias refers to the section it is in (a loop)")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_VALUES:
            raise YamlLimitError(f"{_at(node)}more than {MAX_VALUES:,} values once its aliases are expanded")
        sizes[key] = total
        return total

    size(root)


_FAST_PARSER = getattr(yaml, "CSafeLoader", None)  # libyaml's parser, where PyYAML was built with it


def _check_limits(text: str) -> None:
    """Measure ``text``'s YAML events against the limits (libyaml's parser where there is
    one: a megabyte in well under a second) before the loader builds anything; a syntax
    error is left to the loader, which reports it with its position."""
    aliases = total = 0  # values in the document so far, every alias expanded
    sizes: dict[str, int] = {}  # anchor -> values it stands for, expanded
    stack: list[list] = [[None, 0]]  # open lists and mappings: [anchor, values in it]
    try:
        for event in yaml.parse(text, Loader=_FAST_PARSER or yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise YamlLimitError(f"{_at(event)}more than {MAX_ALIASES:,} aliases (*name); write the values out")
                if any(frame[0] == event.anchor for frame in stack):
                    raise YamlLimitError(f"{_at(event)}an alias refers to the section it is in (a loop)")
                size = sizes.get(event.anchor, 1)
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                size = 0
                stack.append([event.anchor, 1])
                total += 1
                if len(stack) - 1 > MAX_DEPTH:
                    raise YamlLimitError(f"{_at(event)}lists and mappings nested more than {MAX_DEPTH} deep")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, size = stack.pop()
                if anchor is not None:
                    sizes[anchor] = size
                stack[-1][1] += size
                continue
            else:
                continue
            stack[-1][1] += size
            total += size
            if total > MAX_VALUES:
                raise YamlLimitError(f"{_at(event)}more than {MAX_VALUES:,} values once its aliases are expanded")
    except yaml.YAMLError:
        return


def parse_yaml(text: str) -> Any:
    """``text`` read with the scenario loader within the limits above. Raises
    :class:`YamlLimitError`, ``yaml.YAMLError``, or ``ValueError``/``RecursionError`` for a
    value Python cannot build (callers turn each into their own one line)."""
    _check_limits(text)
    return yaml.load(text, Loader=_UniqueKeyLoader)


def load_yaml_text(text: str, source: str) -> Any:
    """Parse ``text`` (from ``source``) with the scenario loader: safe, no duplicate keys,
    within the limits above; one-line :class:`ScenarioError` otherwise."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlLimitError(f"{source}: {len(text):,} characters; a scenario or sweep file may have at most "
                             f"{MAX_FILE_BYTES:,} bytes")
    try:
        return parse_yaml(text)
    except YamlLimitError as err:
        raise YamlLimitError(f"{source}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}:" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError(f"{source}:{where} YAML syntax error: {clip(problem)}") from None
    except (ValueError, RecursionError) as err:  # an integer of more than 4300 digits, ...
        raise ScenarioError(f"{source}: a value cannot be read: {clip(str(err).splitlines()[0] if str(err) else '')}"
                            f" ({type(err).__name__})") from None


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, built only that far: a value of a
    million items (or an alias bomb) costs no more than a small one."""
    text = _bounded_repr(value, limit + 1)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bounded_repr(value: Any, budget: int, depth: int = 0) -> str:
    """``repr(value)``, or its first ``budget`` characters or more (never all of a huge value)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 200:  # repr of an int of thousands of digits is slow, or refused
            return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return repr(value)
    if isinstance(value, (str, bytes)):
        return repr(value[: budget + 2]) if len(value) > budget + 2 else repr(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if depth > 20:
            return "..."
        if isinstance(value, dict):
            opening, closing = "{", "}"
            items = ((k, v) for k, v in value.items())
        else:
            opening, closing = {list: "[]", tuple: "()", set: "{}", frozenset: "{}"}.get(type(value), "[]")
            items = ((None, v) for v in value)
        parts, used = [], 1
        for key, item in items:
            if used > budget:
                parts.append("...")
                break
            text = _bounded_repr(item, budget - used, depth + 1)
            if key is not None or isinstance(value, dict):
                text = f"{_bounded_repr(key, budget - used, depth + 1)}: {text}"
            parts.append(text)
            used += len(text) + 2
        inner = ", ".join(parts)
        if isinstance(value, tuple) and len(parts) == 1 and parts[0] != "...":
            inner += ","
        if isinstance(value, (set, frozenset)) and not parts:
            return f"{type(value).__name__}()"
        return opening + inner + closing
    text = repr(value)
    return text if len(text) <= budget else text[:budget]


def clip(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # unhashable key: construct_mapping reports it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {first + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)

# YAML 1.1 (PyYAML) reads '1e5' as a string; scientists write rates that way, so
# accept exponent floats without a dot too (YAML 1.2 does).
_FLOAT_WITHOUT_DOT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_WITHOUT_DOT, list("-+0123456789"))
