"""Custom providers written in Python (``file://provider.py``, ``file://provider.py:fn``).

promptfoo's contract: the file defines ``call_api(prompt, options, context)`` (or the function
named after the colon), plain or ``async``. ``prompt`` is the rendered prompt as text (one user
message is its text; chat turns are their JSON list), ``options`` is ``{"id", "config"}`` with the
provider's config, and ``context`` is ``{"prompt": {"raw", "label"}, "vars": {...}}`` with the
cell's variables (those the prompt was rendered with; ``{}`` for a call made outside a suite's
test, e.g. by ``promptwork run`` or the optimizer). Since the answer may depend on a variable the
prompt does not show, the vars are part of such a provider's cache key. It returns a mapping
with ``output`` (text; anything else is sent on as JSON), and optionally ``tokenUsage``
(``prompt``, ``completion``, ``total``), ``cost`` and ``error``. An ``error``, an exception or a
malformed return value is a failed call (an error on the cell), never an answer.

The file is loaded when the provider is created, so a missing file or function, or a syntax
error, is reported before any model call. In a suite the path is resolved against the suite's
folder and must stay inside it, like every other ``file://`` reference. Cached answers are keyed
by the file's content, so editing the provider invalidates them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.util
import inspect
import json
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider, Stopwatch
from promptwork.secrets import redact
from promptwork.types import PARAM_NAMES, Capabilities, Completion, Params, RenderedPrompt, Usage

DEFAULT_FUNCTION = "call_api"
_FUNCTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

E = TypeVar("E")


def split_reference(reference: str) -> tuple[str, str]:
    """``file://dir/provider.py:fn`` -> (``dir/provider.py``, ``fn``); the function defaults to
    ``call_api``."""
    rest = reference.removeprefix("file://")
    path, sep, function = rest.rpartition(":")
    if sep and path.endswith(".py") and _FUNCTION.match(function):
        return path, function
    return rest, DEFAULT_FUNCTION


def is_python_reference(model_id: str) -> bool:
    """Whether ``model_id`` names a Python provider file."""
    return model_id.startswith("file://") and split_reference(model_id)[0].endswith(".py")


def resolve_reference(reference: str, base_dir: Path, allow_outside: bool = False) -> str:
    """The reference with its path made absolute against ``base_dir`` (confined to it)."""
    path, function = split_reference(reference)
    try:
        resolved = (base_dir / path).resolve()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"bad provider path {reference!r}: {exc}") from None
    if not allow_outside and not resolved.is_relative_to(base_dir.resolve()):
        raise ConfigError(
            f"{reference!r} points outside the suite folder {base_dir}; move the file inside it "
            "or allow outside paths explicitly"
        )
    suffix = f":{function}" if function != DEFAULT_FUNCTION or reference.endswith(
        f":{DEFAULT_FUNCTION}") else ""
    return f"file://{resolved}{suffix}"


def resolve_entries(
    entries: Sequence[E], base_dir: Path, allow_outside: bool,
    error: Callable[[int, str], ConfigError],
) -> list[E]:
    """Suite provider entries with their ``file://*.py`` ids resolved against the suite folder.

    Args:
        entries: Provider entries (dataclasses with ``index`` and ``id``).
        base_dir: The suite's folder.
        allow_outside: Whether paths may leave it.
        error: Builds the error for the entry at an index (with the suite's file and line).
    """
    out: list[E] = []
    for entry in entries:
        model_id: str = getattr(entry, "id")  # noqa: B009 - typed through a TypeVar
        if not is_python_reference(model_id):
            out.append(entry)
            continue
        try:
            resolved = resolve_reference(model_id, base_dir, allow_outside)
            load_function(resolved)
        except ConfigError as exc:
            raise error(getattr(entry, "index"), exc.message) from None  # noqa: B009
        out.append(dataclasses.replace(entry, id=resolved))  # type: ignore[type-var]
    return out


def load_function(reference: str) -> tuple[Callable[..., Any], str]:
    """Import the file and return its provider function and the file's content hash."""
    path_text, function = split_reference(reference)
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"provider file not found: {path}")
    source = path.read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    name = f"promptwork_provider_{digest[:16]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise ConfigError(f"cannot load provider file {path}")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    sys.path.insert(0, folder)  # sibling imports, as when promptfoo runs the file
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        where = _user_frame(exc, path)
        raise ConfigError(
            f"provider file {path}{where} failed to load: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    func = getattr(module, function, None)
    if not callable(func):
        defined = sorted(n for n, v in vars(module).items()
                         if inspect.isfunction(v) and not n.startswith("_"))
        raise ConfigError(
            f"provider file {path} defines no function {function!r}"
            + (f"; functions: {', '.join(defined)}" if defined else "")
        )
    return func, digest


def _user_frame(exc: BaseException, path: Path) -> str:
    """``:LINE`` of the deepest frame in the user's file, if any."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return f":{line}" if line else ""


def prompt_text(prompt: RenderedPrompt) -> str:
    """The prompt as promptfoo hands it to a script: text, or the chat turns as JSON."""
    if len(prompt.messages) == 1 and prompt.messages[0].role == "user":
        return prompt.messages[0].content
    return json.dumps(prompt.to_list(), ensure_ascii=False)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class PythonFileProvider(Provider):
    """Calls a Python function with promptfoo's ``call_api`` arguments.

    Args:
        id: The model id (``file://provider.py[:fn]``).
        label: Display name.
        config: The provider config, handed to the function as ``options["config"]``.
    """

    capabilities = Capabilities(chat=True, completion=True)
    supported_params = frozenset(PARAM_NAMES)  # all handed to the function, as promptfoo does

    def __init__(self, id: str, label: str | None, config: dict[str, Any]):
        super().__init__(id, label)
        self.config = config
        self._func, self._digest = load_function(id)
        self._where = f"{split_reference(id)[0]}:{split_reference(id)[1]}"

    def cache_identity(self) -> dict[str, Any]:
        return {"provider": "file", "function": split_reference(self.id)[1],
                "sha256": self._digest, "config": self.config, "reads_vars": True}

    def describe(self) -> dict[str, Any]:
        return {"provider": self.id, "function": split_reference(self.id)[1],
                "sha256": self._digest}

    async def _call(self, prompt: RenderedPrompt, params: Params) -> Any:
        text = prompt_text(prompt)
        options = {"id": self.label, "config": {**self.config, **params.given()}}
        context = {"prompt": {"raw": text, "label": self.label},
                   "vars": dict(prompt.vars) if prompt.vars is not None else {}}
        if inspect.iscoroutinefunction(self._func):
            return await self._func(text, options, context)
        result = await asyncio.to_thread(self._func, text, options, context)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.check_params(params)
        watch = Stopwatch()
        try:
            result = await self._call(prompt, params)
        except Exception as exc:
            # The message lands on the cell (store, exports): no key in it.
            raise ProviderError(
                redact(f"{self._where} raised {type(exc).__name__}: {exc}"), kind="other"
            ) from None
        return self._completion(result, watch.ms())

    def _completion(self, result: Any, latency_ms: float) -> Completion:
        if not isinstance(result, dict):
            raise ProviderError(
                f"{self._where} must return a dict with 'output' (or 'error'), "
                f"got {type(result).__name__}", kind="invalid_response")
        error = result.get("error")
        if error:
            raise ProviderError(redact(f"{self._where}: {error}"), kind="other")
        if "output" not in result or result["output"] is None:
            raise ProviderError(f"{self._where} returned no 'output'", kind="invalid_response")
        output = result["output"]
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False,
                                                                 default=str)
        usage_map = result.get("tokenUsage")
        usage_map = usage_map if isinstance(usage_map, dict) else {}
        usage = Usage(_count(usage_map.get("prompt")), _count(usage_map.get("completion")))
        cost = result.get("cost")
        raw = {k: v for k, v in result.items() if k in ("tokenUsage", "cost", "metadata")}
        return Completion(
            text=text, provider=self.id, usage=usage, latency_ms=latency_ms,
            cost=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool)
            else None,
            finish_reason=None, raw=json.loads(json.dumps(raw, default=str)) if raw else None,
        )


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``file://provider.py[:function]`` (relative paths: from the current folder)."""
    if not is_python_reference(model_id):
        raise ConfigError(
            f"{model_id}: file:// providers must be Python files (file://provider.py or "
            "file://provider.py:function_name)"
        )
    path, function = split_reference(model_id)
    absolute = model_id if Path(path).is_absolute() else (
        f"file://{Path(path).resolve()}" + (f":{function}" if function != DEFAULT_FUNCTION
                                            else ""))
    provider = PythonFileProvider(absolute, label or model_id, config)
    return provider
