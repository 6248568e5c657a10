"""The curated public API: ``promptwork.__all__`` changes only on purpose."""

from __future__ import annotations

import promptwork

EXPECTED = {
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
}


def test_all_is_sorted_and_unique() -> None:
    assert promptwork.__all__ == sorted(promptwork.__all__)
    assert len(promptwork.__all__) == len(set(promptwork.__all__))


def test_every_name_exists() -> None:
    missing = [name for name in promptwork.__all__ if not hasattr(promptwork, name)]
    assert missing == []


def test_all_is_the_curated_set() -> None:
    assert set(promptwork.__all__) == EXPECTED


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from promptwork import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == EXPECTED


def test_version_is_a_string() -> None:
    assert isinstance(promptwork.__version__, str)
    assert promptwork.__version__.count(".") >= 1


def test_optimize_is_the_function_even_after_its_package_is_imported() -> None:
    import promptwork.optimizer

    assert promptwork.optimize is promptwork.optimizer.optimize
    assert callable(promptwork.optimize)
    assert promptwork.aoptimize is promptwork.optimizer.aoptimize
