"""Suite runs in the background: ``promptwork eval`` as an asyncio task of the running process.

The workbench's "Run on suite" starts a job and opens the run's live matrix; the page follows
the job's events (Server-Sent Events over :meth:`JobManager.events`). A job runs the same
:class:`promptwork.runner.Runner` as the command line, so its run is stored, cached and resumable
like any other: cancelling a job interrupts its run, and ``promptwork eval --resume RUN`` (or
:meth:`JobManager.start` with ``resume``) completes it.

One :class:`JobManager` belongs to the application (nothing here is module state)::

    jobs = JobManager(store, root=Path("."))
    job = jobs.start("promptwork.yaml")
    run_id = (await jobs.wait_started(job.id)).run_id
    async for event in jobs.events(job.id):   # {"type": "progress" | "cell" | "finished", ...}
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError, PromptworkError
from promptwork.events import CellFinished, Event, Retrying, RunFinished, RunStarted
from promptwork.providers.base import Provider
from promptwork.runner import RunConfig, Runner
from promptwork.secrets import redact
from promptwork.store import Store
from promptwork.suite import Suite, find_suite, load_suite

__all__ = ["Job", "JobManager"]

#: Events a slow listener may have waiting before cell events are dropped for it (the progress
#: counts travel with every event, so a dropped cell loses no count).
LISTENER_BACKLOG = 1000
#: Finished jobs kept for listing; older ones are forgotten (their runs stay in the store).
KEEP_FINISHED = 50

#: Job states: ``starting`` (checking the suite), ``running``, then the run's own end state
#: (``complete``, ``interrupted``: cancelled or stopped at a limit, ``failed``).
FINAL = frozenset({"complete", "interrupted", "failed"})


@dataclass
class Job:
    """One background suite run.

    Attributes:
        id: The job id (not the run id: a job has no run until its suite is checked).
        suite_path: The suite file.
        run_id: The run's id, once started.
        status: ``starting``, ``running``, ``complete``, ``interrupted`` or ``failed``.
        total: Cells in the run; ``already_done``: cells a resumed run had before.
        done, passed, failed, errors: Cells finished so far (``done`` counts resumed ones).
        error: Why the job failed, when it did before or outside the run.
    """

    id: str
    suite_path: Path
    created_at: datetime
    run_id: str | None = None
    status: str = "starting"
    total: int = 0
    already_done: int = 0
    done: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    _listeners: list[asyncio.Queue[dict[str, Any]]] = field(default_factory=list, repr=False)
    _started: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    def progress(self) -> dict[str, Any]:
        """The job's state as JSON-able data (the ``progress`` event and a status endpoint)."""
        return {
            "job": self.id, "run_id": self.run_id, "status": self.status,
            "suite": str(self.suite_path), "total": self.total, "done": self.done,
            "already_done": self.already_done, "passed": self.passed, "failed": self.failed,
            "errors": self.errors, "error": self.error,
        }

    # -- events from the runner -----------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The runner's subscriber: counts, then tells every listener."""
        if isinstance(event, RunStarted):
            self.run_id, self.status = event.run_id, "running"
            self.total, self.already_done = event.total, event.already_done
            self.done = event.already_done
            self._started.set()
            self._tell({"type": "started", **self.progress()})
        elif isinstance(event, CellFinished):
            cell = event.result
            self.done += 1
            if cell.error is not None:
                self.errors += 1
                verdict = "error"
            elif cell.passed:
                self.passed += 1
                verdict = "pass"
            else:
                self.failed += 1
                verdict = "fail"
            key = cell.key
            self._tell({
                "type": "cell", "test": key.test, "prompt": key.prompt,
                "provider": key.provider, "repeat": key.repeat,
                "prompt_label": event.prompt_label, "provider_label": event.provider_label,
                "verdict": verdict, "score": cell.score, **self._counts()})
        elif isinstance(event, Retrying):
            self._tell({"type": "retrying", "provider": event.provider,
                        "attempt": event.attempt, "wait_s": event.wait_s,
                        "error": event.error, **self._counts()})
        elif isinstance(event, RunFinished):
            self.status = event.status

    def _counts(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "passed": self.passed,
                "failed": self.failed, "errors": self.errors}

    def _end(self, status: str, error: str | None = None) -> None:
        self.status = status if status in FINAL else "failed"
        self.error = error
        self._started.set()
        self._ended.set()
        final = {"type": "finished", **self.progress()}
        for queue in self._listeners:
            while True:  # the last event always gets through, even to a slow listener
                try:
                    queue.put_nowait(final)
                    break
                except asyncio.QueueFull:
                    queue.get_nowait()

    def _tell(self, event: dict[str, Any]) -> None:
        for queue in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)


class JobManager:
    """Starts, follows and cancels background suite runs.

    Args:
        store: Where the runs go (the application's store: its pages show them).
        root: Suites must lie inside this folder (``None``: anywhere).
        config: Default run options of every job.
    """

    def __init__(
        self, store: Store, root: str | Path | None = None, config: RunConfig | None = None,
    ):
        self.store = store
        self.root = Path(root).resolve() if root is not None else None
        self.config = config or RunConfig()
        self._jobs: dict[str, Job] = {}

    def suite_file(self, path: str | Path) -> Path:
        """The suite file at ``path`` (a file or a folder holding one), inside the root.

        Raises:
            ConfigError: No suite there, or one outside the root.
        """
        given = Path(path)
        if self.root is not None and not given.is_absolute():
            given = self.root / given
        for candidate in (given, None):  # before looking (say nothing of what is outside)
            file = (candidate or find_suite(given)).resolve()
            if self.root is not None and not file.is_relative_to(self.root):
                raise ConfigError(f"{path!s} is outside the workbench folder {self.root}")
        return file

    def start(
        self,
        suite: str | Path | Suite,
        *,
        resume: str | None = None,
        config: RunConfig | None = None,
        providers: dict[int, Provider] | None = None,
    ) -> Job:
        """Check the suite, then run it in the background (call from the event loop).

        Args:
            suite: A suite file or folder (inside the root), or a loaded suite.
            resume: A run id to complete instead of starting a new run.
            config: Run options (default: the manager's).
            providers: Provider instances by provider index, replacing the suite's (tests).

        Raises:
            ConfigError: The suite does not load (nothing is started).
        """
        loaded = suite if isinstance(suite, Suite) else load_suite(self.suite_file(suite))
        job = Job(secrets.token_hex(6), loaded.path or loaded.base_dir, datetime.now(UTC))
        runner = Runner(loaded, self.store, config or self.config, [job.on_event], providers)
        job.task = asyncio.create_task(self._run(job, runner, resume), name=f"job {job.id}")
        self._jobs[job.id] = job
        self._forget_old()
        return job

    async def _run(self, job: Job, runner: Runner, resume: str | None) -> None:
        try:
            await runner.run(resume)
        except asyncio.CancelledError:
            job._end("interrupted" if job.run_id else "failed",
                     None if job.run_id else "cancelled before it started")
            return  # the task ends here: cancelling it is its normal end
        except PromptworkError as exc:
            job._end("failed", str(exc))
            return
        except Exception as exc:  # a bug must end the job visibly, not silently
            job._end("failed", redact(f"{type(exc).__name__}: {exc}"))
            return
        job._end(job.status if job.status in FINAL else "complete")

    def get(self, job_id: str) -> Job:
        """The job ``job_id``.

        Raises:
            ConfigError: No such job (it may have been forgotten: its run is in the store).
        """
        job = self._jobs.get(job_id)
        if job is None:
            raise ConfigError(f"no job {job_id!r}")
        return job

    def jobs(self) -> list[Job]:
        """Every job kept, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def for_run(self, run_id: str) -> Job | None:
        """The newest job of run ``run_id`` (a running run's live progress), if any."""
        return next((j for j in self.jobs() if j.run_id == run_id), None)

    async def wait_started(self, job_id: str) -> Job:
        """The job once its run has started (``run_id`` known) or it has failed."""
        job = self.get(job_id)
        await job._started.wait()
        return job

    async def wait(self, job_id: str) -> Job:
        """The job once it has finished."""
        job = self.get(job_id)
        await job._ended.wait()
        return job

    def cancel(self, job_id: str) -> bool:
        """Stop the job: its run becomes ``interrupted`` (resumable). False if already over."""
        job = self.get(job_id)
        if job.finished or job.task is None or job.task.done():
            return False
        return job.task.cancel()

    async def events(self, job_id: str) -> AsyncGenerator[dict[str, Any], None]:
        """The job's events as JSON-able dicts: a ``progress`` snapshot first, then ``started``,
        ``cell`` and ``retrying`` events as they happen, and a last ``finished`` one."""
        job = self.get(job_id)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(LISTENER_BACKLOG)
        job._listeners.append(queue)
        try:
            yield {"type": "progress", **job.progress()}
            if job.finished and job._ended.is_set():
                yield {"type": "finished", **job.progress()}
                return
            while True:
                event = await queue.get()
                yield event
                if event["type"] == "finished":
                    return
        finally:
            job._listeners.remove(queue)

    async def aclose(self) -> None:
        """Cancel the running jobs and wait for their runs to be marked interrupted."""
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget_old(self) -> None:
        ended = [j for j in self.jobs() if j.finished]
        for job in ended[KEEP_FINISHED:]:
            del self._jobs[job.id]
