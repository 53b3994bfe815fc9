"""Run directories for the analysis tests.

Most tests read *synthetic* run directories whose summary.json, metrics.jsonl and
scenario.yaml are written here with known numbers, in the format the runner writes
(see ``semnet/runner.py:build_summary`` and ``semnet/fl/loop/context.py:evaluate``); one
session fixture runs the real tiny scenario to prove the format matches.

This folder has no ``__init__.py`` on purpose: ``tests/`` is not a package, so with
pytest's default import mode ``tests/analysis/__init__.py`` would make the test
package importable as ``analysis`` and shadow the repository root's ``analysis``
(the ``python -m analysis`` shim over ``semnet.analysis``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the root's analysis/ shim and tests.fl are not installed
    sys.path.insert(0, str(REPO))

MB = 1e6

_PHASE_DEFAULTS = {"bytes": 0, "bytes_cumulative": 0, "sim_time_s": 0.0, "sim_time_end_s": 0.0, "local_steps": 0,
                   "rounds": 0, "wall_time_s": 0.0}
_NETWORK_DEFAULTS = {"users": 0, "image_links": 0, "topology": "complete", "snr_db_mean": 0.0, "snr_db_min": 0.0,
                     "snr_db_max": 0.0, "fading": "none"}


def complete_summary(summary: dict) -> dict:
    """``summary`` with the keys every run's summary.json has (zeros where a test does not
    care), so that tests may write only the numbers they check."""
    out = {"status": "complete", "name": "synthetic", "method": "fedavg", "seed": 0, "bytes_total": 0,
           "sim_time_s": 0.0, "wall_time_s": 0.0, "local_steps": 0, "phases": [], **summary}
    out["phases"] = [{**_PHASE_DEFAULTS, **p} for p in out["phases"]]
    out["controls"] = [{**_PHASE_DEFAULTS, **c} for c in out.get("controls", [])]
    if "network" in out:
        out["network"] = {**_NETWORK_DEFAULTS, **out["network"]}
    if "energy" in out:
        out["energy"] = {"users_j": out["energy"]["total_j"], **out["energy"]}
    return out


def _links(num_users: int, snr_db: float, psnr_db: float) -> list[dict]:
    """Complete graph; link 0->1 is 10 dB weaker and 1 dB worse than the rest."""
    out = []
    for i in range(num_users):
        for j in range(num_users):
            if i != j:
                weak = (i, j) == (0, 1)
                out.append({"src": i, "dst": j, "images": 8, "snr_db": snr_db - 10.0 * weak,
                            "psnr_db": round(psnr_db + 0.1 * i - 1.0 * weak, 4), "ssim": 0.8})
    return out


def write_run(
    path: Path,
    *,
    method: str = "fedavg",
    seed: int = 1,
    psnr_db: float = 20.0,
    ft_gain_db: float = 1.0,
    control_gain_db: float = 0.5,
    controls: tuple[str, ...] = ("compute_matched",),
    snr_db: float = 10.0,
    num_users: int = 3,
    radius_m: float = 50.0,
    positions: bool = True,
    metrics: bool = True,
    phase_links: bool = True,
) -> Path:
    """Write a finished run directory with known numbers.

    Every phase and control keeps its per-link quality (``links``, see ``_links``);
    ``phase_links=False`` writes phases without them, as runs before issue 17 did.
    Start phase (every method): PSNR ``psnr_db`` (worst link - 2 dB, SSIM 0.8 + seed/100),
    1 MB, ends at 10 + seed s, 100 local steps, 5 s wall; two test points (0.5 MB,
    half the time, PSNR - 1) and (1 MB, 10 + seed s, PSNR).
    FineFed adds a phase: + ``ft_gain_db``, + 0.4 MB, + 3 s, + 40 steps, 2 s wall; and per
    control: + ``control_gain_db`` over the start, own 0.6 MB, 4 s, 40 steps, 1.5 s wall,
    with branch points at (0.3 MB, +2 s, PSNR + 0.2) and (0.6 MB, +4 s, final).
    """
    path.mkdir(parents=True, exist_ok=True)
    t0 = 10.0 + seed
    start = {"name": "pretrain_fedavg", "psnr_db": psnr_db, "worst_link_psnr_db": psnr_db - 2.0,
             "ssim": 0.8 + seed / 100, "bytes": 1_000_000, "bytes_cumulative": 1_000_000,
             "sim_time_s": t0, "sim_time_end_s": t0, "local_steps": 100, "rounds": 2, "wall_time_s": 5.0,
             "links": _links(num_users, snr_db, psnr_db)}
    rows = [
        {"branch": "main", "phase": "pretrain_fedavg", "round": 1, "split": "test", "final": False,
         "sim_time_s": t0 / 2, "bytes_cumulative": 500_000, "local_steps": 50, "psnr_db": psnr_db - 1.0,
         "ssim": 0.7, "worst_link_psnr_db": psnr_db - 3.0, "wall_time_s": 2.0},
        {"branch": "main", "phase": "pretrain_fedavg", "round": 2, "split": "validation", "final": False,
         "sim_time_s": t0, "bytes_cumulative": 1_000_000, "local_steps": 100, "psnr_db": 99.0,
         "ssim": 0.99, "worst_link_psnr_db": 99.0, "wall_time_s": 4.0},
        {"branch": "main", "phase": "pretrain_fedavg", "round": 2, "split": "test", "final": True,
         "sim_time_s": t0, "bytes_cumulative": 1_000_000, "local_steps": 100, "psnr_db": psnr_db,
         "ssim": start["ssim"], "worst_link_psnr_db": psnr_db - 2.0, "wall_time_s": 5.0},
    ]
    phases, control_records = [start], []
    final_psnr, t_end, total_bytes, steps = psnr_db, t0, 1_000_000, 100
    if method.startswith("finefed"):
        final_psnr, t_end, total_bytes, steps = psnr_db + ft_gain_db, t0 + 3.0, 1_400_000, 140
        phases.append({"name": "finefed_1_decoder", "psnr_db": final_psnr, "worst_link_psnr_db": final_psnr - 2.0,
                       "ssim": 0.85, "bytes": 400_000, "bytes_cumulative": total_bytes, "sim_time_s": 3.0,
                       "sim_time_end_s": t_end, "local_steps": 40, "rounds": 1, "wall_time_s": 2.0,
                       "links": _links(num_users, snr_db, final_psnr)})
        rows.append({"branch": "main", "phase": "finefed_1_decoder", "round": 1, "split": "test", "final": True,
                     "sim_time_s": t_end, "bytes_cumulative": total_bytes, "local_steps": steps,
                     "psnr_db": final_psnr, "ssim": 0.85, "worst_link_psnr_db": final_psnr - 2.0, "wall_time_s": 7.0})
        for name in controls:
            c_psnr = psnr_db + control_gain_db
            control_records.append({
                "name": name, "psnr_db": c_psnr, "worst_link_psnr_db": c_psnr - 2.0, "ssim": 0.82,
                "bytes": 600_000, "bytes_cumulative": 600_000, "sim_time_s": 4.0, "sim_time_end_s": t_end + 4.0,
                "local_steps": 40, "rounds": 3, "wall_time_s": 1.5, "links": _links(num_users, snr_db, c_psnr),
            })
            for k, (b, dt, p) in enumerate([(300_000, 2.0, psnr_db + 0.2), (600_000, 4.0, c_psnr)]):
                rows.append({"branch": f"control_{name}", "phase": name, "round": k + 1, "split": "test",
                             "final": k == 1, "sim_time_s": t_end + dt, "bytes_cumulative": b,
                             "local_steps": 20 * (k + 1), "psnr_db": p, "ssim": 0.82,
                             "worst_link_psnr_db": p - 2.0, "wall_time_s": 8.0 + k})
    if not phase_links:
        for phase in phases:
            del phase["links"]
    links = _links(num_users, snr_db, final_psnr)
    snrs = [q["snr_db"] for q in links]
    summary = {
        "status": "complete", "name": "synthetic", "method": method, "seed": seed,
        "psnr_db": final_psnr, "ssim": phases[-1]["ssim"], "worst_link_psnr_db": final_psnr - 2.0,
        "bytes_total": total_bytes, "sim_time_s": t_end, "wall_time_s": sum(p["wall_time_s"] for p in phases) + 9.0,
        "local_steps": steps, "messages_total": 10, "device": "cpu", "phases": phases, "links": links,
        "controls": control_records,
        "network": {"users": num_users, "image_links": len(links), "topology": "complete",
                    "snr_db_mean": round(sum(snrs) / len(snrs), 4), "snr_db_min": min(snrs),
                    "snr_db_max": max(snrs), "fading": "none"},
    }
    if positions:
        summary["network"]["positions_m"] = {str(u): [10.0 * u, 5.0 * u * u] for u in range(num_users)}
    if method.startswith("finefed"):
        summary["finetune_budget"] = {"local_steps": 40, "bytes": 400_000}
    scenario = {
        "name": "synthetic", "seed": seed,
        "topology": {"kind": "complete", "num_users": num_users, "radius_m": radius_m, "p": 0.3},
        "links": {"snr_db": snr_db, "snr_offset_db": 0.0, "overrides": [{"src": 0, "dst": 1, "snr_db": snr_db - 10}]},
        "method": {"name": method, "controls": list(controls) if method.startswith("finefed") else []},
    }
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    if metrics:
        (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (path / "summary.json").write_text(json.dumps(summary, indent=2))
    return path


@pytest.fixture
def make_run():
    return write_run


@pytest.fixture(scope="session")
def main_runs(tmp_path_factory) -> Path:
    """fedavg and finefed (control compute_matched), seeds 1 and 2, start PSNR 20 and 22 dB."""
    root = tmp_path_factory.mktemp("main_runs")
    for method in ("fedavg", "finefed"):
        for seed, psnr in ((1, 20.0), (2, 22.0)):
            write_run(root / "nested" / f"{method}-seed{seed}", method=method, seed=seed, psnr_db=psnr)
    (root / "not_a_run").mkdir()
    (root / "not_a_run" / "metrics.jsonl.part").write_text("{}\n")
    return root


@pytest.fixture(scope="session")
def snr_runs(tmp_path_factory) -> Path:
    """fedavg and finefed at links.snr_db 0 and 10, seeds 1 and 2: start PSNR 15 + snr/2 + seed."""
    root = tmp_path_factory.mktemp("snr_runs")
    for method in ("fedavg", "finefed"):
        for snr in (0.0, 10.0):
            for seed in (1, 2):
                write_run(root / f"{method}-snr{snr:g}-seed{seed}", method=method, seed=seed, snr_db=snr,
                          psnr_db=15.0 + snr / 2 + seed)
    return root


@pytest.fixture(scope="session")
def topology_runs(tmp_path_factory) -> Path:
    """fedavg with 3 and 5 users, seeds 1 and 2: PSNR 25 - num_users + seed."""
    root = tmp_path_factory.mktemp("topology_runs")
    for n in (3, 5):
        for seed in (1, 2):
            write_run(root / f"fedavg-n{n}-seed{seed}", method="fedavg", seed=seed, num_users=n,
                      psnr_db=25.0 - n + seed)
    return root


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory) -> Path:
    """Two real tiny runs (fedavg; finefed with the compute_matched control), a few seconds."""
    from semnet.runner import run_scenario
    from semnet.scenario import validate
    from tests.fl.conftest import tiny_scenario_dict

    root = tmp_path_factory.mktemp("real_runs")
    for method in ("fedavg", "finefed"):
        raw = tiny_scenario_dict(federated={"rounds": 2, "local": {"steps": 1, "batch_size": 8}})
        raw["method"]["name"] = method
        if method == "finefed":
            raw["method"]["controls"] = ["compute_matched"]
        else:
            del raw["method"]["finetune"]
        raw["output"].update({"eval_every_rounds": 1, "checkpoints": False})
        raw["simulation"]["threads"] = 1
        run_scenario(validate(raw), out_dir=root / method)
    return root
