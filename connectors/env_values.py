"""Tuning variables shared by the connectors: cadences (a number of days/minutes, or ``never``) and counts.

Each connector declares ``{field: Duration(...) | Count(...)}`` and calls :func:`read`; a variable that is unset or
empty is left out, so the dataclass default stays the single source of the default. A bad value raises the
connector's own ``ConfigError`` naming the variable and the value: an operator's typo must fail the run, not be
ignored and leave the default silently in place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

NEVER = "never"


@dataclass(frozen=True)
class Duration:
    """A number of ``unit`` (fractions allowed, >= 0); ``never`` -> None when the option is Optional."""

    var: str
    unit: Literal["days", "minutes"]
    allow_never: bool = True
    allow_zero: bool = True  # 0 = every run; off where 0 would mean something else (e.g. a session age)


@dataclass(frozen=True)
class Count:
    """A whole number of at least ``minimum``."""

    var: str
    minimum: int = 1


def text(env: Mapping[str, str], var: str) -> str | None:
    """The stripped value, or None when unset or blank (= use the default)."""
    value = (env.get(var) or "").strip()
    return value or None


def parse_duration(spec: Duration, value: str, error: type[Exception]) -> timedelta | None:
    bound = ">= 0 (0 = every run)" if spec.allow_zero else "above 0"
    expected = f"a number of {spec.unit} {bound}" + (f" or '{NEVER}'" if spec.allow_never else "")
    if value.lower() == NEVER:
        if spec.allow_never:
            return None
        raise error(f"{spec.var}={value!r}: this cadence cannot be turned off; expected {expected}")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise error(f"{spec.var}={value!r} is invalid: expected {expected}")
    try:
        result = timedelta(**{spec.unit: number})
    except OverflowError:
        raise error(f"{spec.var}={value!r} is too large: expected {expected}") from None
    if not result and not spec.allow_zero:  # also a fraction below timedelta's microsecond resolution
        raise error(f"{spec.var}={value!r} is invalid: expected {expected}")
    return result


def parse_count(spec: Count, value: str, error: type[Exception]) -> int:
    try:
        number = int(value)
    except ValueError:
        raise error(f"{spec.var}={value!r} is not a whole number") from None
    if number < spec.minimum:
        raise error(f"{spec.var}={value!r} must be at least {spec.minimum}")
    return number


def read(env: Mapping[str, str], specs: Mapping[str, Duration | Count], error: type[Exception]) -> dict[str, Any]:
    """``{field: parsed value}`` for each variable that is set; raises ``error`` naming the variable and value."""
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        value = text(env, spec.var)
        if value is None:
            continue
        if isinstance(spec, Duration):
            out[name] = parse_duration(spec, value, error)
        else:
            out[name] = parse_count(spec, value, error)
    return out
