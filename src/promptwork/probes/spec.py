"""Reading one entry of a suite's ``probes:``: keys, numbers, lists, each error with file:line."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from promptwork.errors import ConfigError
from promptwork.yamlfile import did_you_mean

#: Keys every probe takes.
COMMON_KEYS = ("kind", "threshold", "seed")


def spec_error(where: str, message: str) -> ConfigError:
    """A ConfigError located at ``where`` (``file:line``)."""
    return ConfigError(message, where or None)


def check_keys(spec: Mapping[str, Any], where: str, allowed: Collection[str]) -> None:
    """Refuse a key the probe does not know, with a "did you mean"."""
    known = (*COMMON_KEYS, *allowed)
    for key in spec:
        if key not in known:
            raise spec_error(where, f"probe {spec.get('kind')!r}: unknown key {key!r}"
                             f"{did_you_mean(str(key), known)}; allowed: {', '.join(known)}")


def get_number(spec: Mapping[str, Any], key: str, where: str, default: float | None = None,
               low: float = 0.0, high: float | None = None) -> float | None:
    """A number between ``low`` and ``high`` (inclusive), or ``default`` when absent."""
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low or (
            high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise spec_error(where, f"probe {spec.get('kind')!r}: {key!r} must be a number "
                                f"{bounds}, got {value!r}")
    return float(value)


def get_int(spec: Mapping[str, Any], key: str, where: str, default: int, low: int = 0) -> int:
    """A whole number of at least ``low``."""
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise spec_error(where, f"probe {spec.get('kind')!r}: {key!r} must be a whole number "
                                f"of at least {low}, got {value!r}")
    return value


def get_choice(spec: Mapping[str, Any], key: str, where: str, choices: Collection[str],
               default: str, kind: str, note: str = "") -> str:
    """One of ``choices`` (``default`` when absent); ``note`` follows the list in the error."""
    value = spec.get(key, default)
    if value not in choices:
        raise spec_error(where, f"probe {kind!r}: {key!r} must be one of "
                                f"{', '.join(choices)}{note}, got {value!r}")
    return str(value)


def get_names(spec: Mapping[str, Any], key: str, where: str,
              default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A name or a list of names."""
    value = spec.get(key)
    if value is None:
        return default
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise spec_error(where, f"probe {spec.get('kind')!r}: {key!r} must be a name or a "
                                f"list of names, got {value!r}")
    return tuple(items)


def threshold_of(spec: Mapping[str, Any], where: str) -> float | None:
    """``threshold:``: the rate (0-1) over which the probe fails."""
    return get_number(spec, "threshold", where, None, 0.0, 1.0)


def seed_of(spec: Mapping[str, Any], where: str) -> int:
    """``seed:``: the seed of the probe's random choices (default 0)."""
    return get_int(spec, "seed", where, 0)
