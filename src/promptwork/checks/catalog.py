"""What promptwork knows about each built-in check type: where its function lives, how its spec is
validated, and which checks call a grading model, need a value or take code as their value.

Pure data, read by :mod:`promptwork.checks.registry` (lookup and running) and
:mod:`promptwork.checks.values` (values and validation).
"""

from __future__ import annotations

__all__ = [
    "BUILTIN",
    "JUDGE_CHECKS",
    "MODEL_GRADED",
    "NEEDS_VALUE",
    "RAW_VALUE",
    "SPEC_PROBLEMS",
]

#: Check type -> ``module:function`` of its check function (imported on first use).
BUILTIN: dict[str, str] = {
    "equals": "promptwork.checks.text:equals",
    "contains": "promptwork.checks.text:contains",
    "icontains": "promptwork.checks.text:icontains",
    "contains-any": "promptwork.checks.text:contains_any",
    "contains-all": "promptwork.checks.text:contains_all",
    "icontains-any": "promptwork.checks.text:icontains_any",
    "icontains-all": "promptwork.checks.text:icontains_all",
    "regex": "promptwork.checks.text:regex",
    "starts-with": "promptwork.checks.text:starts_with",
    "is-refusal": "promptwork.checks.text:is_refusal",
    "is-json": "promptwork.checks.structured:is_json",
    "contains-json": "promptwork.checks.structured:contains_json",
    "levenshtein": "promptwork.checks.metrics:levenshtein",
    "rouge-n": "promptwork.checks.metrics:rouge_n",
    "bleu": "promptwork.checks.metrics:bleu",
    "python": "promptwork.checks.python_check:python",
    "latency": "promptwork.checks.perf:latency",
    "cost": "promptwork.checks.perf:cost",
    "similar": "promptwork.checks.similarity:similar",
    "llm-rubric": "promptwork.checks.judge:llm_rubric",
    "factuality": "promptwork.checks.judge:factuality",
    "model-graded-closedqa": "promptwork.checks.judge:model_graded_closedqa",
    "select-best": "promptwork.checks.judge:select_best_cell",
    "javascript": "promptwork.checks.javascript:javascript",
    "is-valid-openai-tools-call": "promptwork.checks.toolcalls:is_valid_openai_tools_call",
    "is-valid-function-call": "promptwork.checks.toolcalls:is_valid_function_call",
    "is-valid-openai-function-call": "promptwork.checks.toolcalls:is_valid_function_call",
    "tool-call-f1": "promptwork.checks.toolcalls:tool_call_f1",
    "finish-reason": "promptwork.checks.response:finish_reason",
    "perplexity": "promptwork.checks.response:perplexity",
    "perplexity-score": "promptwork.checks.response:perplexity_score",
    "word-count": "promptwork.checks.counts:word_count",
    "min-length": "promptwork.checks.counts:min_length",
    "max-length": "promptwork.checks.counts:max_length",
    "empty": "promptwork.checks.counts:empty",
    "g-eval": "promptwork.checks.geval:g_eval",
    "context-faithfulness": "promptwork.checks.grounding:context_faithfulness",
    "context-recall": "promptwork.checks.grounding:context_recall",
    "context-relevance": "promptwork.checks.grounding:context_relevance",
    "answer-relevance": "promptwork.checks.relevance:answer_relevance",
    "conversation-relevance": "promptwork.checks.relevance:conversation_relevance",
    "max-score": "promptwork.checks.selection:max_score_cell",
    "moderation": "promptwork.checks.moderation:moderation",
    "is-xml": "promptwork.checks.markup:is_xml",
    "contains-xml": "promptwork.checks.markup:contains_xml",
    "gleu": "promptwork.checks.gleu:gleu",
    "injection-resisted": "promptwork.checks.injection:injection_resisted",
}

#: Validation of the checks added for promptfoo's surface: type -> ``module:function`` returning
#: what is wrong with a spec, or ``None`` (imported on first use, like :data:`BUILTIN`).
SPEC_PROBLEMS: dict[str, str] = {
    "javascript": "promptwork.checks.javascript:spec_problem",
    "is-valid-openai-tools-call": "promptwork.checks.toolcalls:spec_problem",
    "is-valid-function-call": "promptwork.checks.toolcalls:spec_problem",
    "is-valid-openai-function-call": "promptwork.checks.toolcalls:spec_problem",
    "tool-call-f1": "promptwork.checks.toolcalls:spec_problem",
    "finish-reason": "promptwork.checks.response:spec_problem",
    "perplexity": "promptwork.checks.response:spec_problem",
    "perplexity-score": "promptwork.checks.response:spec_problem",
    "word-count": "promptwork.checks.counts:spec_problem",
    "min-length": "promptwork.checks.counts:spec_problem",
    "max-length": "promptwork.checks.counts:spec_problem",
    "empty": "promptwork.checks.counts:spec_problem",
    "g-eval": "promptwork.checks.geval:spec_problem",
    "context-faithfulness": "promptwork.checks.grounding:spec_problem",
    "context-recall": "promptwork.checks.grounding:spec_problem",
    "context-relevance": "promptwork.checks.grounding:spec_problem",
    "answer-relevance": "promptwork.checks.relevance:spec_problem",
    "conversation-relevance": "promptwork.checks.relevance:spec_problem",
    "max-score": "promptwork.checks.selection:spec_problem",
    "moderation": "promptwork.checks.moderation:spec_problem",
    "is-xml": "promptwork.checks.markup:spec_problem",
    "contains-xml": "promptwork.checks.markup:spec_problem",
    "gleu": "promptwork.checks.gleu:spec_problem",
    "injection-resisted": "promptwork.checks.injection:spec_problem",
}

#: Checks that call a grading model through :attr:`CheckContext.grader`.
MODEL_GRADED = frozenset(
    {
        "llm-rubric",
        "factuality",
        "model-graded-closedqa",
        "select-best",
        "g-eval",
        "context-faithfulness",
        "context-recall",
        "context-relevance",
        "answer-relevance",
        "conversation-relevance",
        "moderation",
    }
)
#: The model-graded checks of :mod:`promptwork.checks.judge` (validated there).
JUDGE_CHECKS = frozenset({"llm-rubric", "factuality", "model-graded-closedqa", "select-best"})

#: Checks that cannot run without a ``value``.
NEEDS_VALUE = frozenset(
    {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "regex",
        "starts-with",
        "levenshtein",
        "rouge-n",
        "bleu",
        "python",
        "similar",
        "llm-rubric",
        "factuality",
        "model-graded-closedqa",
        "select-best",
        "javascript",
        "tool-call-f1",
        "finish-reason",
        "word-count",
        "g-eval",
        "gleu",
        "context-recall",
    }
)

#: Checks whose value is code, not a template: rendering would mangle ``{{`` in Python source.
#: Python checks get the vars as ``context["vars"]`` instead.
RAW_VALUE = frozenset({"python", "javascript"})
