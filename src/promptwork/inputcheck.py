"""A suite's tests checked against its prompts' declared input types, before any model call.

See :mod:`promptwork.inputs` for how text values are read as their declared types.
"""

from __future__ import annotations

from promptwork.cases import TestCase
from promptwork.errors import ConfigError
from promptwork.inputs import InputTypeError
from promptwork.prompts import PromptTemplate

__all__ = ["check_test_inputs"]


def check_test_inputs(template: PromptTemplate, test: TestCase) -> None:
    """Refuse, before any model call, a test whose value does not fit a typed input.

    Raises:
        ConfigError: Naming the test's file and line (``tests.csv:4``), the variable, the
            value and where the type is declared.
    """
    for name, spec in template.meta.inputs.items():
        if name not in test.vars:
            continue
        try:
            spec.coerce(test.vars[name])
        except InputTypeError as exc:
            line = template.lines.line_of(("inputs", name)) if template.lines else None
            declared = f"{template.path}:{line}" if template.path and line else template.label
            where = test.source or f"tests[{test.index}]"
            raise ConfigError(f"{where}: variable {name!r}: {exc}; {declared} declares it as "
                              f"{spec.type}") from None
