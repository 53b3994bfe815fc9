"""No code runs from a file semnet reads back (issue 25, point 1).

A pickle can make its reader call any function (``__reduce__`` returning ``os.system``).
Each test plants such a payload, whose call would create a marker file, in one file
semnet reads back (resume checkpoint, completed call, the simulator state inside a
checkpoint, model checkpoint, data cache, a sweep point's checkpoint, CIFAR-10 data),
and asserts that the marker never appears and the answer is one line.
"""

import io
import logging
import os
import pickle
import shutil

import pytest
import torch
import yaml

import semnet.fl.loop.strategy as strategy_module
from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import DataError, RunInterrupted, SemnetError
from semnet.fl.loop.resume import RESUME_CHECKPOINT
from semnet.runner import run_scenario
from semnet.safe_load import CHECKPOINT_RULE, RestrictedUnpickler, load_torch_file
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


class Payload:
    """Runs ``touch MARKER`` when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def _payload_bytes(marker) -> bytes:
    return pickle.dumps(Payload(marker))


def _torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_the_payload_would_run_if_unpickled(tmp_path):
    # the tests below prove something only if the payload does run when loaded freely
    marker = tmp_path / "ran"
    pickle.loads(_payload_bytes(marker))
    assert marker.exists()
    marker.unlink()
    torch.load(io.BytesIO(_torch_bytes({"x": Payload(marker)})), weights_only=False)
    assert marker.exists()


def _raw() -> dict:
    raw = tiny_scenario_dict(controls=[])
    raw["method"]["federated"]["rounds"] = 3
    raw["method"]["finetune"]["decoder_rounds"] = 3
    raw["output"].update(resume_every_rounds=1)
    raw["simulation"]["workers"] = 1
    return raw


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A run interrupted in its third call (FineFed's decoder step), with checkpoints."""
    out = tmp_path_factory.mktemp("payload") / "stopped"
    real, played = strategy_module.play_round, []

    def play(ctx, strategy, rnd):
        played.append(1)
        if len(played) == 6:
            raise KeyboardInterrupt
        return real(ctx, strategy, rnd)

    strategy_module.play_round = play
    try:
        with pytest.raises(RunInterrupted):
            run_scenario(validate(_raw()), out_dir=out)
    finally:
        strategy_module.play_round = real
    checkpoint = load_torch_file(out / "checkpoints" / RESUME_CHECKPOINT)
    assert checkpoint["partial"] is not None and checkpoint["completed"] >= 1
    return out


@pytest.fixture
def run_copy(stopped, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    return out


def _refused(capsys, run_dir, marker) -> str:
    events = (run_dir / "events.jsonl.part").read_bytes()
    rc = main(["run", "--resume", str(run_dir), "--quiet"])
    err = capsys.readouterr().err
    assert not marker.exists(), "the payload ran"
    assert rc == EXIT_USER_ERROR, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert CHECKPOINT_RULE in err
    assert (run_dir / "events.jsonl.part").read_bytes() == events  # nothing lost by refusing
    assert not (run_dir / "summary.json").exists()
    return err


def test_a_payload_in_the_resume_checkpoint_never_runs(run_copy, tmp_path, capsys):
    marker = tmp_path / "ran"
    path = run_copy / "checkpoints" / RESUME_CHECKPOINT
    checkpoint = load_torch_file(path)
    checkpoint["evil"] = Payload(marker)
    path.write_bytes(_torch_bytes(checkpoint))
    err = _refused(capsys, run_copy, marker)
    assert "it refers to code (posix.system)" in err and str(path) in err


def test_a_raw_pickle_as_the_resume_checkpoint_never_runs(run_copy, tmp_path, capsys):
    marker = tmp_path / "ran"
    (run_copy / "checkpoints" / RESUME_CHECKPOINT).write_bytes(_payload_bytes(marker))
    _refused(capsys, run_copy, marker)


def test_a_payload_in_a_completed_call_never_runs(run_copy, tmp_path, capsys):
    marker = tmp_path / "ran"
    call = run_copy / "checkpoints" / "resume" / "call00000.pt"
    snapshot = load_torch_file(call)
    snapshot["strategy"] = ("value", Payload(marker))
    call.write_bytes(_torch_bytes(snapshot))
    assert "call00000.pt" in _refused(capsys, run_copy, marker)


@pytest.mark.parametrize("where", ["partial", "call"])
def test_a_payload_in_the_simulator_state_never_runs(run_copy, tmp_path, capsys, where):
    # the simulator's medium is the one object graph a checkpoint carries (as bytes)
    marker = tmp_path / "ran"
    if where == "partial":
        path = run_copy / "checkpoints" / RESUME_CHECKPOINT
        checkpoint = load_torch_file(path)
        checkpoint["partial"]["ctx"]["sim"]["medium"] = _payload_bytes(marker)
    else:
        path = run_copy / "checkpoints" / "resume" / "call00000.pt"
        checkpoint = load_torch_file(path)
        checkpoint["ctx"]["sim"]["medium"] = _payload_bytes(marker)
    path.write_bytes(_torch_bytes(checkpoint))
    err = _refused(capsys, run_copy, marker)
    assert "simulator state" in err and "posix.system" in err


def test_an_untouched_copy_resumes(run_copy, capsys):
    # the refusals above come from the payloads, not from copying the run
    assert main(["run", "--resume", str(run_copy), "--quiet"]) == 0
    assert (run_copy / "summary.json").is_file()


def test_the_medium_unpickler_builds_only_its_classes(tmp_path):
    marker = tmp_path / "ran"
    allowed = frozenset({("collections", "deque")})
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        RestrictedUnpickler(_payload_bytes(marker), allowed).load()
    # a function is refused even when listed: only classes are ever built
    with pytest.raises(pickle.UnpicklingError, match="not a class"):
        RestrictedUnpickler(_payload_bytes(marker), frozenset({("posix", "system")})).load()
    assert not marker.exists()
    from collections import deque

    assert RestrictedUnpickler(pickle.dumps(deque([1, 2])), allowed).load() == deque([1, 2])


def test_a_payload_in_a_model_checkpoint_never_runs(tmp_path, capsys):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(_torch_bytes({"model": {"weight": Payload(marker)}}))
    raw = {"name": "x", "seed": 0, "topology": {"kind": "ring", "num_users": 3},
           "data": {"source": "embedded", "train_per_user": 8, "test_per_user": 2},
           "model": {"checkpoint": str(evil)}, "method": {"name": "fedavg", "federated": {"rounds": 0}},
           "simulation": {"device": "cpu"}, "output": {"progress": False, "dir": str(tmp_path / "runs")}}
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(raw))
    rc = main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert not marker.exists()
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1, err
    assert "model.checkpoint" in err and "posix.system" in err and CHECKPOINT_RULE in err


def test_a_payload_in_a_data_cache_never_runs_and_the_cache_is_rebuilt(tmp_path, caplog):
    from semnet.data.disk_cache import load_cached, save_cached
    from semnet.data.imageset import ImageSet

    marker = tmp_path / "ran"
    path = tmp_path / "cache" / "folder-abc.pt"
    images = ImageSet(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]), ("a", "b"))
    save_cached(path, "abc", images)
    assert load_cached(path, "abc") is not None
    path.write_bytes(_torch_bytes({"key": "abc", "images": Payload(marker)}))
    with caplog.at_level(logging.WARNING, logger="semnet.data.disk_cache"):
        assert load_cached(path, "abc") is None  # rebuilt by its caller, never fatal
    assert not marker.exists()
    [record] = caplog.records
    assert len(record.getMessage().splitlines()) == 1 and "posix.system" in record.getMessage()


def test_a_payload_in_a_sweep_points_checkpoint_never_runs(tmp_path):
    from semnet.sweep.worker import resumable

    marker = tmp_path / "ran"
    point = tmp_path / "point"
    (point / "checkpoints").mkdir(parents=True)
    (point / "scenario.yaml").write_text("name: x\n")
    (point / "events.jsonl.part").write_text("")
    (point / "checkpoints" / RESUME_CHECKPOINT).write_bytes(_torch_bytes({"completed": 0, "offsets": Payload(marker)}))
    assert resumable(point, validate(_raw())) is None  # the point starts afresh
    assert not marker.exists()


def test_a_payload_in_cifar_data_never_runs(tmp_path):
    # torchvision unpickles CIFAR-10's files only after their checksums match the real ones
    import torchvision.datasets.cifar as cifar

    from semnet.data import load_cifar10_pickle

    marker = tmp_path / "ran"
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    for name, _ in cifar.CIFAR10.train_list + cifar.CIFAR10.test_list + [(cifar.CIFAR10.meta["filename"], None)]:
        (base / name).write_bytes(_payload_bytes(marker))
    with pytest.raises(DataError) as info:
        load_cifar10_pickle(tmp_path)
    assert not marker.exists()
    assert len(str(info.value).splitlines()) == 1


def test_load_torch_file_refuses_in_one_line(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "x.pt"
    path.write_bytes(_torch_bytes([1, {"a": Payload(marker)}]))
    with pytest.raises(SemnetError) as info:
        load_torch_file(path)
    assert not marker.exists()
    assert str(info.value) == f"cannot read {path}: it refers to code (posix.system), which is never loaded " \
                              f"({CHECKPOINT_RULE})"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(SemnetError, match=r"unreadable \(") as info:
        load_torch_file(path)
    assert len(str(info.value).splitlines()) == 1
