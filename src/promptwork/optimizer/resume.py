"""``--resume``: find the interrupted optimization with the same plan and continue its run.

An optimization's run stores its plan (suite fingerprint, prompt, models, strategy, metric, seed,
budget, splits and reference answers). Resuming takes the latest unfinished optimization run with
the same plan (or the run named), refuses one whose plan differs, and replays the recorded scores
so that the search takes the same path without calling the task model for them again; the
proposer's calls are answered by the store's call cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from promptwork.errors import ConfigError
from promptwork.optimizer.history import Recorder
from promptwork.optimizer.plan import Setup
from promptwork.store import RunRecord, Store

#: The plan keys a resumed optimization must share, as named in error messages.
_NAMES = {
    "prompt": "prompt", "seed_sha256": "seed prompt text", "task_model": "task model",
    "proposer": "proposer", "strategy": "strategy", "metric": "metric", "seed": "seed",
    "budget": "budget", "split": "split", "examples": "split of the tests",
    "answer_var": "answer variable", "references": "reference answers",
    "search_budget": "search budget (the test report is reserved from --budget since this run)",
}


def plan_key(setup: Setup, answer_var: str | None = None) -> dict[str, Any]:
    """What must not change for a run to be resumed (JSON data, as stored in the run)."""
    plan, splits = setup.plan, setup.splits
    members = [[e.index for e in part] for part in (splits.train, splits.val, splits.test)]
    key = {
        "prompt": plan.prompt_label, "seed_sha256": plan.seed_hash,
        "task_model": plan.task_model, "proposer": plan.proposer, "strategy": plan.strategy,
        "metric": plan.metric, "seed": plan.seed, "budget": plan.budget,
        "split": plan.split_dict(),
        "examples": hashlib.sha256(json.dumps(members).encode()).hexdigest()[:16],
        "answer_var": answer_var or setup.suite.optimize.answer_var,
        "references": plan.reference_source, "search_budget": plan.search_budget,
    }
    loaded: dict[str, Any] = json.loads(json.dumps(key))
    return loaded


def differences(record: RunRecord, key: Mapping[str, Any], fingerprint: str) -> list[str]:
    """How ``record``'s plan differs from ``key`` (empty when it can be resumed)."""
    out = []
    if record.fingerprint != fingerprint:
        out.append("the suite, a prompt or a data file changed")
    stored = (record.settings.get("optimize") or {}).get("plan") or {}
    for name, value in key.items():
        if stored.get(name) != value:
            out.append(f"{_NAMES.get(name, name)} {_show(stored.get(name))} (now {_show(value)})")
    return out


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "/".join(str(value[k]) for k in ("train", "val", "test") if k in value)
    return repr(value)


def _is_optimization(record: RunRecord) -> bool:
    return record.settings.get("kind") == "optimize"


def find_run(store: Store, key: Mapping[str, Any], fingerprint: str, run_id: str) -> RunRecord:
    """The run to resume: ``run_id`` (a unique prefix), or with ``""`` the latest unfinished
    optimization with this plan.

    Raises:
        ConfigError: No such run, a run that is not an unfinished optimization, or one whose
            plan differs (the message says how).
    """
    if run_id:
        record = store.get_run(run_id)
        if not _is_optimization(record):
            raise ConfigError(f"run {record.id} is not an optimization; --resume continues an "
                              "interrupted 'promptwork optimize'")
        if record.status == "complete":
            raise ConfigError(f"run {record.id} is complete: nothing to resume (run without "
                              "--resume to start a new optimization)")
        changed = differences(record, key, fingerprint)
        if changed:
            raise ConfigError(f"cannot resume run {record.id}: its plan differs: "
                              f"{'; '.join(changed)}. Resume with the same options, or start "
                              "a new optimization")
        return record
    unfinished = [r for r in store.unfinished_runs() if _is_optimization(r)]
    for record in unfinished:
        if not differences(record, key, fingerprint):
            return record
    if not unfinished:
        raise ConfigError(f"no interrupted optimization to resume in {store.display_url}; "
                          "run without --resume to start one")
    same_prompt = [r for r in unfinished
                   if (r.settings.get("optimize") or {}).get("plan", {}).get("prompt")
                   == key.get("prompt")]
    latest = (same_prompt or unfinished)[0]
    raise ConfigError(
        f"no interrupted optimization with this plan to resume; the latest, run {latest.id}, "
        f"differs: {'; '.join(differences(latest, key, fingerprint))}. Resume with the same "
        "options (or --resume RUN), or run without --resume to start anew")


def open_history(
    store: Store, setup: Setup, answer_var: str | None, resume: str | None,
    provider: Mapping[str, Any],
) -> tuple[Recorder, int]:
    """The recorder of this optimization: a new run, or the resumed one.

    Args:
        store: The store.
        setup: The prepared optimization.
        answer_var: The ``answer_var`` option (the suite's ``optimize.answerVar`` otherwise).
        resume: ``None`` for a new run; a run id, or ``""`` for the latest matching run.
        provider: The task model as the run's settings describe it.

    Returns:
        The recorder, and how many recorded scores it will replay.
    """
    splits, plan = setup.splits, setup.plan
    variables = {e.index: e.vars for e in (*splits.train, *splits.val, *splits.test)}
    recorder = Recorder(store, setup.seed, provider, variables)
    key = plan_key(setup, answer_var)
    fingerprint = setup.suite.fingerprint()
    if resume is not None:
        return recorder, recorder.attach(find_run(store, key, fingerprint, resume))
    recorder.start(fingerprint, plan.suite_path, plan.budget,
                   {"prompt": plan.prompt_label, "plan": key},
                   f"optimize {plan.prompt_label} (running)")
    return recorder, 0
