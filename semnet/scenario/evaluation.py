"""``evaluation:`` — what a run scores beside its method: the digital separation
baselines (``evaluation.digital``, see ``docs/features/digital-baselines.md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from semnet.scenario.base import SpecValueError, _Spec

DIGITAL_RATES = ("capacity", "mcs")
DIGITAL_FALLBACKS = ("previous", "mean")


class DigitalSpec(_Spec):
    """Each image compressed by a real codec to the bits of the state it meets, over the
    JSCC image's ``k`` channel uses; scored on the same comparison states."""

    codecs: tuple[str, ...] = Field(("jpeg", "webp"), min_length=1, max_length=8,
                                    description="image codecs (semnet list image_codecs)")
    rates: tuple[Literal["capacity", "mcs"], ...] = Field(
        ("capacity", "mcs"), min_length=1, max_length=2,
        description="capacity: log2(1 + SNR) of the state met; mcs: a 5G NR CQI rate from the last known SNR")
    fallback: Literal["previous", "mean"] = Field(
        "previous", description="what the receiver shows for a lost or unfit image: the previous one on the link "
        "(the dataset mean before any) or the dataset mean")
    mcs_margin_db: float = Field(0.0, ge=0, le=30, description="back-off (dB) from the last known SNR when "
                                 "choosing the CQI entry")

    @field_validator("codecs", "rates")
    @classmethod
    def _distinct(cls, value: tuple) -> tuple:
        if len(set(value)) != len(value):
            raise ValueError(f"names must be distinct, got {list(value)}")
        return value


class EvaluationSpec(_Spec):
    digital: DigitalSpec | None = Field(None, description="digital separation baselines; null: none")
    task: Literal["none", "classify"] = Field(
        "none", description="classify: also score a frozen classifier's accuracy on the decoded images")
    classifier: str | None = Field(None, description="the classifier checkpoint (with task: classify)")

    @model_validator(mode="after")
    def _classifier_with_task(self) -> "EvaluationSpec":
        if self.task == "classify" and not self.classifier:
            raise SpecValueError("classifier", self.classifier, "task: classify needs a classifier checkpoint, e.g. "
                                 "models/classifier_embedded.pt (python -m semnet.task.train_classifier)")
        if self.task == "none" and self.classifier:
            raise SpecValueError("classifier", self.classifier, "used only with task: classify; allowed: null")
        return self
