"""The probe kinds: ``kind:`` of an entry of ``probes:`` -> the class that reads it.

Each class has ``from_spec(spec, where)`` (a classmethod returning the probe, ConfigError with
``where`` on bad keys) and satisfies :class:`promptwork.probes.base.Probe`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from promptwork.probes.base import Probe
from promptwork.probes.spec import spec_error
from promptwork.yamlfile import did_you_mean

#: kind -> "module:Class" (imported when used).
PROBES: dict[str, str] = {
    "robustness": "promptwork.probes.robustness:RobustnessProbe",
    "consistency": "promptwork.probes.consistency:ConsistencyProbe",
    "bias": "promptwork.probes.bias:BiasProbe",
    "offtopic": "promptwork.probes.offtopic:OffTopicProbe",
    "injection": "promptwork.probes.injection:InjectionProbe",
}


def build(spec: Mapping[str, Any], where: str) -> Probe:
    """The probe an entry of ``probes:`` declares (ConfigError naming ``where``)."""
    if not isinstance(spec, Mapping):
        raise spec_error(where, "each entry of 'probes' must be a mapping with a 'kind'")
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in PROBES:
        raise spec_error(where, f"unknown probe kind {kind!r}"
                         f"{did_you_mean(str(kind), PROBES)}; kinds: {', '.join(PROBES)}")
    module, _, name = PROBES[kind].partition(":")
    cls = getattr(importlib.import_module(module), name)
    probe: Probe = cls.from_spec(spec, where)
    return probe
