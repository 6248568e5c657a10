"""Persistent storage of runs, results, prompt versions and the call cache."""

from promptwork.store.store import RunRecord, Store, new_run_id

__all__ = ["RunRecord", "Store", "new_run_id"]
