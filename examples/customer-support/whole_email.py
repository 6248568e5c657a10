"""The checks read the whole email: the opening a prompt writes itself, plus the model's answer.

``prompts/reply.prompt`` ends with a prefilled opening ("Dear Ada, thank you for contacting ...
about your Nimbus kettle."), so the model only writes what follows it, and a check on the answer
alone would never see the product named in that opening. promptwork (like promptfoo) applies the
test's ``options.transform`` to the answer before every check: this one puts the opening back in
front, for the prompts that end with it. The chat prompt asks the model to write the opening
itself, so its answers are checked as they are.
"""

from __future__ import annotations

from typing import Any


def get_transform(output: str, context: dict[str, Any]) -> str:
    """``output`` preceded by the email's opening when the prompt ended with it."""
    vars_ = context["vars"]
    prompt = context["prompt"]["display"].rstrip()
    opening = f"Dear {vars_['customer']},"
    start = prompt.rfind(opening)
    if start == -1 or "\n" in prompt[start:]:  # the prompt does not end with the opening line
        return output
    return prompt[start:] + output
