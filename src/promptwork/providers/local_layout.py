"""Which layout batched embedded decoding uses: one process with all threads, or worker processes.

On some machines several processes with one thread each beat one process with every thread (2 x 1
beat 1 x 2 by 1-20% on 2 cores), on others not. ``promptwork models --calibrate`` (or the first
batched run of a model, see :func:`auto_calibrate_enabled`) times the candidate layouts on a small
fixed batch and stores the fastest in ``calibration.json`` in the user's cache folder, keyed by
model sha256, CPU count and llama-cpp-python version. Without a usable calibration a fixed rule
decides (one worker per core, up to 4). This module has no llama.cpp imports: reading a
calibration is cheap.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeGuard

from promptwork.errors import ProviderError
from promptwork.providers.local_models import cache_dir

CALIBRATION_FILE = "calibration.json"
#: Bumped when the file's layout changes; entries of another format are ignored.
FORMAT = 1
CALIBRATE_HINT = "run promptwork models --calibrate"
#: Load average per core from which a calibration is flagged as made on a busy machine.
BUSY_LOAD = 0.5


def cpu_count() -> int:
    return max(1, os.cpu_count() or 1)


def auto_calibrate_enabled() -> bool:
    """Whether a model's first batched run calibrates when no calibration exists
    (``PROMPTWORK_AUTO_CALIBRATE=0`` turns it off, e.g. in CI)."""
    return os.environ.get("PROMPTWORK_AUTO_CALIBRATE", "1").strip().lower() not in (
        "0", "false", "no", "off")


@functools.lru_cache(maxsize=1)
def llama_cpp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Layout:
    """``workers`` decoding processes (1: this process) with ``threads`` threads each."""

    workers: int
    threads: int

    @property
    def label(self) -> str:
        return f"{self.workers}x{self.threads}"

    def describe(self) -> str:
        if self.workers > 1:
            return f"{self.workers} workers x {_plural(self.threads, 'thread')}"
        return f"1 process x {_plural(self.threads, 'thread')}"


@dataclass(frozen=True)
class LayoutChoice:
    """A layout and why it was chosen.

    Attributes:
        layout: The layout used for groups large enough for worker processes.
        source: ``calibrated``, ``rule``, ``option`` (set explicitly) or ``sequential``.
        why: One line, e.g. ``calibrated 2026-11-24: 2x1 0.52 s vs 1x2 0.55 s``.
    """

    layout: Layout
    source: str
    why: str

    def text(self) -> str:
        return f"{self.layout.describe()} ({self.why})"


def rule_layout(threads: int | None = None) -> Layout:
    """The fallback: one worker process per core (one thread each), up to 4."""
    workers = max(1, min(4, cpu_count()))
    return Layout(workers, 1) if workers > 1 else Layout(1, threads or cpu_count())


def candidates(cpus: int | None = None) -> list[Layout]:
    """Layouts worth timing: 2 (and up to 4) workers x 1 thread, and this process with every
    core. The rule's layout comes first: it is timed first and sets the bar for the others."""
    cpus = cpus or cpu_count()
    out = [Layout(w, 1) for w in sorted({min(4, cpus), 2}, reverse=True) if 2 <= w <= cpus]
    return [*out, Layout(1, cpus)]


def calibration_key(sha256: str, cpus: int | None = None) -> str:
    return f"{sha256}|cpus={cpus or cpu_count()}|llama-cpp-python={llama_cpp_version()}"


def _path() -> Path:
    return cache_dir() / CALIBRATION_FILE


def _read_all() -> dict[str, Any]:
    """The file's entries; raises ``OSError`` or ``ValueError`` when it is unreadable."""
    data = json.loads(_path().read_text())
    if not isinstance(data, dict) or not isinstance(data.get("layouts"), dict):
        raise ValueError("not a calibration file")
    if data.get("format") != FORMAT:
        return {}
    layouts: dict[str, Any] = data["layouts"]
    return layouts


def _choice_of(entry: Any) -> LayoutChoice:
    """A stored entry as a choice; ``ValueError`` when it is malformed."""
    if not isinstance(entry, dict):
        raise ValueError("bad entry")
    workers, threads, when, seconds = (entry.get(k) for k in ("workers", "threads", "date",
                                                                "seconds"))
    if not (_positive(workers) and _positive(threads) and isinstance(when, str)
            and isinstance(seconds, dict)
            and all(isinstance(v, int | float) and v >= 0 for v in seconds.values())):
        raise ValueError("bad entry")
    load = entry.get("load")
    layout = Layout(workers, threads)
    return LayoutChoice(layout, "calibrated", f"calibrated {_when(when, load)}: "
                        f"{_versus(layout, seconds)}")


def stored_choice(sha256: str) -> tuple[LayoutChoice | None, str]:
    """The calibrated layout of a model on this machine, or ``(None, why not)``.

    Never raises: a missing, unreadable or malformed file is only a reason to use the rule.
    """
    try:
        entry = _read_all().get(calibration_key(sha256))
    except FileNotFoundError:
        return None, "no calibration"
    except (OSError, ValueError):
        return None, f"unreadable calibration file {_path()}"
    if entry is None:
        return None, "no calibration"
    try:
        return _choice_of(entry), ""
    except ValueError:
        return None, f"unreadable calibration file {_path()}"


def rule_choice(reason: str = "no calibration", threads: int | None = None) -> LayoutChoice:
    return LayoutChoice(rule_layout(threads), "rule", f"rule: {reason}; {CALIBRATE_HINT}")


def default_choice(sha256: str | None) -> LayoutChoice:
    """The calibrated layout if there is one, else the rule's (what ``workers: auto`` uses
    when it does not calibrate)."""
    if sha256 is None:
        return rule_choice("model digest unknown")
    found, reason = stored_choice(sha256)
    return found or rule_choice(reason)


def resolve_layout(
    *, sequential: bool, workers: int | str, threads: int, threads_given: bool,
    sha256: Callable[[], str], calibrate: Callable[[str], LayoutChoice],
) -> LayoutChoice:
    """The layout a provider uses: explicit options win, then this machine's calibration, then
    (when auto-calibration is on) ``calibrate(sha256)`` run now, else the rule.

    Args:
        sequential: Sequential decoding (one call at a time, in this process).
        workers: The ``workers`` option: a count, or ``"auto"``.
        threads: The ``n_threads`` setting.
        threads_given: Whether ``n_threads`` was set explicitly (then: one process).
        sha256: The model file's digest (called only when a calibration is looked up).
        calibrate: Times the layouts and stores the winner.
    """
    if sequential:
        return LayoutChoice(Layout(1, threads), "sequential", "one call at a time")
    if isinstance(workers, int):
        return LayoutChoice(Layout(workers, 1 if workers > 1 else threads), "option",
                            "workers option")
    if threads_given:
        return LayoutChoice(Layout(1, threads), "option", "n_threads option")
    digest = sha256()
    found, reason = stored_choice(digest)
    # A calibration timed while other work kept the cores busy is not kept for good: once the
    # machine is quiet, the first batched run (auto-calibration on) times the layouts again.
    if found is not None and not (auto_calibrate_enabled() and _stored_busy(digest)
                                  and not _busy_now()):
        return found
    if not auto_calibrate_enabled():
        return rule_choice(reason)
    try:
        return calibrate(digest)
    except ProviderError as exc:
        return found or rule_choice(f"calibration failed: {exc.message}")


def _stored_busy(sha256: str) -> bool:
    """Whether this model's stored calibration was timed on a busy machine."""
    try:
        entry = _read_all().get(calibration_key(sha256))
    except (OSError, ValueError):
        return False
    load = entry.get("load") if isinstance(entry, dict) else None
    return isinstance(load, int | float) and load >= BUSY_LOAD


def _busy_now() -> bool:
    load = _load()
    return load is not None and load >= BUSY_LOAD


def store(
    sha256: str, layout: Layout, seconds: dict[str, float], when: date, load: float | None = None,
) -> str | None:
    """Save a calibration (other models' and machines' entries are kept); returns the path,
    or None when the cache folder is not writable."""
    path = _path()
    try:
        entries = _read_all()
    except (OSError, ValueError):
        entries = {}  # a damaged file is replaced
    entries[calibration_key(sha256)] = {
        "workers": layout.workers, "threads": layout.threads, "date": when.isoformat(),
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "load": None if load is None else round(load, 2),
        "llama_cpp_python": llama_cpp_version(),
    }
    text = json.dumps({"format": FORMAT, "layouts": entries}, indent=1, sort_keys=True)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: a concurrent reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return None
    return str(path)


def choose(
    timer: Callable[[Layout, int], float], layouts: Sequence[Layout], tries: int = 2,
    on_timed: Callable[[Layout, float], None] | None = None,
) -> tuple[Layout, dict[str, float]]:
    """Time every layout up to ``tries`` times (``timer(layout, attempt)`` returns seconds) and
    pick the one with the best (smallest) time; ties go to fewer processes.

    A layout whose attempt takes more than twice the best time so far gets no further attempt
    (multi-threaded decoding on a busy machine can be ten times slower). ``on_timed(layout,
    best)`` is called once a layout is done.
    """
    best: dict[str, float] = {}
    for layout in layouts:
        bar = min(best.values(), default=None)
        for attempt in range(tries):
            seconds = timer(layout, attempt)
            best[layout.label] = min(seconds, best.get(layout.label, seconds))
            if bar is not None and seconds > 2 * bar:
                break
        if on_timed is not None:
            on_timed(layout, best[layout.label])
    winner = min(layouts, key=lambda lay: (best[lay.label], lay.workers))
    return winner, best


def calibrate(
    sha256: str,
    timer: Callable[[Layout, int], float],
    layouts: Sequence[Layout] | None = None,
    tries: int = 2,
    today: date | None = None,
    on_timed: Callable[[Layout, float], None] | None = None,
) -> LayoutChoice:
    """Time the candidate layouts, store the winner for this model and machine, return it."""
    raw_load = _load()
    winner, raw = choose(timer, layouts or candidates(), tries, on_timed)
    # Rounded as stored, so this choice reads the same as the one later read back from the file.
    seconds = {k: round(v, 4) for k, v in raw.items()}
    load = None if raw_load is None else round(raw_load, 2)
    when = today or date.today()
    stored = store(sha256, winner, seconds, when, load)
    why = f"calibrated {_when(when.isoformat(), load)}: {_versus(winner, seconds)}"
    if stored is None:
        why += f"; not saved, {cache_dir()} is not writable"
    return LayoutChoice(winner, "calibrated", why)


def _versus(winner: Layout, seconds: dict[str, float]) -> str:
    """``2x1 0.52 s vs 1x2 0.55 s``: the winner first."""
    order = sorted(seconds, key=lambda k: (k != winner.label, seconds[k]))
    return " vs ".join(f"{k} {seconds[k]:.2f} s" for k in order)


def _load() -> float | None:
    """The 1-minute load average per core (None where the OS does not tell)."""
    try:
        return os.getloadavg()[0] / cpu_count()
    except (AttributeError, OSError):
        return None


def _when(day: str, load: Any) -> str:
    """The date, and a warning when other work was keeping the cores busy."""
    if isinstance(load, int | float) and load >= BUSY_LOAD:
        return f"{day}, machine busy: load {load:.1f} per core"
    return day


def _positive(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
