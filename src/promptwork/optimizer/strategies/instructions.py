"""Instructions written by a proposer model: APE-style induction, then OPRO-style improvement.

Induction shows the proposer ~5 input/output pairs from the training split and asks what the
instruction was (Zhou et al. 2022). Improvement shows the instructions tried so far with their
validation scores, worst first, and asks for a better one (Yang et al. 2023). The proposer may be
weak: empty, overlong or garbled answers are dropped, never raced. Proposer calls are counted
apart from the task-model budget.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptwork.calls import ModelCaller
from promptwork.errors import ParamError, ProviderError
from promptwork.optimizer.budget import Budget
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.data import Example
from promptwork.optimizer.state import SearchState
from promptwork.optimizer.strategies.components import short
from promptwork.types import Completion, Params, RenderedPrompt

INDUCE = (
    "I gave a friend an instruction and some inputs. The friend read the instruction and wrote "
    "an output for every one of the inputs. Here are the input-output pairs:\n\n{pairs}\n\n"
    "The instruction was to"
)
IMPROVE = (
    "Your task is to write an instruction for a language model. Below are instructions tried so "
    "far, with their scores (percent correct on a validation set, higher is better), worst "
    "first.\n\n{history}\n\nHere are examples of the task:\n\n{pairs}\n\n"
    "Write a new instruction that differs from all of the above and scores higher. Reply with "
    "the instruction only.\n\nInstruction:"
)
_PREFIXES = re.compile(
    r"^(?:(?:the\s+)?(?:new\s+)?instruction(?:\s+was)?(?:\s+to)?\s*[:\-]?\s*|to\s+)",
    re.IGNORECASE,
)


class Proposer:
    """The model that writes instructions, with its own call count.

    Args:
        caller: The proposer's caller (store cache, retries).
        budget: Where proposer calls are counted.
        temperature: Sampling temperature (proposals should differ).
        max_tokens: Longest answer.
    """

    def __init__(self, caller: ModelCaller, budget: Budget, temperature: float = 0.8,
                 max_tokens: int = 80):
        self.caller = caller
        self.budget = budget
        self.temperature = temperature
        self.max_tokens = max_tokens

    @property
    def id(self) -> str:
        return self.caller.provider.id

    def _params(self, seed: int) -> Params:
        params = Params(temperature=self.temperature, max_tokens=self.max_tokens, seed=seed)
        try:
            self.caller.provider.check_params(params)
        except ParamError:
            params = Params(temperature=self.temperature, max_tokens=self.max_tokens)
        return params

    async def ask(self, text: str, seed: int) -> str | None:
        """The proposer's answer, or ``None`` (limit reached, call failed)."""
        if not self.budget.take_proposer():
            return None
        outcome = await self.caller.call(RenderedPrompt.from_text(text), self._params(seed))
        if isinstance(outcome, ProviderError) or not isinstance(outcome, Completion):
            return None
        return outcome.text


def clean_instruction(text: str | None) -> str | None:
    """A proposer's answer as one instruction, or ``None`` when it is unusable."""
    if not text:
        return None
    para = text.strip().split("\n\n")[0]
    para = " ".join(line.strip() for line in para.splitlines() if line.strip())
    para = para.strip().strip("\"'`*").strip()
    para = _PREFIXES.sub("", para).strip().strip("\"'`").strip()
    if not para:
        return None
    sentences = re.split(r"(?<=[.!?])\s+", para)
    para = " ".join(sentences[:3]).strip()
    words = para.split()
    letters = sum(ch.isalpha() for ch in para)
    if not 3 <= len(words) <= 80 or letters < 0.6 * len(para.replace(" ", "")):
        return None
    if any(m in para for m in ("{{", "{%", "{#", "Input:", "Output:")):
        return None
    para = para[0].upper() + para[1:]
    return para if para[-1] in ".!?" else para + "."


def input_text(values: Mapping[str, Any], variables: frozenset[str]) -> str:
    names = [n for n in sorted(variables) if n in values]
    if len(names) == 1:
        return " ".join(str(values[names[0]]).split())
    return "; ".join(f"{n}: {' '.join(str(values[n]).split())}" for n in names)


def pairs_text(examples: Sequence[Example], variables: frozenset[str]) -> str:
    return "\n\n".join(
        f"Input: {input_text(e.vars, variables)}\nOutput: {e.reference}" for e in examples
    )


class InstructionStrategy:
    """APE induction in the first round, OPRO improvement afterwards.

    Args:
        proposer: The proposer.
        per_round: Instructions asked for per round.
        shots: Input/output pairs shown to the proposer.
    """

    name = "instructions"

    def __init__(self, proposer: Proposer, per_round: int = 4, shots: int = 5):
        self.proposer = proposer
        self.per_round = per_round
        self.shots = shots
        self._asked = 0

    def _demos(self, state: SearchState) -> list[Example]:
        labelled = [e for e in state.data.train if e.reference]
        return state.rng.sample(labelled, min(self.shots, len(labelled)))

    async def propose(self, state: SearchState) -> list[Candidate]:
        variables = state.seed_prompt.variables
        if not any(e.reference for e in state.data.train):
            return []
        history = self.scored_instructions(state)
        texts: list[tuple[str, str]] = []
        for _ in range(self.per_round):
            pairs = pairs_text(self._demos(state), variables)
            if state.round == 0 or len(history) < 2:
                prompt, how = INDUCE.format(pairs=pairs), "induced"
            else:
                lines = "\n\n".join(f"Instruction: {t}\nScore: {round(100 * s)}"
                                    for t, s in history[-8:])
                prompt, how = IMPROVE.format(history=lines, pairs=pairs), "improved"
            self._asked += 1
            answer = clean_instruction(await self.proposer.ask(prompt, self._asked))
            if answer is not None and answer not in (t for t, _ in texts):
                texts.append((answer, how))
        base = state.best.candidate
        return [
            base.derive(layout=base.layout.with_instruction(text), origin="instructions",
                        note=base.then(f"{how} instruction {short(text)!r}"), edits=())
            for text, how in texts
        ]

    @staticmethod
    def scored_instructions(state: SearchState) -> list[tuple[str, float]]:
        """(instruction text, validation score) of fully scored candidates, worst first."""
        n_val = len(state.data.val)
        best: dict[str, float] = {}
        for s in state.history:
            if s.full(n_val):
                text = s.candidate.layout.instruction.strip()
                if text:
                    best[text] = max(best.get(text, 0.0), s.mean)
        return sorted(best.items(), key=lambda item: item[1])
