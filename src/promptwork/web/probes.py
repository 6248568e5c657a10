"""The probe page of a run: ``GET /runs/{id}/probes``: each probe's figures per prompt x model
(kept with the run by ``promptwork probe``), with links to the worst cells."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from promptwork.report.probes import probe_view
from promptwork.store.probes import probe_counts, probe_reports
from promptwork.web.pages import page, store_of

__all__ = ["router"]

router = APIRouter()


@router.get("/runs/{run_id}/probes")
def probes_page(request: Request, run_id: str) -> Response:
    """The probe figures of a run (a note when it was not a probe run)."""
    store = store_of(request)
    run = store.get_run(run_id)
    return page(request, "web/probes.html", title=f"run {run.id} probes", run=run,
                probes=[probe_view(r) for r in probe_reports(store, run.id)],
                counts=probe_counts(store, run.id), cell_base=f"/runs/{run.id}")
