"""Which token prefixes the prompts of a decoding group share, so that each is computed once.

A group's common prefix (the template's text before its first variable) is decoded once and
shared by every sequence. Inside a group, some prompts often share more than that: the cells of
one template among leftovers of several templates, or the cases that have the same first
variable. Those longer *heads* are decoded once each as well, and a prompt starts from its head
instead of from the group's prefix. Without this a plain ``create_completion`` loop, which
reuses the previous prompt's prefix, would recompute less than the batched path at one case per
template.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

#: A head is worth its own sequence when it saves at least this many tokens per extra prompt.
MIN_SHARED = 8


@dataclass(frozen=True)
class Head:
    """A prefix shared by several prompts of a group.

    Attributes:
        tokens: The prefix (it starts with the group's common prefix).
        members: Positions, in the group, of the prompts that start with it.
    """

    tokens: tuple[int, ...]
    members: tuple[int, ...]

    def saves(self, base: int) -> int:
        """Prompt tokens not recomputed thanks to this head (beyond the common prefix)."""
        return (len(self.members) - 1) * (len(self.tokens) - base)


def common_prefix(token_lists: Sequence[Sequence[int]]) -> list[int]:
    """Longest common prefix, leaving at least one token of every prompt to decode per slot."""
    shortest = min(len(t) for t in token_lists)
    first = token_lists[0]
    n = 0
    while n < shortest - 1 and all(t[n] == first[n] for t in token_lists):
        n += 1
    return list(first[:n])


def _shared(a: Sequence[int], b: Sequence[int]) -> int:
    limit = min(len(a), len(b)) - 1  # every prompt keeps a token to decode in its slot
    n = 0
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def shared_heads(token_lists: Sequence[Sequence[int]], base: int, limit: int,
                 min_shared: int = MIN_SHARED) -> list[Head]:
    """Heads longer than the common prefix (``base`` tokens) that several prompts share.

    The prompts are sorted; neighbours that share at least ``min_shared`` tokens beyond the
    common prefix join one head (its length is the least any two neighbours share). At most
    ``limit`` heads are kept, those that save the most tokens first. A prompt belongs to at most
    one head, so the result does not depend on the order of the prompts in the group.
    """
    if limit <= 0 or len(token_lists) < 3:
        return []
    order = sorted(range(len(token_lists)), key=lambda i: list(token_lists[i]))
    heads: list[Head] = []
    run, length = [order[0]], 0

    def close() -> None:
        if len(run) > 1:
            heads.append(Head(tuple(token_lists[run[0]][:length]), tuple(sorted(run))))

    for prev, nxt in itertools.pairwise(order):
        n = _shared(token_lists[prev], token_lists[nxt])
        if n - base >= min_shared:
            length = n if len(run) == 1 else min(length, n)
            run.append(nxt)
        else:
            close()
            run, length = [nxt], 0
    close()
    if len(heads) == 1 and len(heads[0].members) == len(token_lists):
        return []  # every prompt in one head: that is the common prefix
    heads.sort(key=lambda h: (-h.saves(base), h.members))
    return heads[:limit]
