"""User Python functions named as promptfoo names them: ``file://path.py`` or ``file://path.py:fn``.

A suite may point at Python code in several places (prompt functions, test generators, ``file://``
variables). This module turns such a reference into a callable: the path resolved inside the
suite's folder (unless files outside it are allowed), the module loaded once per
:class:`FunctionLoader`, the function looked up and checked to be callable. The code is the
user's own and runs in this process, as promptfoo runs it in its Python worker.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from promptwork.errors import ConfigError

PREFIX = "file://"


def is_python_ref(ref: Any) -> bool:
    """Whether ``ref`` is ``file://...py`` or ``file://...py:name``."""
    if not isinstance(ref, str) or not ref.startswith(PREFIX):
        return False
    path, _ = split_ref(ref, "")
    return path.lower().endswith(".py")


def split_ref(ref: str, default: str) -> tuple[str, str]:
    """``file://x.py:fn`` -> ``("x.py", "fn")``; ``file://x.py`` -> ``("x.py", default)``."""
    target = ref[len(PREFIX):] if ref.startswith(PREFIX) else ref
    path, sep, name = target.rpartition(":")
    if sep and path and name.isidentifier():
        return path, name
    return target, default


def resolve_inside(raw: str, base_dir: Path, allow_outside: bool, what: str) -> Path:
    """``raw`` as a path under ``base_dir``; escaping it is refused unless allowed."""
    base = base_dir.resolve()
    path = Path(raw)
    full = (path if path.is_absolute() else base_dir / path).resolve()
    if not allow_outside and not full.is_relative_to(base):
        raise ConfigError(
            f"{what} {raw!r} is outside the suite folder {base}; refusing to run it "
            "(move it inside the folder, or allow files outside it explicitly)"
        )
    if not full.is_file():
        raise ConfigError(f"{what} not found: {raw!r} (looked for {full})")
    return full


class FunctionLoader:
    """Loads ``file://x.py:fn`` functions, each module once (per loader).

    Args:
        base_dir: The suite's folder; relative paths resolve against it.
        allow_outside: Allow files outside ``base_dir``.
    """

    def __init__(self, base_dir: Path, allow_outside: bool = False):
        self.base_dir = Path(base_dir)
        self.allow_outside = allow_outside
        self._modules: dict[tuple[Path, int], ModuleType] = {}

    def function(self, ref: str, default: str, what: str) -> Callable[..., Any]:
        """The function ``ref`` names (``default`` when it names none).

        Raises:
            ConfigError: The file is missing, outside the folder, fails to import, or has no
                such function.
        """
        raw, name = split_ref(ref, default)
        path = resolve_inside(raw, self.base_dir, self.allow_outside, what)
        module = self._module(path, what)
        fn = getattr(module, name, None)
        if not callable(fn):
            raise ConfigError(f"{what} {ref!r}: {path.name} has no function {name!r}")
        return fn  # type: ignore[no-any-return]

    def _module(self, path: Path, what: str) -> ModuleType:
        key = (path, path.stat().st_mtime_ns)
        known = self._modules.get(key)
        if known is not None:
            return known
        name = f"promptwork_user_{abs(hash(key)):x}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load {what} {path}")
        module = importlib.util.module_from_spec(spec)
        folder = str(path.parent)
        sys.path.insert(0, folder)  # the file may import its neighbours
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(
                f"{what} {path.name} failed to import: {type(exc).__name__}: {exc}", path
            ) from None
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
        self._modules[key] = module
        return module
