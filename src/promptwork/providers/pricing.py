"""Known model prices, for the ``cost`` of a completion.

Prices are US dollars per million tokens (input, output), as published by the vendors for standard
(non-batch, non-cached) use. They change: a suite can override a model's price with provider
config ``price: {input: 0.15, output: 0.6}``. A model not listed here has an unknown cost
(``None``), never a guessed one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from promptwork.errors import ConfigError

#: When the table below was last checked against the vendors' price pages.
PRICES_AS_OF = "2025-11"


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        """Cost of a call, or ``None`` when token counts are unknown."""
        if prompt_tokens is None and completion_tokens is None:
            return None
        dollars = (prompt_tokens or 0) * self.input + (completion_tokens or 0) * self.output
        return dollars / 1_000_000


def _table(rows: dict[str, tuple[float, float]]) -> Mapping[str, Price]:
    return MappingProxyType({name: Price(*row) for name, row in rows.items()})


#: Model name -> price. Dated snapshots (``gpt-4o-2024-08-06``) resolve to their base name.
PRICES: Mapping[str, Price] = _table(
    {
        # OpenAI
        "gpt-5": (1.25, 10.0),
        "gpt-5-mini": (0.25, 2.0),
        "gpt-5-nano": (0.05, 0.40),
        "gpt-4.1": (2.0, 8.0),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4o": (2.50, 10.0),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4-turbo": (10.0, 30.0),
        "gpt-4": (30.0, 60.0),
        "gpt-3.5-turbo": (0.50, 1.50),
        "gpt-3.5-turbo-instruct": (1.50, 2.0),
        "o1": (15.0, 60.0),
        "o1-mini": (1.10, 4.40),
        "o3": (2.0, 8.0),
        "o3-mini": (1.10, 4.40),
        "o4-mini": (1.10, 4.40),
        # Anthropic
        "claude-opus-4-5": (5.0, 25.0),
        "claude-opus-4-1": (15.0, 75.0),
        "claude-opus-4": (15.0, 75.0),
        "claude-sonnet-4-5": (3.0, 15.0),
        "claude-sonnet-4": (3.0, 15.0),
        "claude-3-7-sonnet": (3.0, 15.0),
        "claude-3-5-sonnet": (3.0, 15.0),
        "claude-haiku-4-5": (1.0, 5.0),
        "claude-3-5-haiku": (0.80, 4.0),
        "claude-3-haiku": (0.25, 1.25),
        "claude-3-opus": (15.0, 75.0),
        # Google (prompts up to 200k tokens)
        "gemini-2.5-pro": (1.25, 10.0),
        "gemini-2.5-flash": (0.30, 2.50),
        "gemini-2.5-flash-lite": (0.10, 0.40),
        "gemini-2.0-flash": (0.10, 0.40),
        "gemini-2.0-flash-lite": (0.075, 0.30),
        "gemini-1.5-pro": (1.25, 5.0),
        "gemini-1.5-flash": (0.075, 0.30),
    }
)

# Snapshot suffixes: -2024-08-06, -20241022, -latest, -0125, -001.
_SNAPSHOT = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-\d{3,4})$")


def price_of(model: str) -> Price | None:
    """The listed price of ``model`` (vendor prefixes and snapshot suffixes ignored)."""
    name = model.strip().lower().removeprefix("models/")
    if name in PRICES:
        return PRICES[name]
    base = _SNAPSHOT.sub("", name)
    return PRICES.get(base)


def cost_of(
    model: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    price: Price | None = None,
) -> float | None:
    """Dollars for a call, or ``None`` when the price or the token counts are unknown.

    Args:
        model: Model name as the vendor spells it (``gpt-4o-mini``).
        prompt_tokens: Input tokens.
        completion_tokens: Output tokens.
        price: A price that overrides the table (from provider config).
    """
    price = price or price_of(model)
    return price.cost(prompt_tokens, completion_tokens) if price else None


def parse_price(value: Any, where: str) -> Price:
    """Validate a config ``price`` mapping (``{input: ..., output: ...}``, $ per 1M tokens)."""
    if not isinstance(value, Mapping) or set(value) - {"input", "output"}:
        raise ConfigError(
            f"{where}: 'price' must be a mapping with keys input and output "
            "(US dollars per million tokens), e.g. {input: 0.15, output: 0.6}"
        )
    numbers: list[float] = []
    for key in ("input", "output"):
        number = value.get(key, 0.0)
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise ConfigError(f"{where}: price.{key} must be a number >= 0, got {number!r}")
        numbers.append(float(number))
    return Price(*numbers)
