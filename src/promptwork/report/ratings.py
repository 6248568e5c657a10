"""The ratings export of ``promptwork runs ratings -o``: each current human rating with the
automated verdict of its cell next to it (``.csv``), or that plus the judge table (``.json``).

CSV text cells are neutralised against spreadsheet formulas as in the results export
(:func:`promptwork.report.tabular.csv_safe`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from promptwork.errors import ConfigError
from promptwork.report.promptfoo_json import label_at
from promptwork.report.tabular import csv_safe
from promptwork.report.terminal import status_of
from promptwork.store.ratings import RatedResult
from promptwork.views.judges import JudgesView

__all__ = ["RATING_FIELDS", "rating_record", "write_ratings"]

RATING_FIELDS = ("run", "prompt_idx", "provider_idx", "test_idx", "repeat_idx", "prompt",
                 "provider", "description", "output", "status", "pass", "score", "rating_pass",
                 "rating_score", "rating_comment", "rater", "rated_at")


def rating_record(item: RatedResult, prompt_labels: Sequence[str],
                  provider_labels: Sequence[str]) -> dict[str, Any]:
    """One rating with its cell's automated verdict (``pass``/``score``: ``None`` for an error
    cell, which has no verdict)."""
    row, rating = item.row, item.rating
    cell = rating.cell
    automated = item.automated
    return {
        "run": rating.run_id, "prompt_idx": cell.prompt, "provider_idx": cell.provider,
        "test_idx": cell.test, "repeat_idx": cell.repeat,
        "prompt": label_at(prompt_labels, cell.prompt),
        "provider": label_at(provider_labels, cell.provider),
        "description": row.get("description") or "", "output": row.get("output") or "",
        "status": status_of(row), "pass": automated,
        "score": None if automated is None or row.get("score") is None else float(row["score"]),
        "rating_pass": rating.passed, "rating_score": rating.score,
        "rating_comment": rating.comment or "", "rater": rating.rater,
        "rated_at": rating.created_at.isoformat(),
    }


def _write_csv(f: IO[str], records: list[dict[str, Any]]) -> None:
    writer = csv.writer(f)
    writer.writerow(RATING_FIELDS)
    for rec in records:
        cells: list[Any] = []
        for name in RATING_FIELDS:
            value = rec[name]
            if isinstance(value, bool):
                cells.append("true" if value else "false")
            elif isinstance(value, str):
                cells.append(csv_safe(value))
            else:
                cells.append("" if value is None else value)
        writer.writerow(cells)


def write_ratings(path: Path, rated: Sequence[RatedResult], judges: JudgesView,
                  prompt_labels: Sequence[str], provider_labels: Sequence[str]) -> Path:
    """Write the ratings to ``path``: ``.csv`` (one row per rating) or ``.json`` (the ratings
    and the judge table).

    Raises:
        ConfigError: Another extension.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".csv", ".json"):
        raise ConfigError(f"cannot write ratings to '{path.name}': use a .csv or .json file")
    records = [rating_record(item, prompt_labels, provider_labels) for item in rated]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="" if ext == ".csv" else None) as f:
        if ext == ".csv":
            _write_csv(f, records)
        else:
            json.dump({"ratings": records, **judges.to_dict()}, f, indent=2, default=str)
            f.write("\n")
    return path
