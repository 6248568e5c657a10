"""The playground: one prompt, several models side by side, their answers streamed.

Below the web layer and free of it: the workbench's Playground page is a thin route over a
:class:`Playground`, which any async code can use the same way::

    playground = Playground(root=Path("."), store=store)
    template = playground.parse(text)                      # or playground.open("reply.prompt")
    fields = variable_fields(template)                     # a form field per variable
    async for event in playground.stream(template, {"customer": "Ada"},
                                         ["local:smollm2", "echo"], params_from_form(form)):
        ...  # AnswerText(column, model, text) pieces, then one AnswerDone per model

Every call goes through the same cache, retries and concurrency limits as ``promptwork eval``
(:meth:`promptwork.calls.ModelCaller.stream`). Problems (an unknown model, a missing variable,
a parameter the model cannot honour, a failed call) arrive as the model's :class:`AnswerDone`
with its ``error``: the stream itself never raises. Saving the edited prompt writes its file
atomically and records the version in the store; :meth:`Playground.add_test` adds the current
variables to a suite (:mod:`promptwork.suitewrite`). Files are read and written only inside the
playground's root folder.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from promptwork.calls import Cache, CallPolicy, ModelCaller
from promptwork.errors import ConfigError, ParamError, PromptworkError, ProviderError
from promptwork.prompts import PromptTemplate, parse_prompt
from promptwork.providers.base import Provider
from promptwork.providers.registry import create_provider
from promptwork.secrets import redact
from promptwork.suitewrite import AddedTest, add_test_case, write_atomic
from promptwork.types import Completion, Params

__all__ = [
    "AnswerDone", "AnswerRetrying", "AnswerStarted", "AnswerText", "Playground",
    "PlaygroundEvent", "SavedPrompt", "VariableField", "params_from_form", "variable_fields",
]

#: Files the playground opens and saves as prompts.
PROMPT_SUFFIXES = (".prompt", ".txt", ".md", ".json")
#: Files it adds test cases to.
SUITE_SUFFIXES = (".yaml", ".yml", ".json")
#: The generation parameters the playground offers (``Params`` has more, for suites).
FORM_PARAMS = ("temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty",
               "seed", "stop")
_INTEGER_PARAMS = frozenset({"max_tokens", "seed"})


# -- the form -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableField:
    """One template variable, as a form field.

    Attributes:
        name: The variable.
        type: Its declared type (``string`` when undeclared).
        description: Its declared description.
        default: Its declared default (``None``: none).
        required: Whether a value must be given.
        declared: Whether the prompt's front matter declares it.
    """

    name: str
    type: str = "string"
    description: str | None = None
    default: Any = None
    required: bool = True
    declared: bool = False


def variable_fields(template: PromptTemplate) -> list[VariableField]:
    """The prompt's variables: the declared inputs in their order, then the other variables its
    templates use, by name. A variable is required when the prompt needs it and declares no
    default."""
    required = template.required_variables
    fields = [
        VariableField(name, spec.type, spec.description, spec.default,
                      name in required and spec.default is None, True)
        for name, spec in template.meta.inputs.items()
    ]
    declared = set(template.meta.inputs)
    fields += [VariableField(name, required=name in required)
               for name in sorted(template.variables - declared)]
    return fields


def params_from_form(form: Mapping[str, Any]) -> Params:
    """Playground parameters from a form's text fields: blank means the model's default, ``stop``
    holds one sequence per line; names outside :data:`FORM_PARAMS` are ignored.

    Raises:
        ParamError: A value that is not a number, or out of its range, naming the parameter.
    """
    values: dict[str, Any] = {}
    for name in FORM_PARAMS:
        value = form.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name == "stop":
            lines = value.splitlines() if isinstance(value, str) else list(value)
            stops = [s for s in lines if s]
            if stops:
                values["stop"] = stops
            continue
        if isinstance(value, str):
            try:
                values[name] = int(value) if name in _INTEGER_PARAMS else float(value)
            except ValueError:
                kind = "an integer" if name in _INTEGER_PARAMS else "a number"
                raise ParamError(f"{name}: {value.strip()!r} is not {kind}") from None
        else:
            values[name] = value
    return Params.parse(values)


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerStarted:
    """A model's answer begins (its column, in the order the models were given)."""

    column: int
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "started", **asdict(self)}


@dataclass(frozen=True, slots=True)
class AnswerText:
    """A piece of a model's answer."""

    column: int
    model: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text", **asdict(self)}


@dataclass(frozen=True, slots=True)
class AnswerRetrying:
    """The call failed and is tried again: the pieces received so far are void."""

    column: int
    model: str
    attempt: int
    wait_s: float
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "retrying", **asdict(self)}


@dataclass(frozen=True, slots=True)
class AnswerDone:
    """A model's answer is complete, or failed (``error`` set; ``text`` holds what came).

    ``error_kind`` is ``config`` for problems found before any call (model, variables,
    parameters), else the provider error's kind (``timeout``, ``rate_limit``, ``auth``...).
    """

    column: int
    model: str
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    cost: float | None = None
    finish_reason: str | None = None
    cached: bool = False
    error: str | None = None
    error_kind: str | None = None

    @classmethod
    def of(cls, column: int, model: str, completion: Completion) -> AnswerDone:
        return cls(column, model, completion.text, completion.usage.prompt_tokens,
                   completion.usage.completion_tokens, completion.latency_ms, completion.cost,
                   completion.finish_reason, completion.cached)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "done", **asdict(self)}


PlaygroundEvent = AnswerStarted | AnswerText | AnswerRetrying | AnswerDone


@dataclass(frozen=True)
class SavedPrompt:
    """A saved prompt file: where, its version (content hash), and whether it changed."""

    path: Path
    content_hash: str
    changed: bool


# -- the playground -----------------------------------------------------------------------------


class Playground:
    """Prompts run on several models at once, saved, and turned into test cases.

    Args:
        root: The folder whose files it may open and write (nothing outside it).
        store: Where answers are cached and saved prompt versions recorded (optional).
        use_cache: Answer from the store's cache when the same call was made before.
        policy: Retries and per-attempt timeout.
        configs: Provider options by model id (``base_url``, ``n_threads``...).
        providers: Provider instances by model id, used instead of creating them (tests).
    """

    def __init__(
        self,
        root: str | Path,
        store: Any | None = None,
        *,
        use_cache: bool = True,
        policy: CallPolicy | None = None,
        configs: Mapping[str, dict[str, Any]] | None = None,
        providers: Mapping[str, Provider] | None = None,
    ):
        self.root = Path(root).resolve()
        self.store = store
        self.cache: Cache | None = store if use_cache else None
        self.policy = policy or CallPolicy()
        self.configs = dict(configs or {})
        self._given = dict(providers or {})
        self._callers: dict[str, ModelCaller] = {}
        self._lock = asyncio.Lock()

    # -- files --------------------------------------------------------------------------------

    def path(self, name: str | Path, suffixes: Sequence[str] = PROMPT_SUFFIXES) -> Path:
        """``name`` resolved inside the root folder.

        Raises:
            ConfigError: A path outside the root, or with a suffix not in ``suffixes``.
        """
        text = str(name).strip()
        if text.startswith("file://"):
            text = text[len("file://"):]
        if not text or "\x00" in text:
            raise ConfigError("no file name given")
        path = (self.root / text).resolve()
        if not path.is_relative_to(self.root):
            raise ConfigError(f"{text!r} is outside the workbench folder {self.root}")
        if path.suffix.lower() not in suffixes:
            raise ConfigError(f"{text!r}: expected a file ending in {', '.join(suffixes)}")
        return path

    def read(self, name: str | Path) -> str:
        """The source text of a prompt file inside the root (for the editor)."""
        path = self.path(name)
        try:
            return path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ConfigError(f"prompt file not found: {path}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not valid UTF-8 (byte {exc.start})", path) from None
        except OSError as exc:
            raise ConfigError(f"cannot read it: {exc.strerror or exc}", path) from None

    def open(self, name: str | Path) -> PromptTemplate:
        """Load a prompt file inside the root."""
        path = self.path(name)
        return parse_prompt(self.read(name), str(path), path.suffix)

    def parse(
        self, text: str, suffix: str = ".prompt", label: str = "playground"
    ) -> PromptTemplate:
        """A prompt from edited text, read as a file ending in ``suffix`` is (front matter and
        role lines for ``.prompt``).

        Raises:
            ConfigError: Syntax, front matter or sandbox problems, with ``label`` and the line.
        """
        return parse_prompt(text, label, suffix)

    def save_prompt(
        self, name: str | Path, text: str, *, overwrite: bool = False,
        expected_hash: str | None = None,
    ) -> SavedPrompt:
        """Write ``text`` as the prompt file ``name`` and record the version in the store.

        The text is parsed first (a prompt that does not load is not written). An existing file
        is replaced only with ``overwrite``, and then only if its content still has
        ``expected_hash`` (when given): a file changed on disk since it was opened is not lost.

        Raises:
            ConfigError: Bad text, an existing file without ``overwrite``, or a changed file.
        """
        path = self.path(name)
        template = parse_prompt(text, str(path), path.suffix)
        current: str | None = None
        if path.exists():
            current = self.read(name)
            if current != text:
                if not overwrite:
                    raise ConfigError("the file exists; save under another name or overwrite "
                                      "it", path)
                if expected_hash is not None and _hash(current) != expected_hash:
                    raise ConfigError("the file changed on disk since it was opened; reload "
                                      "it (or save under another name)", path)
        if current != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
        if self.store is not None:
            self.store.save_prompt(template.raw, template.label, template.content_hash)
        return SavedPrompt(path, template.content_hash, current != text)

    def add_test(
        self, suite: str | Path, values: Mapping[str, Any], description: str | None = None,
    ) -> AddedTest:
        """Add ``values`` as a test case's vars to the suite file ``suite`` (inside the root).

        Raises:
            ConfigError: See :func:`promptwork.suitewrite.add_test_case`.
        """
        return add_test_case(self.path(suite, SUITE_SUFFIXES), values, description)

    # -- answers ------------------------------------------------------------------------------

    async def stream(
        self,
        template: PromptTemplate,
        values: Mapping[str, Any] | None,
        models: Sequence[str],
        params: Params | Mapping[str, Any] | None = None,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> AsyncGenerator[PlaygroundEvent, None]:
        """Run ``template`` with ``values`` on every model at once, streaming the answers.

        Yields each model's :class:`AnswerStarted`, its :class:`AnswerText` pieces as they
        arrive (models interleaved), and one :class:`AnswerDone`; never raises for a model's
        problem. Leaving the loop early cancels the calls still running.

        Args:
            template: The prompt.
            values: Its variables (text values of typed inputs are read as their type).
            models: Model ids; each one's column is its place in this list (repeats dropped).
            params: The playground parameters, over the model's config and the prompt's own.
            configs: Provider options by model id for this call (``base_url``, ``api_key_env``,
                ...), instead of the ones the playground was made with.
        """
        queue: asyncio.Queue[PlaygroundEvent] = asyncio.Queue()
        columns = list(dict.fromkeys(m.strip() for m in models if m.strip()))
        extra: Params | None = None
        problem: str | None = None
        try:
            extra = params if isinstance(params, Params) else Params.parse(dict(params or {}))
        except ParamError as exc:
            problem = str(exc)
        tasks = [asyncio.create_task(
            self._answer(i, model, template, dict(values or {}), extra, problem, queue,
                         None if configs is None else configs.get(model)))
            for i, model in enumerate(columns)]
        try:
            done = 0
            while done < len(tasks):
                event = await queue.get()
                done += isinstance(event, AnswerDone)
                yield event
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _answer(
        self, column: int, model: str, template: PromptTemplate, values: dict[str, Any],
        extra: Params | None, problem: str | None, queue: asyncio.Queue[PlaygroundEvent],
        config: Mapping[str, Any] | None = None,
    ) -> None:
        put = queue.put_nowait
        put(AnswerStarted(column, model))
        pieces: list[str] = []
        try:
            if problem is not None or extra is None:
                raise ConfigError(problem or "bad parameters")
            caller = await self.caller(model, config)
            provider = caller.provider
            merged = provider.config_params.merged(template.params).merged(extra)
            provider.check_params(merged)
            prompt = template.render(values, provider={"id": provider.id,
                                                       "label": provider.label})

            def on_text(piece: str) -> None:
                pieces.append(piece)
                put(AnswerText(column, model, piece))

            def on_retry(_id: str, attempt: int, wait: float, error: ProviderError) -> None:
                pieces.clear()
                put(AnswerRetrying(column, model, attempt, wait, str(error)))

            outcome = await caller.stream(prompt, merged, on_text, on_retry=on_retry)
        except PromptworkError as exc:
            put(AnswerDone(column, model, "".join(pieces), error=str(exc), error_kind="config"))
            return
        except Exception as exc:  # the stream must not end with one model's bug
            message = redact(f"{type(exc).__name__}: {exc}")
            put(AnswerDone(column, model, "".join(pieces), error=message, error_kind="other"))
            return
        if isinstance(outcome, ProviderError):
            put(AnswerDone(column, model, "".join(pieces), error=str(outcome),
                           error_kind=outcome.kind))
        else:
            put(AnswerDone.of(column, model, outcome))

    async def caller(self, model: str, config: Mapping[str, Any] | None = None) -> ModelCaller:
        """The (kept) caller of ``model`` (with ``config``, else the playground's own config of
        it): one per model and config, so concurrent playground requests share its concurrency
        limit (one call at a time for an embedded model)."""
        key = (model if config is None
               else f"{model}\x00{json.dumps(config, sort_keys=True, default=str)}")
        async with self._lock:
            caller = self._callers.get(key)
            if caller is None:
                provider = self._given.get(model)
                if provider is None:
                    options = dict(config) if config is not None else self.configs.get(model)
                    provider = await asyncio.to_thread(create_provider, model, options)
                local = provider.id.startswith("local:")
                caller = ModelCaller(provider, self.cache, self.policy,
                                     concurrency=1 if local else 4)
                self._callers[key] = caller
        return caller

    async def aclose(self) -> None:
        """Release the providers' network clients."""
        callers, self._callers = self._callers, {}
        for caller in callers.values():
            await caller.provider.aclose()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
