"""Cluster keywords (c-TF-IDF), node keywords (TF-IDF + MMR) and cluster names."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tasks.pipeline.keywords.ctfidf import (
    FALLBACK_NAME,
    cluster_keywords,
    cluster_name,
    covering_order,
    ctfidf,
    specificity,
)
from tasks.pipeline.keywords.mmr import (
    MMR_CANDIDATES,
    _candidates,
    embedding_mmr,
    mmr_select,
    node_keywords,
    term_similarity,
)
from tasks.pipeline.keywords.tokens import TOKEN_PATTERN, stop_words, tokenize
from tasks.pipeline.korean import KOREAN_STOP_WORDS, korean_stem

TOY = [
    "My sourdough starter smells sour. How often should I feed the sourdough starter flour?",
    "Baking sourdough bread: the starter needs rye flour and a warm kitchen for baking.",
    "Why is my sourdough bread dense? Baking tips for a better sourdough crumb and starter.",
    "Manchester United won the football match with a late goal from the striker.",
    "The football league table after the match: the striker scored twice, goal of the season.",
    "Football transfer news: the club signed a new striker before the match.",
    "Python list comprehension vs for loop performance in Python code.",
    "How do I read a CSV file in Python with pandas and write the dataframe?",
    "Python async code: asyncio event loop and coroutines explained.",
]
TOY_LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_cluster_keywords_find_each_topic():
    words = cluster_keywords(TOY, TOY_LABELS, top_n=8)
    assert set(words) == {0, 1, 2}
    assert all(len(w) == 8 for w in words.values())
    assert words[0][:2] == ["sourdough", "starter"]
    assert words[1][0] == "football" and "striker" in words[1]
    assert words[2][0] == "python"
    assert not {"the", "and", "my", "how"} & {w for ws in words.values() for w in ws}
    assert any(" " in w for w in words[0])  # bigrams are considered


def test_words_common_to_every_cluster_are_not_keywords():
    texts = [f"said {topic} {topic} said report" for topic in ("tennis", "budget", "film")]
    words = cluster_keywords(texts * 2, [0, 1, 2, 0, 1, 2], top_n=3)
    assert [w[0] for w in words.values()] == ["tennis", "budget", "film"]
    assert not {"said", "report", "said report"} & {w for ws in words.values() for w in ws}


def test_a_single_cluster_still_gets_keywords_and_degenerate_input_does_not_crash():
    assert cluster_keywords(TOY[:3], [4, 4, 4], top_n=2) == {4: ["sourdough", "starter"]}
    assert cluster_keywords(["the and of", "12 34"], [0, 1]) == {0: [], 1: []}
    assert cluster_keywords([], []) == {}


def test_ctfidf_matches_the_formula():
    counts = np.array([[4.0, 0.0, 1.0], [0.0, 2.0, 1.0]])
    avg_words = counts.sum() / 2  # 4
    expected = (counts / counts.sum(axis=1, keepdims=True)) * np.log(
        1 + avg_words / counts.sum(axis=0)
    )
    np.testing.assert_allclose(ctfidf(counts), expected)


def test_specificity_is_zero_for_evenly_spread_terms():
    counts = np.array([[5.0, 5.0, 0.0], [5.0, 0.0, 5.0]])
    spec = specificity(counts)
    assert spec[0, 0] == spec[1, 0] == 0.0
    assert spec[0, 1] == pytest.approx(np.log(2))
    np.testing.assert_array_equal(specificity(counts[:1]), np.ones((1, 3)))


def test_node_keywords_are_per_document_and_diverse():
    words = node_keywords(TOY, top_n=5)
    assert len(words) == len(TOY)
    assert all(1 <= len(w) <= 5 for w in words)
    assert "csv" in words[7] and "pandas" in words[7]
    for doc in words:
        for i, a in enumerate(doc):
            for b in doc[i + 1 :]:
                assert term_similarity(a, b) < 1.0, (a, b)
    assert node_keywords([]) == []
    assert node_keywords(["the of and", "a"]) == [[], []]


def test_mmr_skips_contained_terms_and_prefers_new_words():
    picked = mmr_select(
        ["sourdough", "sourdough starter", "starter sourdough", "rye flour", "rye"],
        [1.0, 0.95, 0.9, 0.6, 0.5],
        top_n=3,
    )
    assert picked == ["sourdough", "rye flour"]
    assert mmr_select([], [], 3) == []


def test_cluster_name():
    assert cluster_name(["sourdough", "baking", "sourdough starter", "starter", "flour"]) == (
        "Sourdough / Baking / Starter"
    )
    assert cluster_name(["awards", "award", "film", "best"]) == "Awards / Film / Best"
    assert cluster_name(["machine learning", "GPU", "learning"]) == "Machine Learning / GPU"
    assert cluster_name(["", "art", "start"]) == "Art / Start"  # words, not substrings
    assert cluster_name([]) == FALLBACK_NAME


KO = [
    "서울에서 맛있는 빵집을 찾았어요. 그리고 그 빵집의 크루아상이 정말 맛있었습니다. 빵집 추천.",
    "빵을 직접 굽고 싶어요. 반죽은 밀가루와 버터로 만들고, 오븐에서 굽습니다. 크루아상 반죽!",
    "주말에 빵집에 가서 크루아상과 바게트를 샀다. 바게트는 오븐에서 바로 나온 것이었다.",
    "파이썬으로 데이터를 분석하는 방법을 알려주세요. 판다스 데이터프레임을 사용합니다.",
    "파이썬 코드에서 판다스로 CSV 파일을 읽고 데이터를 정리했습니다. 그러나 오류가 있었습니다.",
    "머신러닝 모델을 파이썬으로 학습시키는 것은 어렵지 않다. 데이터 전처리가 중요하다.",
    "제주도 여행 계획을 세우고 있어요. 제주도에서 한라산 등반을 할 수 있을까요?",
    "여행 일정: 제주도 해변과 한라산, 그리고 제주 흑돼지 맛집. 비행기 표를 예약했다.",
    "부산 여행에서 해운대 해변을 걷고 회를 먹었다. 여행 사진을 많이 찍었다.",
]


def test_stop_words_join_english_korean_filler_contractions_and_foreign_function_words():
    words = stop_words()
    assert {"the", "and", "which"} <= words and KOREAN_STOP_WORDS <= words
    assert {"oh", "yeah", "really", "hello", "hi", "hey"} <= words  # chat filler
    assert {"ve", "ll", "don"} <= words and {"di", "la"} <= words
    assert {"것", "수", "질문", "감사", "안녕"} <= KOREAN_STOP_WORDS


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("서울에서", "서울"), ("서울로", "서울"), ("서울은", "서울"), ("빵을", "빵"),
        ("데이터를", "데이터"), ("사람이", "사람"), ("gpu가", "gpu"), ("공부했다", "공부"),
        ("필요해요", "필요"), ("제주도에서", "제주도"), ("사과", "사과"), ("결과", "결과"),
        ("마을", "마을"), ("가을은", "가을"), ("전문가", "전문가"), ("광고", "광고"),
        ("먹었습니다", None), ("좋아요", None), ("샀다", None), ("읽고", None), ("맛있는", None),
    ],
)
def test_korean_stem_drops_particles_and_refuses_predicates(word, stem):
    assert korean_stem(word) == stem


def test_tokenize_reads_korean_nouns_and_drops_stop_words_filler_and_contractions():
    text = "그리고 그것은 정말 좋아요! ㅋㅋㅋ ㅠㅠ 서울에서 빵을 먹었다. The GPU가 a 3 Python"
    assert tokenize(text) == ["서울", "빵", "gpu", "python"]
    assert tokenize("판다스 데이터프레임을 씁니다") == ["판다스", "데이터프레임"]  # one compound
    english = "Oh yeah, I've really don't know: di la Python's pandas merge, hello hi hey"
    assert tokenize(english) == ["python", "pandas", "merge"]


def test_tokenize_matches_the_english_token_pattern_less_stop_words():
    import re

    for text in TOY:
        expected = [t for t in re.findall(TOKEN_PATTERN, text.lower()) if t not in stop_words()]
        assert tokenize(text) == expected


def test_korean_cluster_and_node_keywords():
    words = cluster_keywords(KO, [0, 0, 0, 1, 1, 1, 2, 2, 2], top_n=5)
    assert words[0][0] == "빵집" and {"오븐", "크루아상", "반죽"} <= set(words[0])
    assert {"데이터", "파이썬", "판다스"} <= set(words[1])
    assert words[2][0] == "여행" and {"제주도", "한라산"} <= set(words[2])
    per_node = node_keywords(KO, top_n=4)
    assert per_node[0][0] == "빵집" and "서울" in per_node[0]
    assert "csv" in per_node[4] and "반죽" in per_node[1] and "데이터프레임" in per_node[3]
    every = {w for doc in [*words.values(), *per_node] for term in doc for w in term.split()}
    assert not every & KOREAN_STOP_WORDS
    assert not {"서울에서", "빵을", "데이터를", "먹었다", "그리고"} & every


# --- node keywords chosen by MMR over embeddings ---------------------------------------------

#: Toy "semantic" axes for the fake embedder: words on one axis mean the same thing.
AXES = {
    "sourdough": 0, "bread": 0, "baking": 0, "crumb": 0, "dense": 0,
    "starter": 1, "feed": 1, "flour": 2, "rye": 2, "kitchen": 3, "warm": 3,
    "football": 4, "match": 4, "striker": 5, "goal": 5, "python": 6, "code": 6,
}
DIM = 12


def fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors: known words on their axis, others hashed onto axes 7-11."""
    import zlib

    out = np.zeros((len(texts), DIM))
    for row, text in enumerate(texts):
        for word in tokenize(text):
            out[row, AXES.get(word, 7 + zlib.crc32(word.encode()) % (DIM - 7))] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


class CountingEmbed:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return fake_embed(texts)


def test_embedding_mmr_trades_relevance_for_diversity():
    vectors = np.array([[1.0, 0.0, 0.1], [1.0, 0.0, 0.0], [0.2, 0.0, 1.0]])
    doc = np.array([1.0, 0.0, 0.6])
    terms = ["bread", "loaf", "oven"]
    assert embedding_mmr(terms, vectors, doc, 2, diversity=0.0) == ["bread", "loaf"]
    assert embedding_mmr(terms, vectors, doc, 2, diversity=0.5) == ["bread", "oven"]
    # Contained terms are skipped whatever their vectors say.
    assert embedding_mmr(["rye", "rye bread"], np.eye(2), np.ones(2), 2) == ["rye"]
    assert embedding_mmr([], np.zeros((0, 3)), doc, 3) == []


def test_node_keywords_mmr_path_embeds_candidates_once_and_follows_the_document_vector():
    embed = CountingEmbed()
    doc_vectors = fake_embed(TOY)
    words = node_keywords(TOY, top_n=3, embeddings=doc_vectors, embed=embed, diversity=0.5)
    assert len(embed.calls) == 1
    [terms] = embed.calls
    assert terms == sorted(set(terms))  # deduplicated across documents
    pools = _candidates(TOY, MMR_CANDIDATES)
    for row, doc in enumerate(words):
        candidates = pools[row][0]
        assert len(doc) == 3 and set(doc) <= set(candidates)
        relevance = fake_embed(candidates) @ doc_vectors[row]
        assert doc[0] == candidates[int(np.argmax(relevance))]  # MMR starts at the closest
        for i, a in enumerate(doc):
            for b in doc[i + 1 :]:
                assert term_similarity(a, b) < 1.0
    assert words != node_keywords(TOY, top_n=3)


def test_more_diversity_reaches_for_other_meanings():
    """The sourdough question: its candidates are mostly sourdough/starter phrases; the more
    diversity, the sooner MMR takes the one on the flour axis instead."""

    def first_doc(diversity: float) -> list[str]:
        vectors = fake_embed(TOY[:3])
        return node_keywords(TOY[:3], 3, vectors, fake_embed, diversity)[0]

    assert first_doc(0.0) == ["sour feed sourdough", "sourdough starter smells",
                              "feed sourdough starter"]
    assert first_doc(0.5) == ["sour feed sourdough", "starter flour", "feed sourdough starter"]
    assert first_doc(0.9) == ["sour feed sourdough", "flour", "starter"]


def test_node_keywords_with_zero_diversity_is_pure_relevance():
    doc_vectors = fake_embed(TOY)
    words = node_keywords(TOY, top_n=4, embeddings=doc_vectors, embed=fake_embed, diversity=0.0)
    for row, doc in enumerate(words):
        vectors = fake_embed(doc)
        scores = vectors @ doc_vectors[row]
        assert list(scores) == sorted(scores, reverse=True)


def test_node_keywords_fallback_is_tfidf_order_without_contained_terms():
    pools = _candidates(TOY, MMR_CANDIDATES)
    for (candidates, _), doc in zip(pools, node_keywords(TOY, top_n=5), strict=True):
        expected: list[str] = []
        for term in candidates:
            if len(expected) == 5:
                break
            if all(term_similarity(term, c) < 1.0 for c in expected):
                expected.append(term)
        assert doc == expected
    only_embed = node_keywords(TOY, top_n=5, embed=fake_embed)
    assert only_embed == node_keywords(TOY, top_n=5)


def test_node_keywords_validates_its_arguments():
    with pytest.raises(ValueError, match="diversity"):
        node_keywords(TOY, diversity=1.5)
    with pytest.raises(ValueError, match="do not match 9 texts"):
        node_keywords(TOY, embeddings=np.zeros((2, DIM)), embed=fake_embed)
    with pytest.raises(ValueError, match="embed returned shape"):
        node_keywords(TOY, embeddings=fake_embed(TOY), embed=lambda t: np.zeros((len(t), 3)))
    assert node_keywords(["the of", "and"], embeddings=np.ones((2, 3)), embed=fake_embed) == [
        [], []
    ]


def name_words(name: str) -> set[str]:
    return {w.lower() for part in name.split(" / ") for w in part.split()}


def test_no_cluster_name_is_made_of_stop_words_or_chat_filler():
    filler = "Oh yeah really? Hello hi hey, thanks! I've got it, don't worry lol. ok ok di la"
    topics = {
        0: "sourdough starter flour oven crumb",
        1: "striker goal league referee penalty",
        2: "tomato compost seedling mulch greenhouse",
    }
    rng = np.random.default_rng(3)
    texts, labels = [], []
    for label, words in topics.items():
        for _ in range(8):
            picked = " ".join(rng.choice(words.split(), size=3))
            texts.append(f"{filler} {filler} {picked}")  # filler outweighs the topic words
            labels.append(label)
    korean = ["안녕하세요! 혹시 질문 하나 해도 될까요? 정말 고마워요 ㅋㅋ 김치찌개 돼지고기 육수",
              "네 감사합니다! 진짜 대박 ㅋㅋ 도움이 됐어요 된장찌개 두부 육수",
              "안녕하세요 ㅎㅎ 궁금한 게 있어요. 정말 감사해요 김치찌개 양념 고추장"]
    texts += korean
    labels += [3] * len(korean)
    names = {c: cluster_name(words) for c, words in cluster_keywords(texts, labels).items()}
    for name in names.values():
        assert name != FALLBACK_NAME and not name_words(name) & stop_words(), name


def test_a_build_tokenizes_each_text_once(monkeypatch):
    """Lexicon, TF-IDF, c-TF-IDF and subclusters all read the words; kiwipiepy runs once."""
    from tasks.pipeline.keywords import tokens

    seen: Counter[str] = Counter()
    original = tokens._tokenize

    def counted(text: str) -> list[str]:
        seen[text] += 1
        return original(text)

    monkeypatch.setattr(tokens, "_tokenize", counted)
    texts = KO + TOY
    with tokens.tokens_memoized():
        cluster_keywords(texts, [i % 3 for i in range(len(texts))])
        first = node_keywords(texts, top_n=3)
        assert node_keywords(texts, top_n=3) == first
    assert set(seen) == set(texts) and max(seen.values()) == 1
    tokenize(KO[0])  # outside the block nothing is kept
    assert seen[KO[0]] == 2


def test_covering_order_puts_first_the_keywords_that_name_most_members():
    members = [["oil price"], ["bank shares"], ["bank rates"], ["growth"], ["bank loan"]]
    # "yukos" leads by c-TF-IDF but names nobody; "bank" names three, then oil and growth.
    assert covering_order(["yukos", "oil", "bank", "growth"], members) == [
        "bank", "oil", "growth", "yukos"]
    assert covering_order(["yukos", "oil"], []) == ["yukos", "oil"]
    assert covering_order(["a", "b", "c"], [["c"], ["b"]], picks=1) == ["b", "a", "c"]
