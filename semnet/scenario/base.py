"""The base of every scenario section: frozen, no unknown keys, no NaN, no booleans for
numbers; and ``SpecValueError``, which carries the key path of a check spanning keys."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

class SpecValueError(ValueError):
    """A check that spans several keys failed; ``key`` (dotted, relative to the section
    being validated) and ``value`` say where, so the loader can print the key path."""

    def __init__(self, key: str, value: Any, message: str):
        super().__init__(message)
        self.key = key
        self.value = value


def _is_number(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(arg in (int, float) for arg in typing.get_args(annotation))
    return False


class _Spec(BaseModel):
    # Non-finite numbers are never meaningful in a scenario (a NaN SNR or an infinite
    # bandwidth would only surface as odd results much later).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        # pydantic reads true/false as 1/0, and YAML 1.1 reads yes/no/on/off as booleans:
        # `num_users: yes` would silently mean one user.
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if isinstance(value, bool) and field is not None and _is_number(field.annotation):
                    raise SpecValueError(key, value, "expected a number, not a boolean")
        return data
