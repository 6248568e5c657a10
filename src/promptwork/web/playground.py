"""The Playground page and background suite runs: thin routes over
:class:`promptwork.playground.Playground` and :class:`promptwork.jobs.JobManager`.

``GET /playground?file=PATH`` opens a prompt file of the workbench folder (or a small example).
The page's one form holds the prompt text, a field per variable, the parameters and the model
checkboxes; its buttons post it to:

The "Provider config" field takes YAML: model id -> provider options (``base_url`` of an
OpenAI-compatible server, ``api_key_env``, ``n_threads``, ...), for the models chosen or typed.
An API key itself is refused (name its environment variable with ``api_key_env``), and a
refused field is never shown back.

- ``/playground/stream``: the answers as Server-Sent Events (``data: {json}`` per
  :mod:`promptwork.playground` event), read by ``playground.js`` into one column per model;
- ``/playground/run``: the same, collected, for a browser without scripts;
- ``/playground/fields``: the variables' fields for the edited text (htmx, while typing);
- ``/playground/save``: the prompt written as a file (a new version in the store);
- ``/playground/add-test``: the current variables added as a test case to a suite file;
- ``/playground/run-suite``: ``promptwork eval`` of a suite in the background, then the job's
  page, ``/jobs/{id}``: its progress (``/jobs/{id}/events``, SSE) and its run's live matrix.

Every post re-renders the page with what was typed, so nothing is lost to a message or an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sse_starlette.sse import EventSourceResponse

from promptwork.errors import ConfigError
from promptwork.jobs import JobManager
from promptwork.playground import (
    FORM_PARAMS,
    AnswerDone,
    Playground,
    VariableField,
    params_from_form,
    variable_fields,
)
from promptwork.prompts import PromptTemplate
from promptwork.secrets import redact
from promptwork.web.pages import page
from promptwork.yamlfile import load_yaml

__all__ = ["router"]

router = APIRouter()

#: The models offered as checkboxes (others can be typed in).
OFFERED_MODELS = ("local:smollm2", "local:gemma3-270m", "echo")
KINDS = (".prompt", ".txt", ".json")
EXAMPLE = """---
inputs:
  customer: {type: string, default: Ada}
---
system:
You are a friendly support agent. Answer in one sentence.

user:
{{ customer }} asks: {{ question }}
"""
MAX_MODELS = 8


def playground_of(request: Request) -> Playground:
    """The app's playground."""
    playground: Playground = request.app.state.playground
    return playground


def jobs_of(request: Request) -> JobManager:
    """The app's background runs."""
    jobs: JobManager = request.app.state.jobs
    return jobs


@dataclass
class FormState:
    """What the page's form holds (and shows again after every post)."""

    source: str = EXAMPLE
    kind: str = ".prompt"
    file: str = ""
    values: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=lambda: ["local:smollm2"])
    other_models: str = ""
    suite: str = ""
    description: str = ""
    overwrite: bool = False
    opened_hash: str = ""
    provider_config: str = ""

    def all_models(self) -> list[str]:
        typed = [m.strip() for m in self.other_models.replace("\n", ",").split(",")]
        return list(dict.fromkeys([*self.models, *(m for m in typed if m)]))[:MAX_MODELS]


async def _state(request: Request) -> FormState:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    kind = text("kind")
    return FormState(
        source=text("source").replace("\r\n", "\n"), kind=kind if kind in KINDS else ".prompt",
        file=text("file").strip(),
        values={k[4:]: v.replace("\r\n", "\n") for k, v in form.multi_items()
                if k.startswith("var:") and isinstance(v, str)},
        params={name: text(name) for name in FORM_PARAMS},
        models=[m for m in form.getlist("model") if isinstance(m, str)],
        other_models=text("other_models"), suite=text("suite").strip(),
        description=text("description").strip(), overwrite=text("overwrite") == "1",
        opened_hash=text("opened_hash"),
        provider_config=text("provider_config").replace("\r\n", "\n"))


#: Option names that would hold a secret itself: refused (``api_key_env`` names a variable).
SECRET_OPTION = re.compile(r"(?i)^(api_?key|apikey|token|access_?token|password|secret.*|"
                           r"authorization|.*_key)$")
#: The same names as YAML keys anywhere in the field's text (block or flow style).
SECRET_KEY_TEXT = re.compile(r"(?i)(?<![\w-])[\"']?(api_?key|apikey|token|access_?token|password|"
                             r"secret\w*|authorization|\w+_key)[\"']?\s*:")


def holds_secret(text: str) -> bool:
    """Whether the provider config text holds an API key (a key-named option or a key-shaped
    value): such a field is refused and never shown back."""
    return bool(SECRET_KEY_TEXT.search(text)) or redact(text) != text
MAX_CONFIG = 20_000
WHERE = "provider config"


def provider_configs(text: str) -> dict[str, dict[str, Any]]:
    """The "Provider config" field: YAML mapping each model id to its provider options.

    Raises:
        ConfigError: Not such a mapping, or an option that holds a secret (with its line).
    """
    if not text.strip():
        return {}
    if len(text) > MAX_CONFIG:
        raise ConfigError(f"the provider config has at most {MAX_CONFIG:,} characters")
    if holds_secret(text):
        raise ConfigError("the provider config holds an API key: keys are not taken from the "
                          "workbench; set an environment variable and name it with api_key_env")
    data, lines = load_yaml(text, WHERE)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the provider config maps a model id to its options, e.g. "
                          "'openai:chat:my-model: {base_url: http://127.0.0.1:8000/v1}'", WHERE, 1)
    out: dict[str, dict[str, Any]] = {}
    for model, options in data.items():
        if not isinstance(options, dict):
            raise lines.error([model], f"the options of {model!r} must be a mapping")
        for name in options:
            if SECRET_OPTION.match(str(name)) and str(name) != "api_key_env":
                raise lines.error([model, name], (
                    f"{name!r}: API keys are not taken from the workbench; set an environment "
                    "variable and name it with api_key_env"))
        out[str(model).strip()] = dict(options)
    return out


def _parsed(playground: Playground, state: FormState) -> tuple[PromptTemplate | None, str]:
    try:
        return playground.parse(state.source, state.kind, state.file or "playground"), ""
    except ConfigError as exc:
        return None, str(exc)


def _values(fields: list[VariableField], state: FormState) -> dict[str, str]:
    """The values to send: a blank field with a declared default takes the default."""
    out: dict[str, str] = {}
    for f in fields:
        value = state.values.get(f.name, "")
        if value == "" and f.default is not None:
            continue
        out[f.name] = value
    return out


def _render(
    request: Request, state: FormState, *, answers: list[AnswerDone] | None = None,
    message: str = "", error: str = "", status_code: int = 200,
) -> Response:
    template, parse_error = _parsed(playground_of(request), state)
    fields = variable_fields(template) if template is not None else []
    shown = {f.name: state.values.get(f.name, "" if f.default is None else _text(f.default))
             for f in fields}
    models = [*OFFERED_MODELS, *(m for m in state.models if m not in OFFERED_MODELS)]
    config_shown = state.provider_config
    if holds_secret(config_shown):  # never sent back to the page
        config_shown = ""
        error = error or ("the provider config held an API key and was cleared: name its "
                          "environment variable with api_key_env instead")
    return page(request, "web/playground.html", status_code=status_code, title="playground",
                state=state, fields=fields, shown=shown, parse_error=parse_error,
                models=models, kinds=KINDS, form_params=FORM_PARAMS, answers=answers or [],
                message=message, error=error, config_shown=config_shown)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@router.get("/playground")
def playground_page(request: Request, file: str = "") -> Response:
    """The playground, with the prompt file ``file`` of the workbench folder when given."""
    state = FormState()
    if file:
        playground = playground_of(request)
        try:
            state.source = playground.read(file)
        except ConfigError as exc:
            return _render(request, FormState(file=file), error=str(exc), status_code=404)
        state.file, state.kind = file, _kind(file)
        state.opened_hash = playground.open(file).content_hash if state.source else ""
    return _render(request, state)


def _kind(file: str) -> str:
    suffix = "." + file.rsplit(".", 1)[-1].lower() if "." in file else ".prompt"
    return suffix if suffix in KINDS else ".txt"


@router.post("/playground/fields")
async def fields_partial(request: Request) -> Response:
    """The variables' fields for the edited text (htmx swaps them in while one types)."""
    state = await _state(request)
    template, parse_error = _parsed(playground_of(request), state)
    fields = variable_fields(template) if template is not None else []
    shown = {f.name: state.values.get(f.name, "" if f.default is None else _text(f.default))
             for f in fields}
    return page(request, "web/playground_fields.html", fields=fields, shown=shown,
                parse_error=parse_error, title="fields")


async def _events(request: Request, state: FormState) -> AsyncIterator[dict[str, Any]]:
    playground = playground_of(request)
    models = state.all_models()
    try:
        template = playground.parse(state.source, state.kind, state.file or "playground")
        params = params_from_form(state.params)
        configs = provider_configs(state.provider_config)
    except ConfigError as exc:
        for column, model in enumerate(models):
            yield AnswerDone(column, model, error=str(exc), error_kind="config").to_dict()
        return
    values = _values(variable_fields(template), state)
    async for event in playground.stream(template, values, models, params,
                                         {m: configs[m] for m in models if m in configs}):
        yield event.to_dict()


@router.post("/playground/stream")
async def stream(request: Request) -> Response:
    """The answers as Server-Sent Events, one ``data`` JSON object per event."""
    state = await _state(request)
    if not state.all_models():
        return Response("choose at least one model", status_code=400)

    async def events() -> AsyncIterator[dict[str, str]]:
        async for event in _events(request, state):
            yield {"data": json.dumps(event, ensure_ascii=False)}

    return EventSourceResponse(events(), ping=15)


@router.post("/playground/run")
async def run(request: Request) -> Response:
    """The answers, collected, in the page (for a browser without scripts)."""
    state = await _state(request)
    if not state.all_models():
        return _render(request, state, error="choose at least one model", status_code=400)
    done: list[AnswerDone] = []
    async for event in _events(request, state):
        if event["type"] == "done":
            done.append(AnswerDone(**{k: v for k, v in event.items() if k != "type"}))
    return _render(request, state, answers=sorted(done, key=lambda d: d.column))


@router.post("/playground/save")
async def save(request: Request) -> Response:
    """Write the prompt text as the file named in the form; the version goes in the store."""
    state = await _state(request)
    try:
        saved = playground_of(request).save_prompt(
            state.file, state.source, overwrite=state.overwrite,
            expected_hash=state.opened_hash or None)
    except ConfigError as exc:
        return _render(request, state, error=str(exc), status_code=400)
    state.opened_hash = saved.content_hash
    what = "saved" if saved.changed else "unchanged"
    return _render(request, state, message=f"{what}: {saved.path.name} (version "
                                           f"{saved.content_hash[:12]})")


@router.post("/playground/add-test")
async def add_test(request: Request) -> Response:
    """Add the current variables as a test case of the suite named in the form."""
    state = await _state(request)
    playground = playground_of(request)
    template, parse_error = _parsed(playground, state)
    if template is None:
        return _render(request, state, error=parse_error, status_code=400)
    try:
        added = playground.add_test(state.suite, _values(variable_fields(template), state),
                                    state.description or None)
    except ConfigError as exc:
        return _render(request, state, error=str(exc), status_code=400)
    return _render(request, state, message=f"test case added to {added.path.name}, line "
                                           f"{added.line}")


@router.post("/playground/run-suite")
async def run_suite(request: Request) -> Response:
    """Start ``promptwork eval`` of the suite named in the form; open the job's page."""
    state = await _state(request)
    jobs = jobs_of(request)
    try:
        job = jobs.start(state.suite or ".")
    except ConfigError as exc:
        return _render(request, state, error=str(exc), status_code=400)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
async def job_page(request: Request, job_id: str) -> Response:
    """A background run: its progress, live, and its matrix refreshed as cells arrive."""
    job = await jobs_of(request).wait_started(job_id)
    return page(request, "web/job.html", title=f"job {job.id}", job=job)


@router.get("/jobs/{job_id}/events")
async def job_events(request: Request, job_id: str) -> Response:
    """The job's events as Server-Sent Events (``data`` JSON objects; see JobManager); an
    unknown job is a 404 before any stream starts (an EventSource then stops retrying)."""
    jobs = jobs_of(request)
    try:
        jobs.get(job_id)
    except ConfigError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    events = jobs.events(job_id)

    async def sse() -> AsyncIterator[dict[str, str]]:
        async for event in events:
            yield {"data": json.dumps(event)}

    return EventSourceResponse(sse(), ping=15)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(request: Request, job_id: str) -> Response:
    """Stop the job: its run is left interrupted, resumable."""
    jobs_of(request).cancel(job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)

