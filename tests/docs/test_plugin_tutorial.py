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
BLOCK = re.compile(r"<!-- (file: (?P<name>\S+)|run) -->\n```\w+\n(?P<body>.*?)```", re.S)


def _blocks():
    files, commands = {}, []
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        if match["name"]:
            files[match["name"]] = match["body"]
        else:
            commands += [line for line in match["body"].splitlines() if line.strip()]
    return files, commands


def _semnet() -> list[str]:
    script = Path(sys.executable).with_name("semnet")
    return [str(script)] if script.exists() else [shutil.which("semnet")]


def test_the_tutorial_has_its_files_and_commands():
    files, commands = _blocks()
    assert set(files) == {"my_plugin.py", "prox_nakagami.yaml"}
    assert [c.split()[1] for c in commands] == ["list", "validate", "run", "report"]


def test_the_tutorial_runs_as_written(tmp_path):
    files, commands = _blocks()
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
