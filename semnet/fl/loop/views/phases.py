"""The phases view: open a phase, score it (test and validation links, metrics records,
progress), checkpoint its models, and close it as a :class:`PhaseRecord`; with the
guard that stops a run whose scores are not finite or whose validation PSNR collapsed."""

from __future__ import annotations

import math
import time
from typing import Callable

from torch import nn

from semnet.fl.loop.evaluation import LinkEvaluator, LinkModules, LinkQuality, summarize
from semnet.fl.loop.guard import all_finite, collapsed
from semnet.fl.loop.views.position import Position
from semnet.fl.loop.views.records import PhaseRecord, cpu_state
from semnet.fl.loop.views.rounds import Rounds
from semnet.fl.loop.views.topology import TopologyView
from semnet.sim import Simulator


class Phases:
    def __init__(self, sim: Simulator, position: Position, rounds: Rounds, topology: TopologyView, *,
                 evaluator: LinkEvaluator, validator: LinkEvaluator | None, record_metric: Callable[[dict], None],
                 progress: Callable[[dict], None], collapse_drop_db: float | None, save_checkpoints: bool,
                 save_checkpoint: Callable[[str, dict], object] | None, interim_checkpoints: set[str], learns: bool):
        self._sim, self._position, self._rounds, self._topology = sim, position, rounds, topology
        self._evaluator, self._validator = evaluator, validator
        self._record_metric, self._progress = record_metric, progress
        self._collapse_drop_db, self._save_checkpoints = collapse_drop_db, save_checkpoints
        self._save_checkpoint = save_checkpoint
        self.interim_checkpoints = interim_checkpoints  # shared with branches: the runner discards them at the end
        self._learns = learns
        self._phase_start = (0, sim.now_s, 0, time.perf_counter())
        self._last_validation_db: float | None = None  # the latest validation PSNR of this branch
        self._reference_db: float | None = None  # the current phase's start, for the collapse check

    def begin(self, name: str) -> None:
        self._position.enter_phase(name)
        self._phase_start = (self._sim.bytes_total, self._sim.now_s, self._rounds.local_steps, time.perf_counter())
        self._reference_db = self._last_validation_db  # the models start where the last phase ended

    def watch_collapse(self, encoder_of, decoder_of) -> None:
        """Score the phase's starting models on the validation images, unrecorded, as the
        reference of the collapse check, unless the last phase's end already is one."""
        if (self._reference_db is not None or self._collapse_drop_db is None or self._validator is None
                or not self._validator.links):
            return
        value = summarize(self._validator.evaluate(encoder_of, decoder_of))["psnr_db"]
        self._reference_db = value if math.isfinite(value) else None

    @property
    def validates(self) -> bool:
        """Whether the users hold validation images (held out of their training data)."""
        return self._validator is not None and bool(self._validator.links)

    def evaluate(
        self,
        encoder_of: Callable[[int], nn.Module],
        decoder_of: Callable[[int], nn.Module],
        *,
        final: bool = False,
        validation: bool = False,
    ) -> tuple[list[LinkQuality], dict]:
        """Score every image link and append a point to metrics.jsonl."""
        evaluator = self._validator if validation else self._evaluator
        links = evaluator.evaluate(encoder_of, decoder_of)
        quality = summarize(links)
        position = self._position
        record = {
            "branch": position.branch,
            "phase": position.phase,
            "round": position.round,
            "split": "validation" if validation else "test",
            "final": final,
            "sim_time_s": self._sim.now_s,
            "bytes_cumulative": self._sim.bytes_total,
            "local_steps": self._rounds.local_steps,
            **quality,
        }
        self._record_metric(record)
        self._progress(record)
        self._check_quality(links, quality, validation)
        return links, quality

    def _check_quality(self, links: list[LinkQuality], quality: dict, validation: bool) -> None:
        """Stop a run whose scores are not finite, or whose validation PSNR collapsed."""
        if not links:
            return
        position = self._position
        split = "validation" if validation else "test"
        if not math.isfinite(quality["psnr_db"]):
            bad = next(q for q in links if not math.isfinite(q.psnr_db))
            position.stop(f"non-finite {split} PSNR on link {bad.src}->{bad.dst} (user {bad.src})", user=bad.src)
        if not validation:
            return
        value, drop = quality["psnr_db"], self._collapse_drop_db
        if self._reference_db is None and position.round == 0:
            self._reference_db = value  # scored before the phase's first round: its start
        elif collapsed(value, self._reference_db, drop):
            worst = min(links, key=lambda q: q.psnr_db)
            position.stop(
                f"validation PSNR {value:.2f} dB is {self._reference_db - value:.2f} dB below the phase's start "
                f"({self._reference_db:.2f} dB; limit simulation.collapse_drop_db = {drop:g}), worst on link "
                f"{worst.src}->{worst.dst} of user {worst.src}", user=worst.src, verb="collapsed")
        self._last_validation_db = value

    def end(self, encoder_of=None, decoder_of=None, validation_psnr_db: float | None = None) -> PhaseRecord:
        """Evaluate on the test links (unless no models are given) and close the phase.

        Where users hold validation images, the phase is also scored on them, so that
        hyper-parameters can be chosen without looking at the test images; a caller
        that has just validated these very models passes ``validation_psnr_db``.
        """
        if encoder_of is None:
            links, quality = [], summarize([])
            self.report()
        else:
            if validation_psnr_db is None and self.validates:
                validation_psnr_db = self.evaluate(encoder_of, decoder_of, validation=True)[1]["psnr_db"]
            links, quality = self.evaluate(encoder_of, decoder_of, final=True)
        bytes0, t0, steps0, wall0 = self._phase_start
        return PhaseRecord(
            name=self._position.phase,
            psnr_db=quality["psnr_db"],
            ssim=quality["ssim"],
            worst_link_psnr_db=quality["worst_link_psnr_db"],
            bytes=self._sim.bytes_total - bytes0,
            bytes_cumulative=self._sim.bytes_total,
            sim_time_s=self._sim.now_s - t0,
            sim_time_end_s=self._sim.now_s,
            local_steps=self._rounds.local_steps - steps0,
            rounds=self._position.round,
            wall_time_s=time.perf_counter() - wall0,
            links=[q.as_dict() for q in links],
            validation_psnr_db=validation_psnr_db,
            accuracy=quality.get("accuracy"),
            ms_ssim=quality.get("ms_ssim"),
        )

    def checkpoint(self, name: str, model: nn.Module) -> None:
        """Save ``model``'s state now as the interim file ``checkpoints/name`` (a branch's
        name gets the branch as prefix), overwriting the last one: a long run stopped
        early leaves its latest weights behind. A run that finishes discards it."""
        if self._save_checkpoint is None or not self._save_checkpoints:
            return
        if not all_finite(model.parameters()):  # keep the last good file for inspection
            self._position.stop(f"non-finite weights in the model saved as {name}")
        if self._position.branch != "main":
            name = f"{self._position.branch}_{name}"
        self._save_checkpoint(name, cpu_state(model))
        self.interim_checkpoints.add(name)

    def checkpoint_end(self, encoder_of, decoder_of) -> None:
        """Save the models every link uses at the end of a phase that scored finite, as
        the interim ``checkpoints/last_phase.pt``: a run that diverges later leaves
        its last good models for inspection (a finished run discards the file)."""
        if self._save_checkpoint is None or not self._save_checkpoints or not self._learns:
            return
        states: dict[int, dict] = {}  # one state per module: a global model is stored once

        def state(module: nn.Module) -> dict:
            if id(module) not in states:
                states[id(module)] = cpu_state(module)
            return states[id(module)]

        branch = self._position.branch
        name = "last_phase.pt" if branch == "main" else f"{branch}_last_phase.pt"
        links = self._topology.image_links()
        if isinstance(encoder_of, LinkModules):  # a pair per link
            models = {"links": {link: {"encoder": state(encoder_of[link]), "decoder": state(decoder_of[link])}
                                for link in links}}
        else:
            models = {
                "encoders": {i: state(encoder_of(i)) for i in sorted({i for i, _ in links})},
                "decoders": {j: state(decoder_of(j)) for j in sorted({j for _, j in links})},
            }
        self._save_checkpoint(name, {"phase": self._position.phase, "round": self._position.round, **models})
        self.interim_checkpoints.add(name)

    def report(self, **fields) -> None:
        """A progress record (the terminal's line) of where the branch is now."""
        position = self._position
        self._progress({"branch": position.branch, "phase": position.phase, "round": position.round,
                        "sim_time_s": self._sim.now_s, "bytes_cumulative": self._sim.bytes_total, **fields})

    def evaluate_at_snr(self, snr_db: float, encoder_of, decoder_of) -> list[LinkQuality]:
        """Score every test link as if its SNR were ``snr_db`` (no metrics record)."""
        return self._evaluator.at_snr(snr_db).evaluate(encoder_of, decoder_of)

    def state(self) -> dict:
        return {"phase_start": self._phase_start[:3],  # the wall clock is not state
                "last_validation_db": self._last_validation_db, "reference_db": self._reference_db}

    def load_state(self, state: dict) -> None:
        self._phase_start = (*state["phase_start"], time.perf_counter())
        self._last_validation_db, self._reference_db = state["last_validation_db"], state["reference_db"]
