"""Prefixes shared by part of a decoding group (pure logic, no model)."""

from __future__ import annotations

import random

from promptwork.providers.local_prefixes import Head, common_prefix, shared_heads

BASE = [1, 2, 3]


def prompts() -> list[list[int]]:
    a = [*BASE, *range(100, 120)]  # a 20-token head shared by three prompts
    b = [*BASE, *range(200, 210)]  # a 10-token head shared by two prompts
    return [[*a, 7], [*BASE, 9, 9], [*b, 5], [*a, 8, 8], [*b, 6], [*a, 9]]


def test_common_prefix_leaves_a_token_to_decode() -> None:
    assert common_prefix([[1, 2, 3], [1, 2, 3]]) == [1, 2]
    assert common_prefix([[1, 2, 3, 4], [1, 2, 5]]) == [1, 2]
    assert common_prefix([[4], [4, 5]]) == []


def test_heads_group_the_prompts_that_share_more_than_the_common_prefix() -> None:
    group = prompts()
    base = len(common_prefix(group))
    assert base == 3
    heads = shared_heads(group, base, limit=8)
    assert heads == [
        Head(tuple([*BASE, *range(100, 120)]), (0, 3, 5)),  # saves 2 x 20 tokens
        Head(tuple([*BASE, *range(200, 210)]), (2, 4)),  # saves 1 x 10 tokens
    ]
    assert [h.saves(base) for h in heads] == [40, 10]
    for head in heads:
        for m in head.members:
            assert group[m][:len(head.tokens)] == list(head.tokens)
            assert len(group[m]) > len(head.tokens)  # each keeps a token for its slot


def test_the_limit_keeps_the_heads_that_save_most() -> None:
    group = prompts()
    assert [h.members for h in shared_heads(group, 3, limit=1)] == [(0, 3, 5)]
    assert shared_heads(group, 3, limit=0) == []


def test_short_shared_runs_and_small_groups_get_no_head() -> None:
    group = prompts()
    # 10 extra tokens are not enough when 12 are required
    assert [h.members for h in shared_heads(group, 3, limit=8, min_shared=12)] == [(0, 3, 5)]
    assert shared_heads(group[:2], 3, limit=8) == []  # two prompts: the common prefix covers it


def test_a_head_covering_the_whole_group_is_the_common_prefix() -> None:
    group = [[*BASE, *range(100, 120), k] for k in range(5)]
    assert shared_heads(group, 3, limit=8) == []  # base given too short on purpose


def test_the_heads_do_not_depend_on_the_order_of_the_group() -> None:
    group = prompts()
    expected = {(h.tokens, tuple(tuple(group[m]) for m in h.members))
                for h in shared_heads(group, 3, limit=8)}
    rng = random.Random(0)
    for _ in range(5):
        order = list(range(len(group)))
        rng.shuffle(order)
        shuffled = [group[i] for i in order]
        got = {(h.tokens, tuple(tuple(shuffled[m]) for m in h.members))
               for h in shared_heads(shuffled, 3, limit=8)}
        assert {(t, frozenset(ms)) for t, ms in got} == {(t, frozenset(ms)) for t, ms in expected}
