"""docs/plugins.md, executed as written: its files are written out, its commands run
in a fresh process (as a user would type them), and the run they make is checked."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
BLOCK = re.compile(r"<!-- (file: (?P<name>\S+)|run(: (?P<run>\S+))?) -->\n```\w+\n(?P<body>.*?)```", re.S)


def _blocks(run: str = "prox"):
    """The page's files, and the commands of its run block ``run`` (``<!-- run: NAME -->``;
    the first tutorial's block is a bare ``<!-- run -->``)."""
    files, commands = {}, []
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        if match["name"]:
            files[match["name"]] = match["body"]
        elif (match["run"] or "prox") == run:
            commands += [line for line in match["body"].splitlines() if line.strip()]
    return files, commands


def _semnet() -> list[str]:
    script = Path(sys.executable).with_name("semnet")
    return [str(script)] if script.exists() else [shutil.which("semnet")]


def test_the_tutorial_has_its_files_and_commands():
    files, commands = _blocks()
    assert {"my_plugin.py", "prox_nakagami.yaml", "median_plugin.py", "median.yaml", "clip_plugin.py",
            "clip.yaml"} <= set(files)
    assert [c.split()[1] for c in commands] == ["list", "validate", "run", "report"]
    assert [c.split()[1] for c in _blocks("median")[1]] == ["validate", "run"]
    assert [c.split()[1] for c in _blocks("clip")[1]] == ["list", "validate", "run"]


def _run_as_written(tmp_path, commands: list[str]) -> list[str]:
    """Write the page's files into ``tmp_path`` and run ``commands`` there, as typed."""
    files, _ = _blocks()
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    # the console script may be another checkout's (git worktrees share one environment):
    # the package under test is this tree's
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(DOC.parents[1])}
    outputs = []
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "semnet"
        done = subprocess.run(_semnet() + args[1:], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        outputs.append(done.stdout)
    return outputs


def test_the_tutorial_runs_as_written(tmp_path):
    outputs = _run_as_written(tmp_path, _blocks()[1])
    assert "prox_finetune" in outputs[0] and "finefed" in outputs[0]  # built-ins and the plugin's
    run = tmp_path / "runs" / "prox_nakagami"
    summary = json.loads((run / "summary.json").read_text())
    assert [p["name"] for p in summary["phases"]] == ["pretrain_fedavg", "prox_finetune"]
    assert summary["method"] == "prox_finetune"
    assert summary["network"]["fading"] == "nakagami"
    assert len(summary["links"]) == 8  # a 4-user ring, both directions
    assert all(link["psnr_db"] > 0 for link in summary["links"])
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    # Nakagami-1.5 at 10 dB with Shannon rates at half the capacity: about one packet in
    # ten is in outage, so some model messages need retransmissions
    assert any(e["attempts"] > 1 for e in events)
    assert "prox_finetune" in outputs[3]


def _function(source: str, name: str):
    """The function ``name`` of a module's ``source``, alone (the module itself is not
    imported: it would register its method in this process's registry)."""
    import ast

    import torch

    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"torch": torch}
    exec(compile(ast.Module([node], type_ignores=[]), DOC.name, "exec"), namespace)
    return namespace[name]


def test_the_messaging_strategy_runs_as_written(tmp_path):
    """The median strategy: every message it names is on the wire at the model's size,
    the bytes are their sum, the closing round reaches every user, and the server's
    aggregate is the median (one client far off does not move it)."""
    import torch

    _run_as_written(tmp_path, _blocks("median")[1])
    run = tmp_path / "runs" / "median"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["method"] == "median_avg"
    assert [(p["name"], p["rounds"]) for p in summary["phases"]] == [("median_avg", 3)]
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    model = torch.load(run / "checkpoints" / "global.pt")
    bits = 32 * sum(t.numel() for t in model.values())
    assert {e["bits"] for e in events} == {bits}
    assert sum(e["bits"] for e in events) == 8 * summary["bytes_total"]
    users = range(5)
    for rnd in (1, 2, 3):  # the global model changes every round: everyone downloads it again
        assert sorted(e["dst"] for e in events if e["round"] == rnd and e["kind"] == "global_model") == list(users)
        assert sorted(e["src"] for e in events if e["round"] == rnd and e["kind"] == "model_update") == list(users)
    assert sorted(e["dst"] for e in events if e["round"] == 4) == list(users)  # the closing broadcast
    assert len(events) == 35  # as the page says

    coordinate_median = _function(_blocks()[0]["median_plugin.py"], "coordinate_median")

    gen = torch.Generator().manual_seed(0)
    states = [{"w": torch.randn(3, 4, generator=gen)} for _ in range(5)]
    expected = torch.stack([s["w"] for s in states]).sort(dim=0).values[2]  # the middle of five
    assert torch.equal(coordinate_median(states)["w"], expected)
    far_off = states[:4] + [{"w": torch.full((3, 4), 1e6)}]
    mean = torch.stack([s["w"] for s in far_off]).mean(dim=0)
    assert coordinate_median(far_off)["w"].abs().max() < 10 < mean.abs().min()


def _class(source: str, name: str, namespace: dict):
    """The class ``name`` of a module's ``source``, alone, in ``namespace``."""
    import ast

    node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name)
    exec(compile(ast.Module([node], type_ignores=[]), DOC.name, "exec"), namespace)
    return namespace[name]


def test_the_algorithm_with_options_runs_as_written(tmp_path):
    """The clipping algorithm: listed, its start named after it, its options checked at
    the edge, and its term clips a gradient to the norm it is given."""
    import torch

    from semnet.extend import ClientTerm

    outputs = _run_as_written(tmp_path, _blocks("clip")[1])
    assert "fedavg_clip" in outputs[0] and "feddyn" in outputs[0]
    summary = json.loads((tmp_path / "runs" / "clip" / "summary.json").read_text())
    assert [p["name"] for p in summary["phases"]] == ["pretrain_fedavg_clip", "local_finetune"]

    bad = (tmp_path / "clip.yaml").read_text().replace("max_norm: 0.05", "max_norm: -1")
    (tmp_path / "bad.yaml").write_text(bad)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(DOC.parents[1])}
    done = subprocess.run(_semnet() + ["validate", "bad.yaml"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2 and "method.federated.options.max_norm" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

    clip = _class(_blocks()[0]["clip_plugin.py"], "ClipGradients", {"torch": torch, "ClientTerm": ClientTerm})
    term = clip(0.5)
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([3.0, 4.0, 0.0])  # norm 5
    term.after_backward([p])
    assert torch.allclose(p.grad.norm(), torch.tensor(0.5)) and term.report(1) == {"clipped_steps": 1}
    p.grad = torch.tensor([0.1, 0.0, 0.0])
    term.after_backward([p])
    assert torch.equal(p.grad, torch.tensor([0.1, 0.0, 0.0])) and term.report(2) == {"clipped_steps": 1}
