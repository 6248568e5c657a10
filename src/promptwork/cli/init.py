"""``promptwork init``: write a small working suite to start from."""

from __future__ import annotations

from pathlib import Path

import click

from promptwork.cli.output import console
from promptwork.errors import ConfigError

SUITE = """\
# A promptwork suite (promptfoo-compatible). Run it with: promptwork eval
description: Sentiment of short reviews, two formulations side by side
prompts:
  - id: file://prompts/bare.prompt
    label: bare
  - id: file://prompts/instructed.prompt
    label: instructed
providers:
  - local:gemma3-270m
defaultTest:
  assert:
    - type: icontains
      value: "{{ label }}"
tests: file://tests.csv
"""

BARE = """\
---
params: {temperature: 0, max_tokens: 3, stop: ["\\n"]}
---
Review: {{ review }}
Sentiment:"""

INSTRUCTED = """\
---
params: {temperature: 0, max_tokens: 3, stop: ["\\n"]}
---
Classify the sentiment of the movie review as positive or negative.

Review: a gorgeous, witty, seductive movie.
Sentiment: positive

Review: the plot is nothing but boilerplate cliches.
Sentiment: negative

Review: {{ review }}
Sentiment:"""

TESTS = """\
review,label
"A tender, heartfelt family drama.",positive
"Unflinchingly bleak and desperate",negative
"An utterly charming and hilarious film that reminded me why I love movies.",positive
"The acting is wooden and the story never takes off.",negative
"A thrilling ride from start to finish.",positive
"Boring, overlong and instantly forgettable.",negative
"""


@click.command("init")
@click.argument("folder", default=".")
def init_command(folder: str) -> None:
    """Write a small working suite (promptwork.yaml, prompts/, tests.csv) into FOLDER."""
    root = Path(folder)
    files = {
        root / "promptwork.yaml": SUITE,
        root / "prompts" / "bare.prompt": BARE,
        root / "prompts" / "instructed.prompt": INSTRUCTED,
        root / "tests.csv": TESTS,
    }
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise ConfigError(f"not overwriting existing files: {', '.join(existing)}")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    out = console()
    out.print(f"wrote a suite in {root.resolve()}", markup=False)
    out.print(f"next: cd {folder} && promptwork eval", markup=False)
