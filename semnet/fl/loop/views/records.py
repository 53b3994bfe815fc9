"""What a phase leaves behind: its record (quality, bytes, time, work) and the CPU
state dicts that checkpoints store."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn


def cpu_state(model: nn.Module) -> dict:
    """``model``'s state dict on the CPU, detached: what checkpoints store."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


@dataclass
class PhaseRecord:
    name: str
    psnr_db: float
    ssim: float
    worst_link_psnr_db: float
    bytes: int
    bytes_cumulative: int
    sim_time_s: float
    sim_time_end_s: float
    local_steps: int
    rounds: int
    wall_time_s: float
    links: list[dict] = field(default_factory=list)
    # federated starts with a convergence check: did it stop improving (else it ran
    # out of rounds)? None where no check applies
    converged: bool | None = None
    # the verdict's grounds: the rule, the learning rate and the validation gain over
    # the last window at the decision, and any decay after it (see ConvergenceCheck)
    convergence: dict | None = None
    # mean link PSNR on the users' validation images (None without them)
    validation_psnr_db: float | None = None
    # mean link accuracy of the task classifier on decoded images (evaluation.task: classify)
    accuracy: float | None = None
    # mean link MS-SSIM, where the images are large enough for it (161 px and up)
    ms_ssim: float | None = None

    def as_dict(self) -> dict:
        # a run without a task, or of small images, keeps the keys it always had
        return {k: v for k, v in self.__dict__.items() if not (k in ("accuracy", "ms_ssim") and v is None)}
