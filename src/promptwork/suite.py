"""Suite files: ``promptwork.yaml`` and promptfoo's ``promptfooconfig.yaml``, read as is.

A suite lists prompts, providers and tests (with checks). Keys promptfoo has that promptwork does
not support yet are refused by name; unknown keys get a "did you mean". Every error carries the
file and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptwork.cmdoptions import fold_command_line_options
from promptwork.configfiles import ConfigFileError, load_config_files
from promptwork.datasets import TestSource
from promptwork.derived import validate_derived
from promptwork.errors import ConfigError
from promptwork.extensions import Extensions, load_extensions
from promptwork.genkeys import GenerationKeyError, prompt_config_params, split_config
from promptwork.metrics import validate_metrics
from promptwork.prompts import PromptTemplate
from promptwork.promptsources import load_prompts
from promptwork.providers.python_file import resolve_entries
from promptwork.providers.registry import known_prefixes
from promptwork.scenarios import expand_scenarios
from promptwork.suiteenv import parse_env
from promptwork.suitefilters import load_filters
from promptwork.suiterefs import check_templates, expand_refs
from promptwork.templates import TemplateEngine
from promptwork.types import Params
from promptwork.userfunc import resolve_inside
from promptwork.yamlfile import LineMap, did_you_mean, load_yaml

SUITE_NAMES = ("promptwork.yaml", "promptwork.yml", "promptfooconfig.yaml", "promptfooconfig.yml")

SUPPORTED_KEYS = (
    "description", "prompts", "providers", "targets", "tests", "defaultTest", "evaluateOptions",
    "outputPath", "metrics", "tags", "metadata", "sharing", "optimize", "renderDataVars",
    "derivedMetrics", "assertionTemplates", "env", "scenarios", "probes", "commandLineOptions",
    "nunjucksFilters", "extensions",
)
#: promptfoo keys we read but do not act on yet, with what to do instead.
UNSUPPORTED_KEYS = {
    "redteam": "'redteam' is not supported yet",
    "tracing": "'tracing' is not supported",
    "writeLatestResults": "'writeLatestResults' is not needed: every run is stored",
}
EVAL_OPTION_KEYS = (
    "maxConcurrency", "repeat", "delay", "cache", "timeoutMs", "maxEvalTimeMs",
    "showProgressBar",  # display only: accepted, no effect on results
)
PROVIDER_KEYS = ("id", "label", "config", "delay", "prompts")
PROMPT_KEYS = ("id", "label", "raw", "config")
#: Keys of the promptwork-only ``optimize:`` mapping (``promptwork optimize`` defaults).
OPTIMIZE_KEYS = ("answerVar",)


@dataclass
class PromptEntry:
    index: int
    label: str
    template: PromptTemplate
    #: The entry's own ``config`` (generation parameters; over the file's front matter).
    params: Params = field(default_factory=Params)


@dataclass
class ProviderEntry:
    index: int
    id: str
    label: str
    config: dict[str, Any] = field(default_factory=dict)
    prompts: tuple[str, ...] | None = None  # labels this provider runs, when restricted
    #: Generation parameters written in its ``config`` (the lowest level of the precedence).
    params: Params = field(default_factory=Params)


@dataclass
class EvalOptions:
    max_concurrency: int = 4
    repeat: int = 1
    delay_ms: int = 0
    cache: bool = True
    timeout_ms: int | None = None
    #: promptfoo's ``maxEvalTimeMs``: no request is sent after that long (see promptwork.limits).
    max_eval_time_ms: int | None = None


@dataclass
class SuiteOptimizeDefaults:
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
    optimize: SuiteOptimizeDefaults = field(default_factory=SuiteOptimizeDefaults)
    #: promptfoo's ``env:``: variables set while the suite's models are created and called.
    env: dict[str, str] = field(default_factory=dict)
    #: promptwork's ``probes:`` (issue 21): each entry with where it is written (``file:line``);
    #: ``promptwork probe`` reads them (:mod:`promptwork.probes`), ``eval`` leaves them aside.
    probes: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    #: promptfoo's ``extensions`` (Python hooks; :mod:`promptwork.extensions`), loaded.
    extensions: Extensions | None = None

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
    data = fold_command_line_options(data, where)  # promptfoo's command-line defaults
    data = expand_refs(data, where)
    check_templates(data, where)
    data, where = _targets_as_providers(data, where)
    filters = load_filters(data.get("nunjucksFilters"), where, base_dir, allow_outside)
    engine = TemplateEngine(filters={n: (f.identity, f.as_jinja()) for n, f in filters.items()})
    prompts = _prompts(data.get("prompts"), where, base_dir, engine, allow_outside)
    providers = _providers(data.get("providers"), where, base_dir, allow_outside)
    providers = resolve_entries(providers, base_dir, allow_outside, lambda i, msg: where.error(
        ("providers", i) if isinstance(data.get("providers"), list) else ("providers",), msg))
    _check_prompt_filters(providers, prompts, where, isinstance(data.get("providers"), list))
    default_test = data.get("defaultTest") or {}
    if isinstance(default_test, str):
        default_test = _default_test_file(default_test, where, base_dir, allow_outside)
    if not isinstance(default_test, dict):
        raise where.error(("defaultTest",), "'defaultTest' must be a mapping")
    tests_spec = data.get("tests")
    scenario_tests = expand_scenarios(data.get("scenarios"), where)
    if scenario_tests:  # promptfoo's scenarios run after the suite's own tests
        own = [] if tests_spec is None else (
            list(tests_spec) if isinstance(tests_spec, list) else [tests_spec])
        tests_spec = own + scenario_tests
    if tests_spec is None:
        raise where.error((), "the suite has no 'tests'; add at least one test (vars + assert)")
    render_data = data.get("renderDataVars", False)
    if not isinstance(render_data, bool):
        raise where.error(("renderDataVars",), "'renderDataVars' must be true or false")
    tests = TestSource(
        tests_spec, base_dir, default_test, where=str(file or "suite"),
        allow_outside=allow_outside, line_of=where.line_of, render_data_vars=render_data,
        prompt=prompts[0].template.raw if len(prompts) == 1 else "", engine=engine,
    )
    options = _options(data.get("evaluateOptions"), where)
    output = data.get("outputPath") or []
    outputs = [output] if isinstance(output, str) else output
    if not isinstance(outputs, list) or not all(isinstance(o, str) and o for o in outputs):
        raise where.error(("outputPath",), "'outputPath' must be a file path or a list of them")
    for target in outputs:  # written files stay in the suite folder, as read ones do
        full = (base_dir / target).resolve()
        if not allow_outside and not full.is_relative_to(base_dir.resolve()):
            raise where.error(("outputPath",), (
                f"outputPath {target!r} is outside the suite folder {base_dir.resolve()}; "
                "refusing to write it (write inside the folder, or use -o FILE)"))
    metrics = data.get("metrics") or []
    if not isinstance(metrics, list):
        raise where.error(("metrics",), "'metrics' must be a list")
    try:
        metrics = validate_metrics(metrics)
    except ConfigError as exc:
        raise where.error(("metrics",), exc.message) from None
    if data.get("derivedMetrics") is not None:
        try:
            metrics = [*metrics, *validate_derived(data["derivedMetrics"])]
        except ConfigError as exc:
            raise where.error(("derivedMetrics", _index_in(exc.message)), exc.message) from None
    desc = data.get("description")
    try:
        env = parse_env(data.get("env"))
    except ConfigError as exc:
        raise where.error(("env",), exc.message) from None
    extensions = load_extensions(data.get("extensions"), where, base_dir, allow_outside, {
        "description": desc, "prompts": [p.label for p in prompts],
        "providers": [{"id": p.id, "label": p.label} for p in providers]})
    return Suite(file, base_dir, str(desc) if desc is not None else None, prompts, providers,
                 tests, options, outputs, metrics, text, _optimize(data.get("optimize"), where),
                 env, _probes(data.get("probes"), where), extensions=extensions)


def _probes(spec: Any, where: LineMap) -> list[tuple[dict[str, Any], str]]:
    """``probes:``: a list of mappings with a ``kind``, each kept with its ``file:line``."""
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise where.error(("probes",), "'probes' must be a list of probes (each with a 'kind')")
    out = []
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise where.error(("probes", i), "each probe must be a mapping with a 'kind' "
                                             "(robustness, consistency, bias, offtopic, injection)")
        line = where.line_of(("probes", i))
        out.append((item, f"{where.path or 'suite'}" + (f":{line}" if line else "")))
    return out


def _default_test_file(ref: str, where: LineMap, base_dir: Path, allow_outside: bool) -> Any:
    """promptfoo's ``defaultTest: file://default.yaml`` (YAML or JSON)."""
    raw = ref[len("file://"):] if ref.startswith("file://") else ref
    try:
        path = resolve_inside(raw, base_dir, allow_outside, "defaultTest file")
        text = path.read_text(encoding="utf-8-sig")
    except ConfigError as exc:
        raise where.error(("defaultTest",), exc.message) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise where.error(("defaultTest",), f"cannot read {ref!r}: {exc}") from None
    data, _ = load_yaml(text, path)
    return data


def _index_in(message: str) -> int:
    """The ``[i]`` of ``derivedMetrics[i]: ...`` (0 when none), to locate the entry's line."""
    head = message.partition("]")[0]
    digits = head.rpartition("[")[2]
    return int(digits) if digits.isdigit() else 0


def _targets_as_providers(data: dict[Any, Any], where: LineMap) -> tuple[dict[Any, Any], LineMap]:
    """promptfoo's ``targets`` is its newer name for ``providers``: read it as such.

    Errors under it keep pointing at the ``targets`` lines of the file.
    """
    if "targets" not in data:
        return data, where
    if "providers" in data:
        raise where.error(("targets",), "give either 'targets' or 'providers' (promptfoo's two "
                                        "names for the same list), not both")
    renamed = {("providers" if k == "targets" else k): v for k, v in data.items()}
    return renamed, _Renamed(where, "providers", "targets")


class _Renamed(LineMap):
    """A LineMap that finds the lines of ``new`` keys under the ``old`` key written in the file."""

    def __init__(self, inner: LineMap, new: str, old: str):
        super().__init__(inner.path, {})
        self._inner, self._new, self._old = inner, new, old

    def line_of(self, key: Sequence[str | int]) -> int | None:
        k = tuple(key)
        if k and k[0] == self._new:
            k = (self._old, *k[1:])
        return self._inner.line_of(k)


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
        params = Params()
        if isinstance(item, dict):
            for k in item:
                if k not in PROMPT_KEYS:
                    raise where.error((*key, k), f"unknown prompt key {k!r}"
                                      f"{did_you_mean(str(k), PROMPT_KEYS)}")
            label = item.get("label")
            if item.get("config") is not None:
                try:
                    params = prompt_config_params(item["config"], "prompt config")
                except GenerationKeyError as exc:
                    raise where.error((*key, "config", exc.key), exc.message) from None
            source = item.get("raw") if "raw" in item else item.get("id")
        else:
            source = item
        if not isinstance(source, str) or not source:
            raise where.error(key, "a prompt must be text, file://path, or {id|raw, label}")
        try:
            templates = load_prompts(source, base_dir, engine, allow_outside)
        except ConfigError as exc:
            if exc.path is None:
                raise where.error(key, exc.message) from None
            raise
        for template in templates:  # a glob gives several, labelled by their paths
            own = label if len(templates) == 1 else None
            out.append(PromptEntry(len(out), str(own or template.label), template, params))
    if not out:
        raise where.error(("prompts",), "'prompts' is empty")
    labels = [p.label for p in out]
    for p in out:
        if labels.count(p.label) > 1:
            p.label = f"{p.label} [{p.index + 1}]"
    return out


def _providers(
    spec: Any, where: LineMap, base_dir: Path, allow_outside: bool = False
) -> list[ProviderEntry]:
    if spec is None:
        return [ProviderEntry(0, "local:gemma3-270m", "local:gemma3-270m")]
    items = spec if isinstance(spec, list) else [spec]
    out: list[ProviderEntry] = []
    for i, item in enumerate(items):
        key: tuple[Any, ...] = ("providers", i) if isinstance(spec, list) else ("providers",)
        if isinstance(item, str):
            _check_provider_prefix(item, where, key)
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
        _check_provider_prefix(pid, where, (*key, "id"))
        config = item.get("config") or {}
        if not isinstance(config, dict):
            raise where.error((*key, "config"), "'config' must be a mapping")
        try:
            config = load_config_files(config, base_dir, allow_outside)
        except ConfigFileError as exc:
            if exc.path:  # the error is inside the referenced file
                raise
            raise where.error((*key, "config", exc.key), exc.message) from None
        try:
            config, params = split_config(config, pid)
        except GenerationKeyError as exc:
            raise where.error((*key, "config", exc.key), exc.message) from None
        only = item.get("prompts")
        if isinstance(only, str):
            only = [only]
        if only is not None and (
            not isinstance(only, list) or not all(isinstance(x, str) for x in only)
        ):
            raise where.error((*key, "prompts"), "'prompts' must be a list of prompt labels")
        out.append(ProviderEntry(i, pid, str(item.get("label") or pid), dict(config),
                                 tuple(only) if only is not None else None, params))
    return out


def _check_provider_prefix(pid: str, where: LineMap, key: tuple[Any, ...]) -> None:
    """An unknown provider prefix is an error at load, on the provider's line (the provider
    itself is only created when the suite runs)."""
    prefix = pid.strip().partition(":")[0]
    known = known_prefixes()
    if prefix not in known:
        raise where.error(key, f"unknown provider {prefix!r}{did_you_mean(prefix, known)}; "
                               f"known providers: {', '.join(known)}")


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
    max_time = spec.get("maxEvalTimeMs")
    return EvalOptions(
        max_concurrency=integer("maxConcurrency", 4, 1),
        repeat=integer("repeat", 1, 1),
        delay_ms=integer("delay", 0, 0),
        cache=bool(spec.get("cache", True)),
        timeout_ms=integer("timeoutMs", 0, 1) if timeout is not None else None,
        max_eval_time_ms=integer("maxEvalTimeMs", 0, 1) if max_time is not None else None,
    )


def _optimize(spec: Any, where: LineMap) -> SuiteOptimizeDefaults:
    if spec is None:
        return SuiteOptimizeDefaults()
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
    return SuiteOptimizeDefaults(answer_var=answer)


def effective_params(
    provider: ProviderEntry, prompt: PromptEntry, overrides: Params | None = None
) -> Params:
    """The generation parameters of one provider x prompt, each level over the one before:
    the provider's ``config``, the prompt file's ``params`` (front matter), the prompt entry's
    ``config`` in the suite, then ``overrides`` (command-line ``-p``)."""
    return (provider.params.merged(prompt.template.params).merged(prompt.params)
            .merged(overrides))


def provider_allows(provider: ProviderEntry, prompt: PromptEntry) -> bool:
    """promptfoo's ``providers[].prompts`` filter: run only the listed prompt labels."""
    return provider.prompts is None or prompt.label in provider.prompts


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
