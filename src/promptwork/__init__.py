"""promptwork: a prompt engineer's workbench.

Write prompts as files with variables, run them on any model (an embedded local model by default),
evaluate and compare formulations, and keep what works.
"""

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

__version__ = "0.1.0"

__all__ = [
    "Capabilities",
    "Completion",
    "ConfigError",
    "EchoProvider",
    "Message",
    "MissingDependencyError",
    "MissingVariableError",
    "ParamError",
    "Params",
    "PromptTemplate",
    "PromptworkError",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "RenderedPrompt",
    "ScriptedProvider",
    "TemplateError",
    "Usage",
    "__version__",
    "acomplete",
    "complete",
    "create_provider",
    "load_prompt",
    "prepare",
]
