"""A scripted fake grading model for the model-graded check tests."""

from __future__ import annotations

from promptwork.checks.base import GraderRef


class ScriptedGrader:
    """Answers with scripted texts in order (the last one repeats) or raises a scripted error."""

    def __init__(self, *answers: str | Exception):
        self.answers = list(answers)
        self.calls: list[tuple[str, GraderRef | None]] = []

    async def __call__(self, prompt: str, provider: GraderRef | None = None) -> str:
        self.calls.append((prompt, provider))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def prompt(self) -> str:
        """The last grading prompt asked."""
        return self.calls[-1][0]
