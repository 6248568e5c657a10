"""Suite files: ``promptwork.yaml`` and promptfoo's ``promptfooconfig.yaml``, read as is.

A suite lists prompts, providers and tests (with checks). Keys promptfoo has that promptwork does
not support yet are refused by name; unknown keys get a "did you mean". Every error carries the
file and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptwork.datasets import TestSource
from promptwork.errors import ConfigError
from promptwork.metrics import validate_metrics
from promptwork.prompts import PromptTemplate, load_prompt
from promptwork.templates import TemplateEngine
from promptwork.yamlfile import LineMap, did_you_mean, load_yaml

SUITE_NAMES = ("promptwork.yaml", "promptwork.yml", "promptfooconfig.yaml", "promptfooconfig.yml")

SUPPORTED_KEYS = (
    "description", "prompts", "providers", "tests", "defaultTest", "evaluateOptions",
    "outputPath", "metrics", "tags", "metadata", "sharing", "env", "optimize",
)
#: promptfoo keys we read but do not act on yet, with what to do instead.
UNSUPPORTED_KEYS = {
    "scenarios": "promptfoo 'scenarios' are not supported yet; list the tests directly",
    "derivedMetrics": "'derivedMetrics' are not supported yet; use 'metrics' (classification)",
    "extensions": "'extensions' (JavaScript hooks) are not supported",
    "nunjucksFilters": "'nunjucksFilters' are not supported; templates are Jinja2",
    "redteam": "'redteam' is not supported yet",
    "commandLineOptions": "'commandLineOptions' is not supported; pass options on the command line",
    "tracing": "'tracing' is not supported",
    "writeLatestResults": "'writeLatestResults' is not needed: every run is stored",
}
EVAL_OPTION_KEYS = ("maxConcurrency", "repeat", "delay", "cache", "timeoutMs")
PROVIDER_KEYS = ("id", "label", "config", "delay", "prompts")
PROMPT_KEYS = ("id", "label", "raw")
#: Keys of the promptwork-only ``optimize:`` mapping (``promptwork optimize`` defaults).
OPTIMIZE_KEYS = ("answerVar",)


@dataclass
class PromptEntry:
    index: int
    label: str
    template: PromptTemplate


@dataclass
class ProviderEntry:
    index: int
    id: str
    label: str
    config: dict[str, Any] = field(default_factory=dict)
    prompts: tuple[str, ...] | None = None  # labels this provider runs, when restricted


@dataclass
class EvalOptions:
    max_concurrency: int = 4
    repeat: int = 1
    delay_ms: int = 0
    cache: bool = True
    timeout_ms: int | None = None


@dataclass
class OptimizeOptions:
    """The suite's ``optimize:`` mapping (promptwork only; promptfoo has no such key).

    Attributes:
        answer_var: ``answerVar``: the variable holding each test's reference answer
            (``--answer-var`` overrides it).
    """

    answer_var: str | None = None


@dataclass
class Suite:
    """A validated suite."""

    path: Path | None
    base_dir: Path
    description: str | None
    prompts: list[PromptEntry]
    providers: list[ProviderEntry]
    tests: TestSource
    options: EvalOptions
    output_paths: list[str]
    metrics: list[dict[str, Any]]
    text: str = ""
    optimize: OptimizeOptions = field(default_factory=OptimizeOptions)

    def fingerprint(self) -> str:
        """sha256 over the suite text, every prompt's text and every data file's bytes.

        A run can only be resumed by a suite with the same fingerprint.
        """
        digest = hashlib.sha256(self.text.encode())
        for p in self.prompts:
            digest.update(p.template.content_hash.encode())
        for f in self.tests.files():
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()


def find_suite(path: str | Path | None) -> Path:
    """The suite file: ``path`` itself, or a known suite name inside a folder (default: cwd)."""
    p = Path(path) if path else Path.cwd()
    if p.is_dir():
        for name in SUITE_NAMES:
            if (p / name).is_file():
                return p / name
        raise ConfigError(
            f"no suite file in {p} (looked for {', '.join(SUITE_NAMES)}); "
            "create one with 'promptwork init'"
        )
    if not p.is_file():
        raise ConfigError(f"suite file not found: {p}")
    return p


def load_suite(path: str | Path | None = None, allow_outside: bool = False) -> Suite:
    """Read and validate a suite file (tests stream lazily from their files)."""
    file = find_suite(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"suite file is not valid UTF-8 (byte {exc.start})", file) from None
    data, where = load_yaml(text, file)
    return parse_suite(data, where, file, text, allow_outside)


def parse_suite(
    data: Any, where: LineMap, file: Path | None, text: str = "", allow_outside: bool = False
) -> Suite:
    base_dir = file.parent if file is not None else Path.cwd()
    if not isinstance(data, dict):
        raise where.error((), "a suite must be a mapping with prompts, providers and tests")
    for key in data:
        if key in UNSUPPORTED_KEYS:
            raise where.error((key,), UNSUPPORTED_KEYS[key])
        if key not in SUPPORTED_KEYS:
            raise where.error(
                (key,), f"unknown suite key {key!r}{did_you_mean(str(key), SUPPORTED_KEYS)}; "
                f"allowed: {', '.join(SUPPORTED_KEYS)}"
            )
    engine = TemplateEngine()
    prompts = _prompts(data.get("prompts"), where, base_dir, engine, allow_outside)
    providers = _providers(data.get("providers"), where)
    _check_prompt_filters(providers, prompts, where, isinstance(data.get("providers"), list))
    default_test = data.get("defaultTest") or {}
    if not isinstance(default_test, dict):
        raise where.error(("defaultTest",), "'defaultTest' must be a mapping")
    tests_spec = data.get("tests")
    if tests_spec is None:
        raise where.error((), "the suite has no 'tests'; add at least one test (vars + assert)")
    tests = TestSource(
        tests_spec, base_dir, default_test, where=str(file or "suite"),
        allow_outside=allow_outside, line_of=where.line_of,
    )
    options = _options(data.get("evaluateOptions"), where)
    output = data.get("outputPath") or []
    outputs = [output] if isinstance(output, str) else list(output)
    metrics = data.get("metrics") or []
    if not isinstance(metrics, list):
        raise where.error(("metrics",), "'metrics' must be a list")
    try:
        metrics = validate_metrics(metrics)
    except ConfigError as exc:
        raise where.error(("metrics",), exc.message) from None
    desc = data.get("description")
    return Suite(file, base_dir, str(desc) if desc is not None else None, prompts, providers,
                 tests, options, outputs, metrics, text, _optimize(data.get("optimize"), where))


def _prompts(
    spec: Any, where: LineMap, base_dir: Path, engine: TemplateEngine, allow_outside: bool
) -> list[PromptEntry]:
    if spec is None:
        raise where.error((), "the suite has no 'prompts'; add one (text or file://path)")
    items = spec if isinstance(spec, list) else [spec]
    out: list[PromptEntry] = []
    for i, item in enumerate(items):
        key: tuple[Any, ...] = ("prompts", i) if isinstance(spec, list) else ("prompts",)
        label: str | None = None
        if isinstance(item, dict):
            for k in item:
                if k not in PROMPT_KEYS:
                    raise where.error((*key, k), f"unknown prompt key {k!r}"
                                      f"{did_you_mean(str(k), PROMPT_KEYS)}")
            label = item.get("label")
            source = item.get("raw") if "raw" in item else item.get("id")
        else:
            source = item
        if not isinstance(source, str) or not source:
            raise where.error(key, "a prompt must be text, file://path, or {id|raw, label}")
        try:
            template = load_prompt(source, base_dir, engine, allow_outside)
        except ConfigError as exc:
            if exc.path is None:
                raise where.error(key, exc.message) from None
            raise
        out.append(PromptEntry(i, str(label or template.label), template))
    if not out:
        raise where.error(("prompts",), "'prompts' is empty")
    labels = [p.label for p in out]
    for p in out:
        if labels.count(p.label) > 1:
            p.label = f"{p.label} [{p.index + 1}]"
    return out


def _providers(spec: Any, where: LineMap) -> list[ProviderEntry]:
    if spec is None:
        return [ProviderEntry(0, "local:gemma3-270m", "local:gemma3-270m")]
    items = spec if isinstance(spec, list) else [spec]
    out: list[ProviderEntry] = []
    for i, item in enumerate(items):
        key: tuple[Any, ...] = ("providers", i) if isinstance(spec, list) else ("providers",)
        if isinstance(item, str):
            out.append(ProviderEntry(i, item, item))
            continue
        if not isinstance(item, dict):
            raise where.error(key, "a provider must be an id or {id, label, config}")
        for k in item:
            if k not in PROVIDER_KEYS:
                raise where.error((*key, k), f"unknown provider key {k!r}"
                                  f"{did_you_mean(str(k), PROVIDER_KEYS)}; "
                                  f"allowed: {', '.join(PROVIDER_KEYS)}")
        pid = item.get("id")
        if not isinstance(pid, str):
            raise where.error(key, "a provider needs an 'id' such as local:smollm2")
        config = item.get("config") or {}
        if not isinstance(config, dict):
            raise where.error((*key, "config"), "'config' must be a mapping")
        only = item.get("prompts")
        if isinstance(only, str):
            only = [only]
        if only is not None and (
            not isinstance(only, list) or not all(isinstance(x, str) for x in only)
        ):
            raise where.error((*key, "prompts"), "'prompts' must be a list of prompt labels")
        out.append(ProviderEntry(i, pid, str(item.get("label") or pid), dict(config),
                                 tuple(only) if only is not None else None))
    return out


def _check_prompt_filters(
    providers: list[ProviderEntry], prompts: list[PromptEntry], where: LineMap, listed: bool
) -> None:
    """A ``providers[].prompts`` label that names no prompt would silently drop cells."""
    labels = [p.label for p in prompts]
    for entry in providers:
        for name in entry.prompts or ():
            if name not in labels:
                key: tuple[Any, ...] = ("providers", entry.index) if listed else ("providers",)
                raise where.error(
                    (*key, "prompts"),
                    f"provider {entry.label!r} lists prompt {name!r}, but no prompt has that "
                    f"label{did_you_mean(name, labels)}; prompt labels: {', '.join(labels)}",
                )


def _options(spec: Any, where: LineMap) -> EvalOptions:
    if spec is None:
        return EvalOptions()
    if not isinstance(spec, dict):
        raise where.error(("evaluateOptions",), "'evaluateOptions' must be a mapping")
    for k in spec:
        if k not in EVAL_OPTION_KEYS:
            raise where.error(("evaluateOptions", k), f"unsupported evaluateOptions key {k!r}"
                              f"{did_you_mean(str(k), EVAL_OPTION_KEYS)}; "
                              f"supported: {', '.join(EVAL_OPTION_KEYS)}")

    def integer(name: str, default: int, minimum: int) -> int:
        value = spec.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise where.error(("evaluateOptions", name),
                              f"'{name}' must be an integer >= {minimum}, got {value!r}")
        return value

    timeout = spec.get("timeoutMs")
    return EvalOptions(
        max_concurrency=integer("maxConcurrency", 4, 1),
        repeat=integer("repeat", 1, 1),
        delay_ms=integer("delay", 0, 0),
        cache=bool(spec.get("cache", True)),
        timeout_ms=integer("timeoutMs", 0, 1) if timeout is not None else None,
    )


def _optimize(spec: Any, where: LineMap) -> OptimizeOptions:
    if spec is None:
        return OptimizeOptions()
    if not isinstance(spec, dict):
        raise where.error(("optimize",), "'optimize' must be a mapping such as {answerVar: label}")
    for k in spec:
        if k not in OPTIMIZE_KEYS:
            raise where.error(("optimize", k), f"unknown optimize key {k!r}"
                              f"{did_you_mean(str(k), OPTIMIZE_KEYS)}; "
                              f"supported: {', '.join(OPTIMIZE_KEYS)}")
    answer = spec.get("answerVar")
    if answer is not None and (not isinstance(answer, str) or not answer):
        raise where.error(("optimize", "answerVar"),
                          f"'answerVar' must be a variable name, got {answer!r}")
    return OptimizeOptions(answer_var=answer)


def provider_allows(provider: ProviderEntry, prompt: PromptEntry) -> bool:
    """promptfoo's ``providers[].prompts`` filter: run only the listed prompt labels."""
    return provider.prompts is None or prompt.label in provider.prompts


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
