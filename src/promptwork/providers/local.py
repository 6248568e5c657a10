"""``local:``: embedded llama.cpp models running in this process.

``local:gemma3-270m`` (the default) is a base model used in text-completion mode: chat prompts are
laid out as plain-text turns. ``local:smollm2`` is a chat model and uses its chat template.
``local:/path/model.gguf`` loads any GGUF file (chat mode if the file has a chat template).

Decoding is batch invariant by default (a cell's answer is the one its prompt gets alone);
``decoding: fast`` (``eval --fast-decoding``) trades that for speed, see
:mod:`promptwork.providers.local_fast`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider, Stopwatch
from promptwork.providers.local_layout import LayoutChoice, resolve_layout, rule_layout
from promptwork.providers.local_models import POOL, LoadedModel, ModelPool, file_sha256

if TYPE_CHECKING:
    # Imported when first used: the batch decoder needs NumPy (~90 ms of start-up), which a
    # fully cached run never touches.
    from promptwork.providers.local_decoding import Decoding
    from promptwork.providers.local_logprobs import LogprobRecorder
from promptwork.types import (
    Capabilities,
    Completion,
    Params,
    RenderedPrompt,
    Usage,
)

DEFAULT_MAX_TOKENS = 256
_LOAD_KEYS = ("n_ctx", "n_threads", "n_threads_batch", "n_batch")
_OPTION_KEYS = (*_LOAD_KEYS, "mode", "decoding", "batch_width", "workers")
#: Prompts handed to the batch decoder at once (it decodes ``batch_width`` of them together).
GROUP_SIZE = 64
#: Sequences decoded together by default. Each has its own KV stream (~11 MB for Gemma 3 270M:
#: a worker process at width 32 peaks at ~780 MB, at 16 ~600 MB); on bench/embedded's suite a
#: worker's share decodes in 11.1 s at width 32, 12.2 s at 16 (bench/embedded/calls.py).
BATCH_WIDTH = 32


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """The rule's decoding processes for batched mode (one per core, up to 4), used where no
    calibration exists; see :mod:`promptwork.providers.local_layout`."""
    return rule_layout().workers


class LocalProvider(Provider):
    """An embedded llama.cpp model.

    Args:
        id: The model id.
        model: Built-in name (``gemma3-270m``, ``smollm2``) or a GGUF path.
        config: ``n_ctx`` (default 2048), ``n_threads`` (default: all cores), ``n_threads_batch``,
            ``mode`` (``chat`` or ``completion``; default from the model), ``decoding``
            (``batched``, ``sequential``, or ``fast``: batched with llama.cpp's stock kernels in
            worker processes of its own, faster, but an answer may depend on which cells share
            its batch), ``batch_width`` (default 32), ``workers`` (decoding processes
            of one thread each; default ``auto``: the layout calibrated on this machine, else
            a rule; an explicit ``n_threads`` alone means one process with that many threads).
        pool: Where loaded models live (the process pool by default).
    """

    capabilities = Capabilities(
        chat=True, completion=True, streaming=True, json_schema=True, logprobs=True
    )
    supported_params = frozenset(
        {
            "temperature", "top_p", "max_tokens", "stop", "seed",
            "frequency_penalty", "presence_penalty", "response_schema", "logprobs",
            "top_logprobs", "top_k", "json_object",
        }
    )

    def __init__(
        self,
        id: str,
        model: str,
        config: dict[str, Any] | None = None,
        label: str | None = None,
        pool: ModelPool | None = None,
    ):
        super().__init__(id, label)
        config = dict(config or {})
        unknown = sorted(set(config) - set(_OPTION_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown option(s) for {id}: {', '.join(unknown)}; "
                f"allowed: {', '.join(_OPTION_KEYS)}, and generation parameters (temperature, "
                "max_tokens, top_p, top_k, stop, seed, response_format...)"
            )
        self.decoding = str(config.get("decoding", "batched"))
        if self.decoding not in ("batched", "sequential", "fast"):
            raise ConfigError(f"{id}: decoding must be 'batched', 'sequential' or 'fast', "
                              f"got {self.decoding!r}")
        width = config.get("batch_width", BATCH_WIDTH)
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            raise ConfigError(f"{id}: batch_width must be an integer between 1 and 64, "
                              f"got {width!r}")
        self.batch_width = width
        # Batching is an instance capability: the sequential path keeps the one-call contract.
        self.capabilities = Capabilities(  # type: ignore[misc]
            chat=True, completion=True, streaming=True, json_schema=True, logprobs=True,
            batching=self.decoding != "sequential",
        )
        self.batch_size = GROUP_SIZE
        workers = config.get("workers", "auto")
        if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int)
                                  or workers < 1):
            raise ConfigError(f"{id}: workers must be a positive integer or 'auto'")
        self._workers_option: int | str = workers
        self._threads_given = "n_threads" in config
        self._layout: LayoutChoice | None = None
        self._pool = pool or POOL
        self.path, builtin = self._pool.resolve(model)
        threads = int(config.get("n_threads", default_threads()))
        n_ctx = int(config.get("n_ctx", 2048))
        if n_ctx < 256:
            # llama.cpp silently raises smaller contexts to 256 while llama-cpp-python keeps
            # buffers of the requested size, which corrupts long answers.
            raise ConfigError(f"{id}: n_ctx must be at least 256, got {n_ctx}")
        self.settings: dict[str, Any] = {
            "n_ctx": n_ctx,
            "n_threads": threads,
            # Without this llama.cpp uses every core for prompt processing.
            "n_threads_batch": int(config.get("n_threads_batch", threads)),
        }
        if "n_batch" in config:
            self.settings["n_batch"] = int(config["n_batch"])
        mode = config.get("mode")
        if mode not in (None, "chat", "completion"):
            raise ConfigError(f"{id}: mode must be 'chat' or 'completion', got {mode!r}")
        self._mode: str | None = mode or (
            None if builtin is None else ("chat" if builtin.chat else "completion")
        )
        self._builtin = builtin

    @property
    def model(self) -> LoadedModel:
        return self._pool.get(self.path, self.settings)

    @property
    def mode(self) -> str:
        if self._mode is None:
            meta = self.model.llama.metadata or {}
            self._mode = "chat" if "tokenizer.chat_template" in meta else "completion"
        return self._mode

    def prompt_text(self, prompt: RenderedPrompt) -> str:
        """The exact text the model sees: chat template applied, or plain-text turns."""
        if self.mode != "chat":
            return prompt.as_text()
        formatted: str = self._chat_formatter()(messages=prompt.to_list()).prompt
        return formatted

    def _chat_formatter(self) -> Any:
        model = self.model
        if "chat_formatter" not in model.extras:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llama = model.llama
            template = (llama.metadata or {}).get("tokenizer.chat_template")
            if not template:
                raise ConfigError(f"{self.id} has no chat template; use mode: completion")
            model.extras["eos"] = _token_text(llama, llama.token_eos())
            model.extras["chat_formatter"] = Jinja2ChatFormatter(
                template=template,
                eos_token=model.extras["eos"],
                bos_token=_token_text(llama, llama.token_bos()),
            )
        return model.extras["chat_formatter"]

    def _chat_stops(self) -> list[str]:
        self._chat_formatter()
        eos: str = self.model.extras["eos"]
        return [eos] if eos else []

    @property
    def workers(self) -> int:
        """Decoding processes for groups of 8+ cells (1: this process); see
        :mod:`promptwork.providers.local_decoding`."""
        return self.layout_choice().layout.workers

    def layout_choice(self) -> LayoutChoice:
        """The decoding layout and why: explicit options, else this machine's calibration
        (made now, once, if there is none and auto-calibration is on), else the rule."""
        if self._layout is None:
            self._layout = resolve_layout(
                sequential=self.decoding == "sequential", workers=self._workers_option,
                threads=self.settings["n_threads"], threads_given=self._threads_given,
                sha256=self._sha256,
                calibrate=lambda sha256: self._pool.call(self._calibrate, sha256))
        return self._layout

    def calibrate(self) -> LayoutChoice:
        """Time the decoding layouts on this machine now and store the fastest for this model
        (``promptwork models --calibrate``); explicit ``workers``/``n_threads`` still win."""
        choice = self._pool.call(self._calibrate, self._sha256())
        explicit = (self.decoding == "sequential" or self._workers_option != "auto"
                    or self._threads_given)
        if not explicit:
            self._layout = choice
        return choice

    def _sha256(self) -> str:
        return self._builtin.sha256 if self._builtin else file_sha256(self.path)

    def _calibrate(self, sha256: str) -> LayoutChoice:
        from promptwork.providers.local_calibrate import calibrate_model

        decoding = self._decoding()
        choice, runner = calibrate_model(self.model.llama, self.path, sha256, self.batch_width,
                                         decoding.n_ctx)
        # What was timed is what the run uses: keep the winner's decoder or worker processes.
        decoding.adopt(choice.layout.workers, runner)
        return choice

    def for_repeat(self, prompt: RenderedPrompt, params: Params, repeat: int) -> Params:
        """Repeat ``repeat`` of a cell samples with its own seed: the cell's seed (its ``seed``,
        else one derived from the prompt) mixed with the repeat index. Greedy answers
        (temperature 0) are unchanged."""
        from promptwork.providers.local_batch import repeat_seed

        if not repeat or params.temperature == 0:
            return params
        return params.model_copy(update={"seed": repeat_seed(prompt.to_list(), params, repeat)})

    def cache_identity(self) -> dict[str, Any]:
        name = self._builtin.name if self._builtin else str(self.path)
        sha = self._builtin.sha256 if self._builtin else None
        return {
            "provider": "local",
            "model": name,
            "sha256": sha,
            "mode": self._mode,
            # Answers of the stock kernels (fast decoding, or before batch invariance) never
            # serve a batch-invariant run, nor the reverse.
            "numerics": "fast" if self.decoding == "fast" else "batch-invariant",
            # Settings that change numerics are part of the identity (cache key, run record).
            "decoding": self.decoding,
            "batch_width": self.batch_width if self.decoding != "sequential" else None,
            "workers": self.workers,
            "n_threads": 1 if self.workers > 1 else self.settings["n_threads"],
        }

    def describe(self) -> dict[str, Any]:
        choice = self.layout_choice()
        return {**self.settings, **self.cache_identity(), "path": str(self.path),
                "layout": choice.layout.describe(), "layout_source": choice.source,
                "layout_why": choice.why}

    def _kwargs(self, params: Params, stream: bool) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": stream,
        }
        for name in ("temperature", "top_p", "top_k", "seed", "frequency_penalty",
                     "presence_penalty"):
            value = getattr(params, name)
            if value is not None:
                kw[name] = value
        if params.stop:
            kw["stop"] = list(params.stop)
        schema = params.bare_schema()
        if schema is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            kw["grammar"] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return kw

    def _call(
        self,
        prompt: RenderedPrompt,
        params: Params,
        stream: bool,
        recorder: LogprobRecorder | None = None,
    ) -> Any:
        llama = self.model.llama
        kw = self._kwargs(params, stream)
        text = self.prompt_text(prompt)
        if self.mode == "chat":
            kw["stop"] = [*kw.get("stop", []), *self._chat_stops()]
        if recorder is not None:
            from llama_cpp import LogitsProcessorList

            kw["logits_processor"] = LogitsProcessorList([recorder.see_logits])
        _whole_runs(llama, llama.tokenize(text.encode(), special=True))
        try:
            return llama.create_completion(prompt=text, **kw)
        except ValueError as exc:
            kind = "context_length" if "context window" in str(exc) else "bad_request"
            raise ProviderError(str(exc), kind=kind) from None
        except RuntimeError as exc:
            raise ProviderError(f"llama.cpp failed: {exc}", kind="other") from None

    def _complete_sync(self, prompt: RenderedPrompt, params: Params) -> Completion:
        model = self.model
        watch = Stopwatch()
        recorder = None
        if params.logprobs:
            from promptwork.providers.local_logprobs import LogprobRecorder

            recorder = LogprobRecorder()
        with model.lock:
            out = self._call(prompt, params, stream=False, recorder=recorder)
            choice = out["choices"][0]
            text = choice["text"] or ""
            logprobs = (recorder.result(model.llama, text, params.top_logprobs or 0)
                        if recorder is not None else None)
        usage = out.get("usage") or {}
        return Completion(
            text=text or "",
            provider=self.id,
            usage=Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")),
            latency_ms=watch.ms(),
            cost=0.0,
            finish_reason=choice.get("finish_reason"),
            logprobs=logprobs,
            raw=None,
        )

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        if self.decoding != "sequential" and params.bare_schema() is None:
            result = (await self.complete_batch([(prompt, params)]))[0]
            if isinstance(result, ProviderError):
                raise result
            return result
        return await self._pool.run(self._complete_sync, prompt, params)

    async def complete_batch(
        self, requests: Sequence[tuple[RenderedPrompt, Params]]
    ) -> list[Completion | ProviderError]:
        """Decode the requests together (one ``llama_decode`` per step for the group).

        Requests with a JSON schema need llama.cpp's grammar sampler and run one by one.
        """
        if self.decoding == "sequential":
            return await super().complete_batch(requests)
        return await self._pool.run(self._batch_sync, list(requests))

    def _decoding(self) -> Decoding:
        from promptwork.providers.local_decoding import Decoding

        return Decoding(self.model, self.path, self.batch_width, self.settings["n_ctx"],
                        self.settings["n_threads"], fast=self.decoding == "fast")

    def _batch_sync(
        self, requests: list[tuple[RenderedPrompt, Params]]
    ) -> list[Completion | ProviderError]:
        from promptwork.providers.local_batch import Request, seed_for
        from promptwork.providers.local_decoding import to_completion

        out: list[Completion | ProviderError | None] = [None] * len(requests)
        batchable: list[int] = []
        for i, (prompt, params) in enumerate(requests):
            if params.bare_schema() is not None:
                try:
                    out[i] = self._complete_sync(prompt, params)
                except ProviderError as exc:
                    out[i] = exc
            else:
                batchable.append(i)
        if batchable:
            model = self.model
            watch = Stopwatch()
            with model.lock:
                texts = [self.prompt_text(requests[i][0]) for i in batchable]
                stops_extra = tuple(self._chat_stops()) if self.mode == "chat" else ()
                batch = [
                    Request(
                        tokens=model.llama.tokenize(text.encode(), special=True),
                        params=requests[i][1],
                        max_tokens=requests[i][1].max_tokens or DEFAULT_MAX_TOKENS,
                        stops=(*(requests[i][1].stop or ()), *stops_extra),
                        seed=seed_for(text, requests[i][1]),
                    )
                    for i, text in zip(batchable, texts, strict=True)
                ]
                results = self._decoding().run(batch, lambda: self.workers)
                each_ms = watch.ms() / len(batch)
                for i, res in zip(batchable, results, strict=True):
                    # Each cell's own finish time; the batch's share only if none was measured.
                    out[i] = to_completion(res, requests[i][1], self.id,
                                           res.latency_ms or each_ms, model.llama)
        return [o for o in out if o is not None]

    def complete_sync(self, prompt: RenderedPrompt, params: Params) -> Completion:
        """The same call without an event loop (used by the synchronous API)."""
        return self._pool.call(self._complete_sync, prompt, params)

    def _stream_sync(
        self, prompt: RenderedPrompt, params: Params, on_text: Callable[[str], None]
    ) -> Completion:
        model = self.model
        watch = Stopwatch()
        pieces: list[str] = []
        finish = None
        with model.lock:
            chunks: Iterator[dict[str, Any]] = self._call(prompt, params, stream=True)
            for chunk in chunks:
                choice = chunk["choices"][0]
                piece = choice.get("text") or ""
                if piece:
                    pieces.append(piece)
                    on_text(piece)
                finish = choice.get("finish_reason") or finish
            text = "".join(pieces)
            prompt_bytes = self.prompt_text(prompt).encode()
            prompt_tokens = len(model.llama.tokenize(prompt_bytes, special=True))
            completion_tokens = len(model.llama.tokenize(text.encode(), add_bos=False))
        return Completion(
            text=text,
            provider=self.id,
            usage=Usage(prompt_tokens, completion_tokens),
            latency_ms=watch.ms(),
            cost=0.0,
            finish_reason=finish,
        )

    async def stream_complete(
        self, prompt: RenderedPrompt, params: Params, on_text: Any
    ) -> Completion:
        loop = asyncio.get_running_loop()

        def forward(piece: str) -> None:
            loop.call_soon_threadsafe(on_text, piece)

        return await self._pool.run(self._stream_sync, prompt, params, forward)


def _whole_runs(llama: Any, tokens: list[int]) -> None:
    """Make ``create_completion`` decode no one-token run of ``tokens``.

    It reuses the longest prefix it still holds and decodes the rest in ``n_batch`` runs; a run
    of one token takes another attention kernel than the lone decode (see
    :func:`promptwork.providers.local_batch.pieces`), so it is given back a token of the cached
    prefix instead.
    """
    held = 0
    for a, b in zip(llama.input_ids[:llama.n_tokens], tokens, strict=False):
        if a != b:
            break
        held += 1
    keep = min(held, len(tokens) - 2)
    if keep > 0 and (len(tokens) - keep) % llama.n_batch == 1:
        keep -= 1
    if keep < llama.n_tokens:
        llama.n_tokens = max(0, keep)


def _token_text(llama: Any, token: int) -> str:
    if token < 0:
        return ""
    raw: bytes = llama.detokenize([token], special=True)
    return raw.decode("utf-8", errors="replace")


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    return LocalProvider(model_id, rest or "gemma3-270m", config, label)
