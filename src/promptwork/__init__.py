"""promptwork: a prompt engineer's workbench.

Write prompts as files with variables, run them on any model (an embedded local model by default),
evaluate and compare formulations, and keep what works.
"""

import importlib
from typing import TYPE_CHECKING, Any

from promptwork.api import acomplete, complete, prepare
from promptwork.errors import (
    ConfigError,
    MissingDependencyError,
    MissingVariableError,
    ParamError,
    PromptworkError,
    ProviderError,
    ProviderNotFoundError,
    TemplateError,
)
from promptwork.prompts import PromptTemplate, load_prompt
from promptwork.providers.base import Provider
from promptwork.providers.echo import EchoProvider
from promptwork.providers.registry import create_provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Capabilities, Completion, Message, Params, RenderedPrompt, Usage

if TYPE_CHECKING:
    from promptwork.evaluation import EvalRun, aevaluate, evaluate
    from promptwork.optimizer import OptimizeResult, aoptimize, optimize
    from promptwork.runner import RunConfig

from promptwork.version import __version__

#: Names loaded on first use, and the module that holds each.
_LAZY = {
    "EvalRun": "evaluation", "aevaluate": "evaluation", "evaluate": "evaluation",
    "OptimizeResult": "optimizer", "aoptimize": "optimizer", "optimize": "optimizer",
    "RunConfig": "runner",
}


def __getattr__(name: str) -> Any:
    # The evaluation and optimizer APIs pull in SQLAlchemy, Alembic and Optuna; load them only
    # when used so that `promptwork run` and `complete()` start fast.
    if name in _LAZY:
        return getattr(importlib.import_module(f"promptwork.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'promptwork' has no attribute {name!r}")

__all__ = [
    "Capabilities",
    "Completion",
    "ConfigError",
    "EchoProvider",
    "EvalRun",
    "Message",
    "MissingDependencyError",
    "MissingVariableError",
    "OptimizeResult",
    "ParamError",
    "Params",
    "PromptTemplate",
    "PromptworkError",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "RenderedPrompt",
    "RunConfig",
    "ScriptedProvider",
    "TemplateError",
    "Usage",
    "__version__",
    "acomplete",
    "aevaluate",
    "aoptimize",
    "complete",
    "create_provider",
    "evaluate",
    "load_prompt",
    "optimize",
    "prepare",
]
