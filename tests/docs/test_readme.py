"""The README and the pages under docs/ say only what exists: every relative link (and
its #anchor) resolves, every `semnet ...` command in their code blocks is one the
command line accepts, every repository path a README command names is there, and each
result table has one home.

The checkers are plain functions, and the last tests show that they fail on a page that
is wrong (a missing file, a missing heading, an unknown command, a missing path)."""

from __future__ import annotations

import contextlib
import glob
import io
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, REPO / "benchmarks" / "README.md", *sorted((REPO / "models").glob("*.md")),
         *sorted(DOCS.rglob("*.md"))]
# repository paths a README command may name as an input; outputs (runs/, --out DIR) are made by the command
CHECKED_PREFIXES = ("scenarios/", "results/", "benchmarks/", "docs/", "models/")

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.I)


# --------------------------------------------------------------------------- links


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (word characters,
    spaces and hyphens kept), spaces to hyphens; link text of a link inside it kept."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a Markdown file defines: its headings' (duplicates numbered as GitHub
    does) and explicit ``<a id=...>``/``<a name=...>``."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set(HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def links(text: str) -> list[str]:
    """Link and image targets of Markdown ``text``, code blocks and code spans left out."""
    text = FENCE.sub("", text)
    text = CODE_SPAN.sub(lambda m: "x" * len(m.group(2)), text)
    return LINK.findall(text)


def link_problems(page: Path) -> list[str]:
    """One line per relative link of ``page`` that does not resolve: a missing file, or
    an ``#anchor`` that is no heading (or explicit anchor) of its Markdown target."""
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.exists():
            problems.append(f"{page.relative_to(REPO) if page.is_relative_to(REPO) else page}: "
                            f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{page.relative_to(REPO) if page.is_relative_to(REPO) else page}: "
                            f"{target}: no heading '#{anchor}' in {resolved.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves(page):
    assert link_problems(page) == []


# --------------------------------------------------------------------------- commands


def code_lines(text: str) -> list[str]:
    """The lines of the code blocks of Markdown ``text`` (fenced, or indented by four
    spaces or more), backslash continuations joined."""
    lines: list[str] = []
    for match in FENCE.finditer(text):
        lines += match.group(0).splitlines()[1:-1]
    outside = FENCE.sub("", text)
    lines += [line for line in outside.splitlines() if line.startswith("    ") and line.strip()]
    joined, pending = [], ""
    for line in lines:
        line = line.strip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return joined


def semnet_commands(text: str) -> list[list[str]]:
    """Every ``semnet ...`` command of the code blocks of ``text``, as arguments (comments dropped)."""
    commands = []
    for line in code_lines(text):
        for part in re.split(r"\s(?:&&|;)\s", line):
            part = part.strip()
            if part.startswith("semnet "):
                commands.append(shlex.split(part, comments=True)[1:])
    return commands


def command_problems(args: list[str]) -> str | None:
    """None if ``semnet ARGS`` is a command line semnet's parsers accept (``analyse``:
    the analysis commands' parser), else why not."""
    from semnet.analysis.__main__ import build_parser as analysis_parser
    from semnet.cli.main import _analyse_argv, build_parser

    rest = _analyse_argv(args)
    parser, argv = (analysis_parser("semnet analyse"), rest) if rest is not None else (build_parser(), args)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit:
        return f"semnet {' '.join(args)}: {err.getvalue().strip().splitlines()[-1]}"
    return None


def path_problems(args: list[str], root: Path = REPO) -> list[str]:
    """Repository paths (inputs under scenarios/, results/, benchmarks/, docs/, models/)
    that ``semnet ARGS`` names and that do not exist; ``--out`` targets are outputs."""
    problems, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--out":
            skip = True
            continue
        value = arg.split("=", 1)[1] if "=" in arg and not arg.startswith("-") else arg  # --set KEY=PATH
        if not value.startswith(CHECKED_PREFIXES):
            continue
        if not (glob.glob(str(root / value)) if glob.has_magic(value) else (root / value).exists()):
            problems.append(f"semnet {' '.join(args)}: {value} does not exist")
    return problems


README_COMMANDS = semnet_commands(README.read_text(encoding="utf-8"))


def test_the_readme_names_commands():
    used = {args[0] for args in README_COMMANDS}
    assert {"run", "validate", "sweep", "list", "report", "analyse"} <= used


@pytest.mark.parametrize("args", README_COMMANDS, ids=lambda a: " ".join(a)[:60])
def test_readme_commands_exist(args):
    assert command_problems(args) is None
    assert path_problems(args) == []


@pytest.mark.parametrize("page", [p for p in PAGES if p != README], ids=lambda p: str(p.relative_to(REPO)))
def test_commands_on_the_pages_exist(page):
    problems = [command_problems(args) for args in semnet_commands(page.read_text(encoding="utf-8"))]
    assert [p for p in problems if p] == []


def test_the_ci_runs_the_readmes_test_command():
    """``.ci/run`` runs exactly the README's test command (its second indented command)."""
    commands = [line.strip() for line in README.read_text(encoding="utf-8").splitlines()[:12]
                if line.startswith("    ")]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert len(commands) == 2 and ci == commands[1]


# --------------------------------------------------------------------------- the docs' shape


def test_the_readme_indexes_every_page():
    """Every hand-written page under docs/ (tables `semnet analyse` writes excepted: they
    sit beside their study page) is linked from the README."""
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README.read_text(encoding="utf-8"))}
    pages = [p for p in DOCS.rglob("*.md") if "results" not in p.relative_to(DOCS).parts or p.name == "README.md"]
    assert sorted(str(p.relative_to(REPO)) for p in pages if p.resolve() not in linked) == []


def tables(text: str) -> list[str]:
    """The Markdown tables of ``text`` with at least three data rows, each as one string."""
    found, block = [], []
    for line in FENCE.sub("", text).splitlines() + [""]:
        if line.lstrip().startswith("|"):
            block.append(line.strip())
            continue
        if len(block) >= 5:  # header, rule, three rows
            found.append("\n".join(block))
        block = []
    return found


def test_each_table_has_one_home():
    """No table (of three rows or more) appears in two pages."""
    homes: dict[str, list[str]] = {}
    for page in PAGES:
        for table in tables(page.read_text(encoding="utf-8")):
            homes.setdefault(table, []).append(str(page.relative_to(REPO)))
    assert [where for where in homes.values() if len(where) > 1] == []


# --------------------------------------------------------------------------- the checkers can fail


def test_the_link_check_sees_broken_links(tmp_path):
    (tmp_path / "there.md").write_text("# A heading\n\n## `code` — and more\n\n<a id=\"own\"></a>\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](there.md) [fine](there.md#a-heading) [fine](there.md#code--and-more) [fine](there.md#own)\n"
        "![figure](missing.png) [gone](nowhere.md) [bad anchor](there.md#no-such-heading)\n"
        "[self](#missing-here) [web](https://example.org/x.md) `[in code](nowhere-either.md)`\n"
        "```\n[in a block](nowhere-at-all.md)\n```\n"
    )
    problems = link_problems(page)
    assert len(problems) == 4, problems
    assert any("missing.png: no such file" in p for p in problems)
    assert any("nowhere.md: no such file" in p for p in problems)
    assert any("there.md#no-such-heading: no heading" in p for p in problems)
    assert any("#missing-here: no heading" in p for p in problems)


def test_the_link_check_fails_on_a_broken_readme_link(tmp_path):
    """The README itself with one link broken: the check names it."""
    broken = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8").replace("(docs/concepts.md)", "(docs/concepts-gone.md)", 1)
    assert text != README.read_text(encoding="utf-8")
    broken.write_text(text, encoding="utf-8")
    problems = link_problems(broken)
    assert any("docs/concepts-gone.md: no such file" in p for p in problems)


def test_the_command_checks_see_wrong_commands(tmp_path):
    text = ("    semnet run scenarios/quickstart.yaml --set seed=1\n"
            "    semnet frobnicate scenarios/quickstart.yaml\n"
            "    semnet analyse tabel results/quickstart --out x   # a typo\n"
            "    semnet run scenarios/no_such.yaml\n")
    commands = semnet_commands(text)
    assert [c[:2] for c in commands] == [["run", "scenarios/quickstart.yaml"], ["frobnicate", "scenarios/quickstart.yaml"],
                                         ["analyse", "tabel"], ["run", "scenarios/no_such.yaml"]]
    assert command_problems(commands[0]) is None and path_problems(commands[0]) == []
    assert "invalid choice: 'frobnicate'" in command_problems(commands[1])
    assert "invalid choice: 'tabel'" in command_problems(commands[2])
    assert path_problems(commands[3]) == ["semnet run scenarios/no_such.yaml: scenarios/no_such.yaml does not exist"]
