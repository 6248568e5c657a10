"""Batch-invariant decoding of the embedded models (issue 18, point 1).

A cell's answer is the one its prompt gets decoded alone from an empty cache, bit for bit
(tokens and logprobs), whatever shares its batch (widths 1 to 16, continuous batching, shared
prefixes and heads), the layout (this process with 2 threads, worker processes with 1 thread),
an interruption (the rest of a group decoded later, in another group), and in the sequential loop
(``create_completion`` with its prefix reuse, in any order). ``bench/embedded/invariance.py``
measures the same on the bench suite.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from promptwork.calls import ModelCaller as Caller
from promptwork.providers.base import Provider
from promptwork.providers.local import LocalProvider
from promptwork.providers.local_batch import (
    STREAM_CELLS,
    BatchDecoder,
    Request,
    _feed_order,
    pieces,
    seed_for,
    tail_length,
)
from promptwork.providers.local_models import ModelPool
from promptwork.providers.local_workers import WorkerPool
from promptwork.types import Completion, Params, RenderedPrompt

HEAD = ("Classify the sentiment of the review as positive or negative.\n\n"
        "Review: A gorgeous, witty film.\nSentiment: positive\n\n"
        "Review: Dull and far too long.\nSentiment: negative\n\n")
REVIEWS = ["a masterpiece of quiet grace", "I walked out after an hour",
           "funny, warm and surprising", "a mess from start to end"]
#: Prompts sharing a long prefix, two sharing more ("heads"), and unrelated ones.
TEXTS = [*(f"{HEAD}Review: {r}\nSentiment:" for r in REVIEWS),
         f"{HEAD}Review: a mess from start to end, but a fun one\nSentiment:",
         "The capital of France is", "1, 2, 3, 4,", "Twinkle, twinkle, little"]
GREEDY = Params(temperature=0, max_tokens=4, logprobs=True)
SAMPLED = Params(temperature=0.9, top_p=0.95, max_tokens=4, logprobs=True, seed=7)


@pytest.fixture(scope="module", params=["gemma3-270m", "smollm2"])
def provider(request: pytest.FixtureRequest) -> Iterator[LocalProvider]:
    pool = ModelPool()
    yield LocalProvider(f"local:{request.param}", request.param,
                        {"workers": 1, "mode": "completion"}, pool=pool)
    pool.close()


def _requests(provider: LocalProvider, params: Params) -> list[Request]:
    llama = provider.model.llama
    return [Request(tokens=llama.tokenize(t.encode(), special=True), params=params,
                    max_tokens=params.max_tokens or 5, stops=(), seed=seed_for(t, params))
            for t in TEXTS]


def _key(result: Any) -> tuple[Any, ...]:
    return (result.tokens, result.logprobs, result.finish)


@pytest.mark.embedded
def test_answers_do_not_depend_on_the_batch_the_layout_or_an_interruption(
    provider: LocalProvider,
) -> None:
    # Greedy and sampled requests, mixed in one group.
    reqs = [r for pair in zip(_requests(provider, GREEDY), _requests(provider, SAMPLED),
                              strict=True) for r in pair]
    pool = provider._pool
    lone = provider._decoding().lone()
    ref = pool.call(lambda: [_key(lone.run([r])[0]) for r in reqs])
    assert len({k[0][0] for k in ref}) > 2  # the prompts do not all start alike
    ways: dict[str, list[tuple[Any, ...]]] = {}
    for width in (3, 16):
        decoder = BatchDecoder(provider.model.llama, width, STREAM_CELLS, 2)
        ways[f"width {width}"] = pool.call(lambda d=decoder: [_key(r) for r in d.run(reqs)])
        decoder.close()
    workers = WorkerPool(2, str(provider.path), 16, STREAM_CELLS)
    try:
        ways["2 workers x 1 thread"] = [_key(r) for r in workers.run(reqs)]
        # Interrupted and resumed: the rest decodes later, in other groups, in other workers.
        later = [_key(r) for r in workers.run(reqs[7:][::-1])][::-1]
        ways["resumed"] = [_key(r) for r in workers.run(reqs[:7])] + later
    finally:
        workers.close()
    differ = {name: [i for i, (a, b) in enumerate(zip(ref, got, strict=True)) if a != b]
              for name, got in ways.items()}
    assert differ == {name: [] for name in ways}


@pytest.mark.embedded
def test_answers_do_not_depend_on_when_the_others_finish(provider: LocalProvider) -> None:
    # Answers of 1 to 6 tokens: sequences finish at different steps, the survivors move to the
    # freed sequences (their KV streams are copied) and new prompts start beside them, in
    # groups of new prompts of several lengths (their tokens decoded in shared calls).
    llama = provider.model.llama
    reviews = [*REVIEWS, "ok", "not my kind of film at all, sadly", "brilliant", "a bore",
               "the best thing I have seen this year, and I have seen a lot"]
    texts = [f"{HEAD}Review: {r}\nSentiment:" for r in reviews] + TEXTS[5:]
    reqs = []
    for i, text in enumerate(texts):
        params = (GREEDY if i % 3 else SAMPLED).model_copy(update={"max_tokens": 1 + i % 6})
        reqs.append(Request(tokens=llama.tokenize(text.encode(), special=True), params=params,
                            max_tokens=1 + i % 6, stops=(), seed=seed_for(text, params)))
    assert len({len(r.tokens) for r in reqs}) >= 8
    pool = provider._pool
    lone = provider._decoding().lone()
    ref = pool.call(lambda: [_key(lone.run([r])[0]) for r in reqs])
    ways: dict[str, list[tuple[Any, ...]]] = {}
    for width, refill_at in ((3, 1), (5, 3), (16, 1)):
        decoder = BatchDecoder(llama, width, STREAM_CELLS, 2)
        decoder.refill_at = refill_at
        ways[f"width {width}, refill at {refill_at}"] = pool.call(
            lambda d=decoder: [_key(r) for r in d.run(reqs)])
        decoder.close()
    differ = {name: [i for i, (a, b) in enumerate(zip(ref, got, strict=True)) if a != b]
              for name, got in ways.items()}
    assert differ == {name: [] for name in ways}
    assert {len(k[0]) for k in ref} >= {1, 2, 3}  # the answers did end at different steps


@pytest.mark.embedded
def test_the_sequential_loop_gives_the_reference_answers_in_any_order(
    provider: LocalProvider,
) -> None:
    sequential = LocalProvider(provider.id, provider.id.split(":", 1)[1],
                               {"decoding": "sequential", "mode": "completion"},
                               pool=provider._pool)
    params = Params(temperature=0, max_tokens=4)
    lone = provider._decoding().lone()
    llama = provider.model.llama
    ref = [provider._pool.call(lambda r=r: lone.run([r])[0].text)
           for r in _requests(provider, params)]

    def loop(order: list[int]) -> list[str]:
        out = {i: sequential.complete_sync(RenderedPrompt.from_text(TEXTS[i]), params).text
               for i in order}
        return [out[i] for i in range(len(TEXTS))]

    forward = loop(list(range(len(TEXTS))))
    # A prompt that extends the previous one by a single token: create_completion would decode
    # that token alone (another attention kernel) unless it is given back part of the prefix.
    one_more = TEXTS[0] + " positive"
    assert len(llama.tokenize(one_more.encode(), special=True)) == len(
        llama.tokenize(TEXTS[0].encode(), special=True)) + 1
    alone = provider._pool.call(lambda: lone.run(_requests_of(provider, one_more, params))[0].text)
    after = sequential.complete_sync(RenderedPrompt.from_text(one_more), params).text
    assert forward == ref
    assert loop(list(reversed(range(len(TEXTS))))) == ref
    assert after == alone


def _requests_of(provider: LocalProvider, text: str, params: Params) -> list[Request]:
    tokens = provider.model.llama.tokenize(text.encode(), special=True)
    return [Request(tokens=tokens, params=params, max_tokens=params.max_tokens or 5, stops=(),
                    seed=seed_for(text, params))]


@pytest.mark.embedded
def test_repeats_at_temperature_above_zero_are_different_samples(
    provider: LocalProvider,
) -> None:
    prompt = RenderedPrompt.from_text("Write a one-line slogan for a bakery:")
    params = Params(temperature=1.0, max_tokens=8)
    caller = Caller(provider, None)
    items = [(prompt, params)] * 4
    first = [c.text for c in asyncio.run(caller.call_many(items, [0, 1, 2, 3]))
             if isinstance(c, Completion)]
    again = [c.text for c in asyncio.run(caller.call_many(items, [0, 1, 2, 3]))
             if isinstance(c, Completion)]
    assert len(first) == 4 and first == again  # reproducible...
    assert len(set(first)) >= 3  # ...and each repeat its own sample
    greedy = Params(temperature=0, max_tokens=8)
    answers = asyncio.run(caller.call_many([(prompt, greedy)] * 3, [0, 1, 2]))
    assert len({c.text for c in answers if isinstance(c, Completion)}) == 1


def test_new_prompts_decoded_together_are_cut_the_same_way() -> None:
    # The last two tokens of each prompt go with the other new prompts' last two; a prompt of
    # three tokens keeps its three together (a one-token run would change its arithmetic).
    assert [tail_length(n) for n in range(1, 7)] == [1, 2, 3, 2, 2, 2]
    lengths = [9, 3, 2, 12, 9, 4, 1]
    order = sorted(range(len(lengths)), key=lambda i: _feed_order(lengths[i]))
    # Prompts decoded in the same calls sit side by side (consecutive sequences).
    assert [lengths[i] for i in order] == [1, 2, 4, 9, 9, 12, 3]


def test_pieces_never_leave_a_one_token_run() -> None:
    for n in range(1, 1100):
        runs = pieces(n)
        assert runs[0][0] == 0 and runs[-1][1] == n
        assert all(b - a <= 512 for a, b in runs)
        assert all(b - a >= 2 for a, b in runs) or n == 1
        assert all(x[1] == y[0] for x, y in itertools.pairwise(runs))


class _Seeded(Provider):
    """Records the params each call gets."""

    def __init__(self) -> None:
        super().__init__("seeded")
        self.seen: list[Params] = []

    def for_repeat(self, prompt: RenderedPrompt, params: Params, repeat: int) -> Params:
        return params.model_copy(update={"seed": 100 + repeat})

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.seen.append(params)
        return Completion(text="x", provider=self.id)


def test_the_caller_hands_each_repeat_its_own_params() -> None:
    provider = _Seeded()
    prompt = RenderedPrompt.from_text("hi")
    asyncio.run(Caller(provider, None).call_many([(prompt, Params())] * 3, [0, 1, 2]))
    assert [p.seed for p in provider.seen] == [None, 101, 102]
