"""``semnet run`` and its run directory from the command line: two writers at once,
a re-run into a used directory (--overwrite, --resume), ``report`` on unfinished
runs and into a closed pipe, the progress bar off a terminal."""

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from semnet.cli.main import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USER_ERROR, main
from semnet.cli.progress import RunProgress
from tests.fl.conftest import tiny_scenario_dict

from .conftest import exchange_scenario

ROOT = Path(__file__).resolve().parents[2]  # run `python -m semnet...` here: this checkout's package


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "semnet.cli.main", *args]


def test_two_concurrent_writers_one_succeeds_the_other_gets_one_line(tmp_path):
    raw = tiny_scenario_dict(name="fedavg")  # a federated start only: seconds, time enough to overlap
    raw["simulation"]["threads"] = 1
    paths = []
    for seed in (0, 1):
        raw["seed"] = seed
        paths.append(tmp_path / f"seed{seed}.yaml")
        paths[-1].write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    procs = [subprocess.Popen(_cli("run", str(p), "--out", str(out), "--quiet"), cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in paths]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, EXIT_USER_ERROR], results
    winner = next(i for i, (rc, _, _) in enumerate(results) if rc == 0)
    _, _, err = next(r for r in results if r[0] == EXIT_USER_ERROR)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "being written by another semnet process" in err or "already holds a finished run" in err
    # the directory is the winner's alone, whole and consistent
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == winner == yaml.safe_load((out / "scenario.yaml").read_text())["seed"]
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert metrics and metrics[-1]["final"] is True
    assert not list(out.glob("*.part")) and not (out / "status.json").exists()


def test_a_busy_directory_is_refused_before_anything_loads(tmp_path, write_scenario, capsys):
    from semnet.metrics.rundir import RunDirectory

    holder = RunDirectory(tmp_path / "run")
    try:
        rc = main(["run", write_scenario(exchange_scenario()), "--out", str(tmp_path / "run"), "--quiet",
                   "--overwrite"])
    finally:
        holder.abort()
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1 and "being written by another" in err


def test_rerunning_into_an_unfinished_run_asks_for_overwrite(tmp_path, write_scenario, capsys):
    path = write_scenario(exchange_scenario())
    out = tmp_path / "run"
    out.mkdir()
    (out / "scenario.yaml").write_text("seed: 0\n")
    (out / "events.jsonl.part").write_text('{"t": 1}\n')  # what a killed run leaves
    rc = main(["run", path, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1
    assert "holds an unfinished run" in err and "--overwrite" in err and "--resume" in err
    assert (out / "events.jsonl.part").read_text() == '{"t": 1}\n'  # not truncated

    assert main(["run", path, "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert not (out / "events.jsonl.part").exists() and (out / "summary.json").is_file()
    assert main(["run", path, "--out", str(out), "--quiet", "--overwrite"]) == 0  # a finished run too
    capsys.readouterr()


def test_run_without_a_scenario_is_one_line(capsys):
    rc = main(["run"])
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and "give a scenario file" in err


def test_report_says_what_an_unfinished_directory_holds(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "status.json").write_text(json.dumps({"status": "failed", "error": "run diverged: non-finite weights"}))
    (out / "metrics.jsonl.part").write_text("")
    rc = main(["report", str(out)])
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1
    assert "not a finished run directory" in err and "failed run (run diverged: non-finite weights)" in err


def test_report_into_a_closed_pipe_ends_quietly(tmp_path, write_scenario, capsys):
    out = tmp_path / "run"
    assert main(["run", write_scenario(exchange_scenario()), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    # enough text to fill the pipe's buffer after the reader has gone (`semnet report ... | head -1`)
    proc = subprocess.Popen(_cli("report", *[str(out)] * 400), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert first.startswith(b"exchange-test") and err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _round(phase, rnd, **extra):
    return {"branch": "main", "phase": phase, "round": rnd, "sim_time_s": 1.0, "bytes_cumulative": 0, **extra}


def test_progress_draws_nothing_off_a_terminal():
    stream = io.StringIO()
    bar = RunProgress(stream=stream)
    bar(_round("pretrain", 1, clients=3))
    bar.close()
    assert stream.getvalue() == ""  # no stray '0round' line in a log


def test_progress_counts_the_rounds_of_the_current_phase_only():
    bar = RunProgress(stream=_Terminal())
    for rnd in (1, 2, 3):
        bar(_round("pretrain", rnd, clients=3))
    bar(_round("pretrain", 3, split="test", psnr_db=12.5))  # an evaluation is not a round
    assert bar.bar.n == 3 and bar.bar.desc.startswith("pretrain")
    bar(_round("finefed_1_encoder", 1, clients=3))
    assert bar.bar.n == 1 and bar.bar.desc.startswith("finefed_1_encoder")
    assert "PSNR 12.50dB" in str(bar.bar.postfix) and "round" not in str(bar.bar.postfix)
    bar.close()


@pytest.mark.parametrize("enabled", [False])
def test_progress_off_when_disabled(enabled):
    stream = _Terminal()
    bar = RunProgress(enabled=enabled, stream=stream)
    bar(_round("p", 1))
    bar.close()
    assert stream.getvalue() == ""


def _as_from_a_terminal() -> None:
    """The child's SIGINT as a foreground program at a terminal has it. A shell starts
    background jobs (``cmd &`` without job control, as CI runners may) with SIGINT
    ignored, children inherit that, and Python then installs no KeyboardInterrupt
    handler: Ctrl-C would never reach the run (the cause of this test's old hangs)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "kill"])
def test_a_signalled_run_stops_cleanly(tmp_path, signum):
    """A real Ctrl-C (or `kill`) of `semnet run`: one line, exit 130, the directory
    marked interrupted with its records kept."""
    raw = tiny_scenario_dict(name="fedavg")
    raw["method"]["federated"]["rounds"] = 5000  # far longer than the test waits
    raw["simulation"]["threads"] = 1
    raw["simulation"]["workers"] = 1  # the run's own handling, not the worker pool's
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    proc = subprocess.Popen(_cli("run", str(path), "--out", str(out), "--quiet"), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_as_from_a_terminal)
    deadline = time.monotonic() + 120
    events_part = out / "events.jsonl.part"
    while time.monotonic() < deadline and not (events_part.is_file() and events_part.read_text().count("\n") >= 1):
        time.sleep(0.1)  # a round's first event is written: training is under way, however loaded the machine
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "interrupted in phase 'pretrain_fedavg', round" in err and str(out) in err
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted" and status["phase"] == "pretrain_fedavg" and status["round"] >= 1
    events = [json.loads(line) for line in (out / "events.jsonl.part").read_text().splitlines()]
    assert events and max(e["round"] for e in events) <= status["round"]
    assert not (out / "summary.json").exists()
