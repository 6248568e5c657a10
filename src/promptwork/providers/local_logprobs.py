"""Log-probabilities of the sequential embedded path (llama-cpp-python's ``create_completion``)."""

from __future__ import annotations

from typing import Any

from promptwork.types import TokenLogprob


class LogprobRecorder:
    """Records each sampled token's log-probability under the model's raw distribution.

    llama-cpp-python only reports logprobs when every position's logits are kept
    (``logits_all=True``), which slows every call. Instead a logits processor (first in the
    sampler chain, so it sees raw logits) keeps each step's logits; the token chosen at a step is
    the last input id seen at the next step. The final token is never fed back, so it is
    recovered from the text that remains.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[Any, float]] = []
        self.tokens: list[int] = []

    def see_logits(self, input_ids: Any, logits: Any) -> Any:
        import numpy as np

        if self.rows:
            self.tokens.append(int(input_ids[-1]))
        peak = float(np.max(logits))
        self.rows.append((logits.copy(), peak + float(np.log(np.sum(np.exp(logits - peak))))))
        return logits

    def result(self, llama: Any, text: str, top: int = 0) -> tuple[TokenLogprob, ...]:
        """Pairs of (token text, logprob), cut where the returned text ends (stop sequences),
        with the ``top`` most likely tokens of each position."""
        from promptwork.providers.local_batch import token_text, top_logprobs

        encoded = text.encode()
        out: list[TokenLogprob] = []
        length = 0
        tokens = list(self.tokens)
        for i, (row, norm) in enumerate(self.rows):
            if length >= len(encoded):
                break
            if i < len(tokens):
                token = tokens[i]
            else:
                rest = llama.tokenize(encoded[length:], add_bos=False, special=False)
                token = int(rest[0]) if len(rest) == 1 else int(row.argmax())
            piece = llama.detokenize([token])
            length += len(piece)
            text_piece = piece.decode("utf-8", errors="replace")
            alternatives = tuple(TokenLogprob(token_text(llama, t), p)
                                 for t, p in (top_logprobs(row, top) if top else ()))
            out.append(TokenLogprob(text_piece, float(row[token]) - norm, alternatives))
        return tuple(out)
