"""promptfoo's documented check types that promptwork refuses, each with its reason.

A suite that uses one of these (or its ``not-`` form) is refused by name when it loads, before any
model call (:func:`promptwork.checks.registry.parse_spec`), instead of being reported as an
unknown type or, worse, ignored. Every other type promptfoo documents is implemented (see
:data:`promptwork.checks.registry.BUILTIN`).
"""

from __future__ import annotations

__all__ = ["UNSUPPORTED"]

_NO_TRACES = (
    "it reads OpenTelemetry traces of an agent run, and promptwork records no traces; check the "
    "output with 'python' or 'javascript' instead"
)
_NO_NODE = "it needs a Node.js package; promptwork runs no Node.js"

#: Check type -> why promptwork refuses it.
UNSUPPORTED: dict[str, str] = {
    "classifier": (
        "it runs the output through a HuggingFace classifier served by the HuggingFace "
        "Inference API, which promptwork does not call (no hub access); grade it with "
        "'llm-rubric', or a 'python' check that runs a local classifier"
    ),
    "pi": "it calls Pi Labs' scoring API, which promptwork has no client for; use 'llm-rubric'",
    "ruby": "promptwork runs no Ruby; use a 'python' or 'javascript' check",
    "webhook": (
        "promptwork does not send outputs to web hooks; call your service from a 'python' check"
    ),
    "is-sql": f"{_NO_NODE} (node-sql-parser); check SQL from a 'python' check",
    "contains-sql": f"{_NO_NODE} (node-sql-parser); check SQL from a 'python' check",
    "meteor": f"{_NO_NODE} ('natural', with WordNet); use 'bleu', 'rouge-n' or 'similar'",
    "is-html": "not implemented yet; check HTML from a 'python' check",
    "contains-html": "not implemented yet; check HTML from a 'python' check",
    "assert-set": (
        "grouped assertions are not supported; list the checks one by one (a test passes when "
        "all pass) or combine them in a 'python' check"
    ),
    "agent-rubric": "it needs a coding-agent grader, which promptwork does not have",
    "search-rubric": "it needs a grader with web search, which promptwork does not have",
    "research-rubric": "it needs a grader with web search, which promptwork does not have",
    "web-search": "it needs a grader with web search, which promptwork does not have",
    "video-rubric": "promptwork grades text only, not video",
    "guardrails": "it reads a target's guardrail signal, which promptwork providers do not report",
    "skill-used": "it reads agent skill metadata, which promptwork providers do not report",
    "trace-span-count": _NO_TRACES,
    "trace-span-duration": _NO_TRACES,
    "trace-error-spans": _NO_TRACES,
    "trajectory:tool-used": _NO_TRACES,
    "trajectory:tool-args-match": _NO_TRACES,
    "trajectory:tool-sequence": _NO_TRACES,
    "trajectory:step-count": _NO_TRACES,
    "trajectory:goal-success": _NO_TRACES,
}
