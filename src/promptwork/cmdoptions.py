"""promptfoo's ``commandLineOptions``: command-line defaults written in the suite file.

Those promptwork has an equivalent for are folded into the suite before it is read, over the
suite's own settings (they stand for command-line flags, which win over the file in promptfoo);
flags given on promptwork's command line still win over them:

* ``maxConcurrency``, ``repeat``, ``delay``, ``cache`` -> ``evaluateOptions``;
* ``output`` (a path or a list) -> added to ``outputPath``;
* ``description`` -> the suite's ``description`` when it has none;
* ``verbose``, ``table``, ``tableCellMaxLength``, ``progressBar``: display only, no effect on
  results (promptwork's ``--no-table``/``--no-progress`` are the command-line switches);
* ``share: false`` and ``write: true`` say what promptwork does anyway (it never uploads and
  stores every run); ``share: true`` and ``write: false`` are refused.

Every other key promptfoo has there is refused by name, with promptwork's flag where one exists.
"""

from __future__ import annotations

from typing import Any

from promptwork.yamlfile import LineMap, did_you_mean

__all__ = ["KEY", "fold_command_line_options"]

KEY = "commandLineOptions"
_EVALUATE = ("maxConcurrency", "repeat", "delay", "cache")
_DISPLAY = ("verbose", "table", "tableCellMaxLength", "progressBar")
_MAPPED = (*_EVALUATE, "output", "description", *_DISPLAY, "share", "write")
#: promptfoo keys with no equivalent here, and what to do instead.
_REFUSED = {
    "filterFirstN": "use promptwork eval --max-tests N",
    "vars": "give the tests in the suite's 'tests' (a CSV or JSONL file works)",
    "tests": "give the tests in the suite's 'tests'",
    "config": "name the suite file on the command line (promptwork eval -c FILE)",
    "prompts": "give them in the suite's 'prompts'",
    "providers": "give them in the suite's 'providers'",
    "grader": "give the grading model as defaultTest.options.provider",
    "promptPrefix": "give it as defaultTest.options.prefix",
    "promptSuffix": "give it as defaultTest.options.suffix",
    "var": "give the vars in defaultTest.vars",
    "envPath": "set the variables in the suite's 'env' or in the environment",
}


def fold_command_line_options(data: dict[Any, Any], where: LineMap) -> dict[Any, Any]:
    """``data`` with its ``commandLineOptions`` folded in (see the module doc), or as is.

    Raises:
        ConfigError: A key promptwork has no equivalent for, or a bad value, at its line.
    """
    spec = data.get(KEY)
    if spec is None:
        return data
    if not isinstance(spec, dict):
        raise where.error((KEY,), f"'{KEY}' must be a mapping of promptfoo's command-line options")
    for key, value in spec.items():
        problem = _problem(str(key), value)
        if problem:
            raise where.error((KEY, key), problem)
    out = {k: v for k, v in data.items() if k != KEY}
    flags = {k: spec[k] for k in _EVALUATE if k in spec}
    if flags:
        own = data.get("evaluateOptions") or {}
        if not isinstance(own, dict):
            raise where.error(("evaluateOptions",), "'evaluateOptions' must be a mapping")
        out["evaluateOptions"] = {**own, **flags}
    if spec.get("output") is not None:
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        own_out = data.get("outputPath") or []
        out["outputPath"] = [*([own_out] if isinstance(own_out, str) else own_out), *outputs]
    if spec.get("description") is not None and data.get("description") is None:
        out["description"] = spec["description"]
    return out


def _problem(key: str, value: Any) -> str | None:
    if key in _REFUSED:
        return f"commandLineOptions.{key} is not supported here: {_REFUSED[key]}"
    if key not in _MAPPED:
        return (f"commandLineOptions.{key} is not supported{did_you_mean(key, _MAPPED)}; "
                f"supported: {', '.join(_MAPPED)}")
    if key in ("maxConcurrency", "repeat", "tableCellMaxLength") and not _count(value, 1):
        return f"commandLineOptions.{key} must be an integer >= 1, got {value!r}"
    if key == "delay" and not _count(value, 0):
        return f"commandLineOptions.delay must be an integer >= 0, got {value!r}"
    if key in ("cache", "verbose", "table", "progressBar", "share", "write") and not isinstance(
            value, bool):
        return f"commandLineOptions.{key} must be true or false, got {value!r}"
    if key == "share" and value:
        return "commandLineOptions.share: promptwork never uploads results; remove it"
    if key == "write" and not value:
        return "commandLineOptions.write: false is not supported: promptwork stores every run"
    if key == "output" and not _paths(value):
        return "commandLineOptions.output must be a file path or a list of them"
    if key == "description" and not isinstance(value, str):
        return "commandLineOptions.description must be text"
    return None


def _paths(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _count(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
