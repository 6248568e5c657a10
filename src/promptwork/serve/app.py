"""The REST API: :func:`create_app` builds it over a store.

Routes (every one needs ``Authorization: Bearer TOKEN``; see :mod:`promptwork.serve.auth`):

* ``GET /v1/prompts`` (read): the library's prompts with their labels.
* ``GET /v1/search?q=`` (read): full-text search of the library.
* ``GET /v1/prompts/{name}?label=L | version=H`` (read): template, messages, params, model and
  version; an unknown prompt, label or version is a 404.
* ``POST /v1/prompts/{name}/render`` (read): ``{"vars": {...}}`` -> messages; errors of the
  template (missing variables, sandbox, types) are a 422 with the message.
* ``POST /v1/prompts/{name}/run`` (run): vars -> the completion on the prompt's model, through
  the store's call cache, with tokens, latency, cost and the version served.
* ``POST /v1/evals`` (run): start a suite run in the background; ``GET /v1/evals/{id}`` (read):
  its status and, once finished, its summary.
* ``GET /v1/audit`` (admin): the audit log.

The OpenAPI schema is at ``/openapi.json`` (a token is needed there too).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from promptwork.calls import ModelCaller
from promptwork.errors import ConfigError, ProviderError
from promptwork.hooks.delivery import DeliveryPolicy, deliver_forever
from promptwork.jobs import JobManager
from promptwork.providers.base import Provider
from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.providers.registry import create_provider
from promptwork.serve.auth import AuthMiddleware, RateLimiter, needs
from promptwork.serve.library import (
    NotFound,
    PromptCache,
    ReadConnection,
    Served,
    list_prompts,
    search_prompts,
)
from promptwork.store import Store
from promptwork.store.audit import audit, audit_entries
from promptwork.store.matrix import column_numbers
from promptwork.store.tokens import TokenInfo
from promptwork.types import Params
from promptwork.web.security import WebSettings, is_loopback

__all__ = ["ServeSettings", "create_app"]


@dataclass(frozen=True)
class ServeSettings:
    """How the API is served.

    Attributes:
        rate: Requests a second allowed per token on average (None: no limit).
        burst: Requests a token may make at once before the rate applies.
        deliver_every_s: Seconds between webhook delivery passes (None: no delivery here).
        delivery: Retry policy of webhook deliveries.
        root: Suites that ``POST /v1/evals`` may run lie in this folder (default: here).
        host, port: Where it is served; bound to a loopback address, requests naming another
            ``Host`` are refused (None: no Host check).
    """

    rate: float | None = 20.0
    burst: int = 60
    deliver_every_s: float | None = 5.0
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    root: Path | None = None
    host: str | None = None
    port: int | None = None

    def allowed_hosts(self) -> frozenset[str] | None:
        """The ``Host`` values answered (None: any, when not bound to a loopback address)."""
        if self.host is None or self.port is None or not is_loopback(self.host):
            return None
        return frozenset(WebSettings(host=self.host, port=self.port).allowed_hosts())


class PromptRef(BaseModel):
    """Which version: a label or a version hash (neither: the newest)."""

    label: str | None = None
    version: str | None = None


class RenderRequest(PromptRef):
    vars: dict[str, Any] = Field(default_factory=dict)


class RunRequest(RenderRequest):
    params: dict[str, Any] = Field(default_factory=dict, description="Generation parameters "
                                   "over the prompt's own (temperature, max_tokens...).")


class EvalRequest(BaseModel):
    suite: str = Field(description="A suite file or folder, inside the served folder.")


Read = Annotated[TokenInfo, Depends(needs("read"))]
RunScope = Annotated[TokenInfo, Depends(needs("run"))]
Admin = Annotated[TokenInfo, Depends(needs("admin"))]


def run_summary(store: Store, run_id: str) -> dict[str, Any]:
    """A finished run's figures per prompt x model: pass counts and rate, cost, latencies."""
    run = store.get_run(run_id)
    prompts = run.settings.get("prompts", [])
    models = run.settings.get("providers", [])
    columns = []
    for col in column_numbers(store, run_id):
        graded = col.passes + col.fails
        columns.append({
            "prompt": prompts[col.prompt_idx].get("label") if col.prompt_idx < len(prompts)
            else col.prompt_idx,
            "version": prompts[col.prompt_idx].get("hash") if col.prompt_idx < len(prompts)
            else None,
            "model": models[col.provider_idx].get("label") if col.provider_idx < len(models)
            else col.provider_idx,
            "passed": col.passes, "failed": col.fails, "errors": col.errors,
            "pass_rate": col.passes / graded if graded else None,
            "cost": col.cost if col.cost_known else None,
            "p50_ms": col.p50_ms, "p95_ms": col.p95_ms})
    return {"run_id": run.id, "status": run.status, "columns": columns}


def create_app(store_url: str, settings: ServeSettings | None = None) -> FastAPI:
    """The API over the store at ``store_url``."""
    settings = settings or ServeSettings()
    store = Store(store_url)
    prompts = PromptCache()
    reads = ReadConnection(store.engine)
    providers: dict[str, Provider] = {}
    jobs = JobManager(store, settings.root or Path.cwd())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if settings.deliver_every_s is not None:
            task = asyncio.create_task(deliver_forever(
                store.engine, settings.delivery, settings.deliver_every_s))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await jobs.aclose()
        reads.close()
        store.close()

    app = FastAPI(title="promptwork", summary="The prompt library, served.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store = store

    def served(name: str, ref: PromptRef) -> Served:
        return prompts.resolve(store, name, ref.label, ref.version, reads)

    @app.get("/v1/prompts", tags=["prompts"])
    def get_prompts(token: Read) -> dict[str, Any]:
        """Every prompt of the library, with its labels."""
        return {"prompts": list_prompts(store)}

    @app.get("/v1/search", tags=["prompts"])
    def search(token: Read, q: Annotated[str, Query(max_length=500)] = "",
               limit: Annotated[int, Query(ge=1, le=200)] = 20, label: str | None = None,
               tag: str | None = None, suite: str | None = None, model: str | None = None,
               min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
               model_tested: str | None = None) -> dict[str, Any]:
        """Search the library: full text over names, descriptions, tags and text, best first;
        filtered by label, tag and measured performance (best pass rate of a version on a
        matching suite x model at least ``min_score``)."""
        return search_prompts(store, q, limit, label=label, tag=tag, suite=suite, model=model,
                              min_score=min_score, model_tested=model_tested)

    @app.post("/v1/prompts/{name:path}/render", tags=["prompts"])
    async def render(name: str, body: RenderRequest, token: Read) -> JSONResponse:
        """The prompt's messages rendered with ``vars`` (sandboxed, as on the command line)."""
        found = served(name, body)
        rendered = found.template.render(body.vars)
        return JSONResponse({"name": name, "version": found.version, "label": found.label,
                             "messages": rendered.to_list(), "model": found.template.meta.model})

    @app.post("/v1/prompts/{name:path}/run", tags=["prompts"])
    async def run(name: str, body: RunRequest, token: RunScope) -> dict[str, Any]:
        """Render and run on the prompt's model, through the store's call cache."""
        found = served(name, body)
        model = found.template.meta.model or DEFAULT_MODEL
        provider = providers.get(model)
        if provider is None:
            provider = providers[model] = create_provider(model)
        params = provider.config_params.merged(found.template.params).merged(
            Params.parse(body.params, where="params"))
        provider.check_params(params)
        rendered = found.template.render(body.vars)
        outcome = await ModelCaller(provider, cache=store).call(rendered, params)
        audit(store.engine, token.name, "prompt.run", name, {
            "version": found.version, "label": found.label, "model": model,
            "ok": not isinstance(outcome, ProviderError)})
        if isinstance(outcome, ProviderError):
            raise HTTPException(502, f"model call failed: {outcome}")
        c = outcome
        return {"name": name, "version": found.version, "label": found.label, "model": model,
                "text": c.text, "prompt_tokens": c.usage.prompt_tokens,
                "completion_tokens": c.usage.completion_tokens, "latency_ms": c.latency_ms,
                "cost": c.cost, "cached": c.cached, "finish_reason": c.finish_reason}

    @app.get("/v1/prompts/{name:path}", tags=["prompts"])
    async def get_prompt(name: str, token: Read, label: str | None = None,
                   version: str | None = None) -> JSONResponse:
        """One version of a prompt: at ``label``, at ``version``, else the newest."""
        return JSONResponse(served(name, PromptRef(label=label, version=version)).to_json())

    @app.post("/v1/evals", tags=["evals"], status_code=202)
    async def start_eval(body: EvalRequest, token: RunScope) -> dict[str, Any]:
        """Start a suite run in the background; follow it at ``GET /v1/evals/{id}``."""
        job = jobs.start(body.suite)
        audit(store.engine, token.name, "eval.started", str(job.suite_path), {"job": job.id})
        return job.progress()

    @app.get("/v1/evals/{job_id}", tags=["evals"])
    async def get_eval(job_id: str, token: Read) -> dict[str, Any]:
        """A suite run's status; its summary once it has finished."""
        try:
            job = jobs.get(job_id)
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from None
        out = job.progress()
        out["summary"] = None
        if job.finished and job.run_id:
            out["summary"] = run_summary(store, job.run_id)
        return out

    @app.get("/v1/audit", tags=["admin"])
    def get_audit(token: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  action: str | None = None) -> dict[str, Any]:
        """The audit log, newest first: label moves, runs, evaluations started."""
        return {"entries": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                             "subject": e.subject, "detail": e.detail}
                            for e in audit_entries(store.engine, limit, action)]}

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ConfigError)
    async def bad_input(request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    limiter = RateLimiter(settings.rate, settings.burst) if settings.rate else None
    app.add_middleware(AuthMiddleware, reads=reads, limiter=limiter,
                       hosts=settings.allowed_hosts())
    return app
