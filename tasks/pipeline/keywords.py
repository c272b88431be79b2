"""Keywords for clusters (class-based TF-IDF) and for single documents (TF-IDF + diversity).

c-TF-IDF, as in BERTopic, treats all documents of a cluster as one document, so the weight of
a term says how characteristic it is of the cluster against the others rather than of any one
text: ``W(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` with ``A`` the average word count per
cluster and ``f(t)`` the frequency of ``t`` across all clusters. We multiply it by the term's
log-lift in the cluster (``specificity``), which drops words frequent everywhere.

Text is English or Korean (or both): ``tokenize`` removes both languages' stop words and strips
Korean particles (서울에서 -> 서울) with a small rule set rather than a morphological analyser,
so it needs no extra package; a word's particle-free form is what gets counted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tasks.pipeline.vectors import l2_normalize

#: Tokens of two or more word characters with at least one letter (drops "2004", "10").
TOKEN_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w\w+\b"
#: Relevance/diversity trade-off of the lexical MMR in ``mmr_select``.
MMR_LAMBDA = 0.7
#: How many of a document's best TF-IDF terms compete for its keywords.
MMR_CANDIDATES = 20
FALLBACK_NAME = "Miscellaneous"

# Korean function words, curated: conjunctions and discourse adverbs, pronouns and
# determiners, bound nouns (수, 것, 등, 때), light verbs and the copula in their common forms,
# and particles as they appear when written apart. Content words never belong here; a word
# with a particle attached (그것은) is reduced by ``korean_stem`` before this lookup.
KOREAN_STOP_WORDS = frozenset(
    """
    그리고 그러나 하지만 그래서 그런데 그러면 그러므로 따라서 그래도 그렇지만 그러니까 또한 또는
    및 혹은 즉 게다가 더욱이 다만 물론 만약 만일 비록 아니면 왜냐하면 결국 특히 바로 다시
    아주 매우 너무 정말 진짜 가장 더 덜 잘 좀 조금 많이 항상 자주 이미 아직 지금 이제 먼저
    함께 같이 모두 모든 각 각각 여러 어떤 무슨 어느 이런 그런 저런 이렇게 그렇게 저렇게 어떻게
    왜 언제 어디 누구 무엇 뭐 이것 저것 그것 이거 저거 그거 여기 거기 저기 이 그 저 나 너 저희
    우리 당신 그들 자신 수 것 거 등 때 중 점 데 바 뿐 때문 경우 정도 대해 대한 통해 위해 관련
    관한 있다 없다 하다 되다 이다 아니다 같다 않다 있는 없는 하는 되는 같은 있고 하고 되고
    있을 할 될 한 해서 하여 하면 되면 있으면 그렇다 또 안 못 네 예 아니요 음 그냥 요
    은 는 이 가 을 를 의 에 에서 으로 로 에게 한테 께 와 과 도 만 부터 까지 보다 처럼 이나 나
    랑 이랑
    """.split()
)

# Particles, the copula and the light verbs 하다/되다/시키다 in common forms, stripped from the
# end of a word so that 서울은/서울에서/서울로 all count as 서울 and 공부했다 as 공부. Longest
# first, at most ``_STRIP_ROUNDS`` times (제주도에서 -> 제주도 -> 제주, as 제주도 alone gives);
# a suffix is stripped only if two characters remain (one for 을/를/은/는, so 빵을 -> 빵) and
# only after the kind of syllable it follows in Korean (see ``_fits``). That keeps 사과, 마을
# and 전문가 whole, at the cost of consistent over-strips such as 고양이 -> 고양.
KOREAN_SUFFIXES = tuple(
    sorted(
        set(
            """
            에서는 으로는 에게는 에서도 으로도 에게서 까지는 부터는 이라는 이라고 에서 에게 으로
            한테 께서 부터 까지 보다 처럼 만큼 조차 마저 이나 이랑 라는 라고 에는 에도 와는 과는
            은 는 을 를 이 가 의 에 로 와 과 도 만 입니다 이에요 이었다 이다 이고 예요 였다
            했습니다 합니다 하다 하는 하고 하기 하면 하여 해서 해요 했다 했고 한다 되었다 됩니다
            되다 되는 되고 되면 된다 됐다 되어 돼요 시키는 시키고 시키다 시켰다 시킨다
            """.split()
        ),
        key=lambda s: (-len(s), s),
    )
)
_STRIP_ROUNDS = 2
_SHORT_STEM_SUFFIXES = frozenset({"을", "를", "은", "는"})
# Allomorphs: 이/을/은/과/으로 follow a final consonant, 가/를/는/와/로 a vowel (로 also ㄹ).
_AFTER_CONSONANT = frozenset(
    """
    이 을 은 과 으로 으로는 으로도 이다 입니다 이에요 이었다 이고 이나 이랑 이라는
    이라고 과는
    """.split()
)
_AFTER_VOWEL = frozenset("가 를 는 와 와는 예요 였다 라는 라고".split())
# Final consonants (받침) by index in a Hangul syllable: 0 none, 4 ㄴ, 8 ㄹ, 16 ㅁ, 20 ㅆ, 21 ㅇ.
_NO_FINAL, _RIEUL, _SSANG_SIOT = 0, 8, 20
# 고 after these finals is the connective ending of a verb (읽고, 걷고, 만들고); after a vowel,
# ㄴ, ㅁ or ㅇ it is as often a noun (최고, 원고, 참고, 광고) and stays.
_NOUN_GO_FINALS = frozenset({_NO_FINAL, 4, 16, 21})
#: Words whose last syllable only looks like a particle (민주주의 '-ism').
KOREAN_KEEP_ENDINGS = ("주의",)
#: Endings of inflected verbs and adjectives (먹었습니다, 좋아요): predicates, not keywords.
KOREAN_PREDICATE_ENDINGS = (
    "습니다", "니다", "어요", "아요", "세요", "까요", "나요", "었다", "았다", "겠다", "는다",
    "니까", "지만", "는데", "어서", "아서", "으면", "려고", "면서", "었고", "았고", "있는",
    "없는", "있다", "없다", "있고", "없고",
)

_WORD = re.compile(r"(?u)\b(?=\w*[^\W\d_])\w+\b")
_HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
_JAMO = re.compile(r"[\u1100-\u11ff\u3130-\u318f]")


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English (scikit-learn's list) and Korean stop words, lower case."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | KOREAN_STOP_WORDS


def _final(syllable: str) -> int | None:
    """Index of a Hangul syllable's final consonant (0 for none); ``None`` if not Hangul."""
    if not _HANGUL_SYLLABLE.fullmatch(syllable):
        return None
    return (ord(syllable) - 0xAC00) % 28


def _fits(stem: str, suffix: str) -> bool:
    """Whether ``suffix`` can follow ``stem``'s last syllable (받침 or not) in Korean."""
    final = _final(stem[-1:])
    if final is None:
        return True  # a Latin stem (GPU가) or an empty one
    if suffix in _AFTER_CONSONANT:
        return final != _NO_FINAL
    if suffix == "로":
        return final in (_NO_FINAL, _RIEUL)
    if suffix in _AFTER_VOWEL:
        return final == _NO_FINAL
    return True


def _strip_once(word: str) -> str:
    """``word`` less its longest strippable suffix (see ``KOREAN_SUFFIXES``), or unchanged."""
    if word.endswith(KOREAN_KEEP_ENDINGS):
        return word
    for suffix in KOREAN_SUFFIXES:
        if not word.endswith(suffix):
            continue
        stem = word[: -len(suffix)]
        long_enough = len(stem) >= (1 if suffix in _SHORT_STEM_SUFFIXES else 2)
        if (long_enough or stem in KOREAN_STOP_WORDS) and _fits(stem, suffix):
            return stem
    return word


def _is_predicate(word: str) -> bool:
    """An inflected verb or adjective: a known ending, a past tense in ㅆ다 (샀다), or a
    connective 고 after a consonant that nouns rarely end in (읽고)."""
    if word.endswith(KOREAN_PREDICATE_ENDINGS):
        return True
    if len(word) < 2:
        return False
    final = _final(word[-2])
    if word[-1] == "다":
        return final == _SSANG_SIOT
    return word[-1] == "고" and final is not None and final not in _NOUN_GO_FINALS


def korean_stem(word: str) -> str | None:
    """``word`` without trailing particles or light verbs; ``None`` for an inflected predicate.

    A heuristic, not a morphological analysis: it makes the common inflections of a noun one
    term, which is what TF-IDF counts need.
    """
    for _ in range(_STRIP_ROUNDS):
        stem = _strip_once(word)
        if stem == word:
            break
        word = stem
    if not word or _is_predicate(word):
        return None
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased words without stop words: Latin words of 2+ characters, Hangul words of 1+.

    One-syllable Korean nouns (책, 빵) carry meaning, unlike one-letter Latin tokens. Tokens of
    bare jamo (ㅋㅋ, ㅠㅠ) are laughter and crying, not words.
    """
    stop = stop_words()
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        if token.isascii():  # the common case, kept cheap
            if len(token) > 1 and token not in stop:
                out.append(token)
            continue
        if _HANGUL_SYLLABLE.search(token):
            stemmed = korean_stem(token)
            if stemmed is None:
                continue
            token = stemmed
        elif len(token) < 2 or _JAMO.search(token):
            continue
        if token not in stop:
            out.append(token)
    return out


def _count_vectorizer(ngram_range: tuple[int, int], n_docs: int) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    # On larger corpora, n-grams seen in a single document are mostly noise and bloat memory.
    return CountVectorizer(
        ngram_range=ngram_range,
        tokenizer=tokenize,
        token_pattern=None,
        min_df=2 if n_docs >= 50 else 1,
        lowercase=False,
    )


def ctfidf(class_term: np.ndarray) -> np.ndarray:
    """c-TF-IDF weights of a dense ``(classes, terms)`` count matrix (pure numpy).

    Term frequencies are normalised per class (L1), then scaled by
    ``log(1 + average words per class / frequency of the term across classes)``.
    """
    counts = np.asarray(class_term, dtype=np.float64)
    if counts.size == 0:
        return counts
    per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(per_class == 0, 1.0, per_class)
    term_freq = counts.sum(axis=0)
    avg_words = counts.sum() / max(1, counts.shape[0])
    idf = np.log(1.0 + avg_words / np.where(term_freq == 0, 1.0, term_freq))
    return tf * idf


def specificity(class_term: np.ndarray) -> np.ndarray:
    """How over-represented each term is in each class: ``max(0, log(lift))``.

    ``lift`` is the term's share of the class's words over its share of all words. Plain
    c-TF-IDF ranks words common everywhere ("said", "year") first in every cluster of a news
    corpus, because their idf only shrinks logarithmically; weighting by log-lift removes
    terms no more frequent in the cluster than elsewhere, while a dominant cluster (whose
    lifts are all small) still keeps its own terms ranked.
    """
    counts = np.asarray(class_term, dtype=np.float64)
    if counts.shape[0] < 2 or counts.sum() == 0:
        return np.ones_like(counts)
    per_class = counts.sum(axis=1, keepdims=True)
    share_in_class = counts / np.where(per_class == 0, 1.0, per_class)
    overall = counts.sum(axis=0) / counts.sum()
    lift = share_in_class / np.where(overall == 0, 1.0, overall)
    return np.log(np.maximum(lift, 1.0))


def top_terms(weights: np.ndarray, vocab: np.ndarray, top_n: int) -> list[str]:
    """The ``top_n`` terms with the highest positive weight, best first (ties by term)."""
    order = np.lexsort((vocab, -weights))
    return [str(vocab[i]) for i in order[:top_n] if weights[i] > 0]


def cluster_keywords(
    texts: Sequence[str], labels: Sequence[int] | np.ndarray, top_n: int = 8
) -> dict[int, list[str]]:
    """Top ``top_n`` terms per cluster label: c-TF-IDF times ``specificity``.

    Terms are 1-2 grams with English and Korean stop words removed.
    """
    labels = np.asarray(labels)
    classes = sorted({int(c) for c in labels})
    result: dict[int, list[str]] = {c: [] for c in classes}
    if not classes:
        return result
    vectorizer = _count_vectorizer((1, 2), len(texts))
    try:
        doc_term = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: only stop words, digits or nothing at all
        try:
            vectorizer.set_params(min_df=1)
            doc_term = vectorizer.fit_transform(texts)
        except ValueError:
            return result
    vocab = vectorizer.get_feature_names_out()
    # Summing document rows per class: like concatenating a class's texts, minus the bogus
    # n-grams that would span two documents.
    membership = np.zeros((len(classes), len(labels)), dtype=np.float64)
    index = {c: i for i, c in enumerate(classes)}
    for row, label in enumerate(labels):
        membership[index[int(label)], row] = 1.0
    class_term = np.asarray((doc_term.T @ membership.T).T)
    plain = ctfidf(class_term)
    weights = plain * specificity(class_term)
    for c, i in index.items():
        # A class whose terms are all no more frequent than elsewhere keeps plain c-TF-IDF.
        result[c] = top_terms(weights[i], vocab, top_n) or top_terms(plain[i], vocab, top_n)
    return result


def _words(term: str) -> frozenset[str]:
    """A term's words with a naive plural stripped, for overlap tests ("starters" ~ "starter")."""
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in term.lower().split())


def term_similarity(a: str, b: str) -> float:
    """Jaccard overlap of two terms' word sets; 1 when one term's words contain the other's."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    if wa <= wb or wb <= wa:
        return 1.0
    return len(wa & wb) / len(wa | wb)


def greedy_mmr(
    relevance: Sequence[float] | np.ndarray,
    redundancy: Callable[[int, int], float],
    top_n: int,
    weights: tuple[float, float],
    excluded: Callable[[int, int], bool],
) -> list[int]:
    """Greedy maximal marginal relevance over candidates ``0 .. len(relevance) - 1``.

    Each step picks the remaining ``i`` with the highest ``weights[0] * relevance[i] -
    weights[1] * max redundancy(i, j)`` over the chosen ``j`` (0 before any is chosen), first
    on ties, skipping any ``i`` that ``excluded(i, j)`` rules out for a chosen ``j``; it stops
    at ``top_n`` picks or when no candidate is left. Returns the picks in order.
    """
    relevance_weight, redundancy_weight = weights
    chosen: list[int] = []
    remaining = list(range(len(relevance)))
    while remaining and len(chosen) < top_n:
        best, best_score = -1, -np.inf
        for i in remaining:
            if any(excluded(i, j) for j in chosen):
                continue
            penalty = max((redundancy(i, j) for j in chosen), default=0.0)
            score = relevance_weight * relevance[i] - redundancy_weight * penalty
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        chosen.append(best)
        remaining.remove(best)
    return chosen


def _contained(candidates: Sequence[str]) -> Callable[[int, int], bool]:
    """Whether candidate ``i``'s words contain, or are contained in, candidate ``j``'s."""
    return lambda i, j: term_similarity(candidates[i], candidates[j]) >= 1.0


def mmr_select(
    candidates: Sequence[str], scores: Sequence[float], top_n: int, lam: float = MMR_LAMBDA
) -> list[str]:
    """Maximal-marginal-relevance pick: relevant terms that do not repeat each other.

    Without it a document's top terms are often "sourdough", "sourdough starter",
    "starter sourdough"; terms wholly contained in a chosen one are skipped outright.
    """
    if not candidates:
        return []
    rel = np.asarray(scores, dtype=np.float64)
    rel = rel / rel.max() if rel.max() > 0 else rel
    chosen = greedy_mmr(
        rel,
        lambda i, j: term_similarity(candidates[i], candidates[j]),
        top_n,
        (lam, 1 - lam),
        _contained(candidates),
    )
    return [candidates[i] for i in chosen]


def _tfidf_matrix(texts: Sequence[str]) -> tuple[Any, np.ndarray]:
    """Row-normalised TF-IDF of words (any count) and 2-3 word phrases (seen in 2+ documents).

    A word used in one conversation only ("kombucha") is often its best keyword, but a phrase
    used only once is mostly noise ("said mr smith") and multiplies the vocabulary, so phrases
    must recur; on small corpora every phrase is kept.
    """
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    common = {
        "tokenizer": tokenize,
        "token_pattern": None,
        "lowercase": False,
        "sublinear_tf": True,
        "norm": None,
        "max_df": 0.5 if len(texts) >= 20 else 1.0,
        "dtype": np.float32,
    }
    parts, vocabs = [], []
    for ngrams, min_df in (((1, 1), 1), ((2, 3), 2 if len(texts) >= 50 else 1)):
        vectorizer = TfidfVectorizer(ngram_range=ngrams, min_df=min_df, **common)
        try:
            parts.append(vectorizer.fit_transform(texts))
        except ValueError:  # empty vocabulary for this n-gram size
            continue
        vocabs.append(vectorizer.get_feature_names_out())
    if not parts:
        raise ValueError("empty vocabulary")
    matrix = normalize(hstack(parts, format="csr"), norm="l2")
    return matrix, np.concatenate(vocabs)


def embedding_mmr(
    candidates: Sequence[str],
    candidate_vectors: np.ndarray,
    doc_vector: np.ndarray,
    top_n: int,
    diversity: float = 0.5,
) -> list[str]:
    """KeyBERT-style MMR: terms close to the document's embedding and far from each other.

    Each step picks ``argmax (1 - diversity) * cos(term, doc) - diversity * max cos(term,
    chosen)``. Embeddings see what word overlap cannot ("dough" ~ "bread"); terms wholly
    contained in a chosen one are still skipped outright, as in ``mmr_select``.
    """
    if not candidates:
        return []
    vectors = l2_normalize(candidate_vectors)
    relevance = vectors @ l2_normalize(np.asarray(doc_vector).reshape(1, -1))[0]
    pairwise = vectors @ vectors.T
    chosen = greedy_mmr(
        relevance,
        lambda i, j: pairwise[i, j],
        top_n,
        (1 - diversity, diversity),
        _contained(candidates),
    )
    return [candidates[i] for i in chosen]


def _candidates(texts: Sequence[str], pool: int) -> list[tuple[list[str], np.ndarray]]:
    """Per document, its ``pool`` best TF-IDF terms (ties by term) and their weights."""
    try:
        matrix, vocab = _tfidf_matrix(texts)
    except ValueError:
        return [([], np.zeros(0)) for _ in texts]
    out: list[tuple[list[str], np.ndarray]] = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        cols, vals = matrix.indices[start:end], matrix.data[start:end]
        order = np.lexsort((vocab[cols], -vals))[:pool]
        out.append(([str(vocab[cols[i]]) for i in order], vals[order]))
    return out


def node_keywords(
    texts: Sequence[str],
    top_n: int = 5,
    embeddings: np.ndarray | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    diversity: float = 0.5,
) -> list[list[str]]:
    """Per-document keywords: 1-3 grams from the document's best TF-IDF terms.

    With ``embeddings`` (one row per text) and ``embed`` (texts -> unit vectors, e.g.
    ``Embedder.encode``), the candidates are embedded once (deduplicated across documents) and
    chosen by ``embedding_mmr`` against the document's own vector, ``diversity`` in [0, 1].
    Otherwise they are taken in TF-IDF order, skipping any contained in an already chosen
    term ("sourdough starter" after "sourdough").
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must be in [0, 1], got {diversity}")
    if not texts:
        return []
    per_doc = _candidates(texts, max(top_n * 4, MMR_CANDIDATES))
    if embeddings is None or embed is None:
        return [mmr_select(terms, scores, top_n, lam=1.0) for terms, scores in per_doc]
    doc_vectors = np.asarray(embeddings, dtype=np.float64)
    if doc_vectors.ndim != 2 or len(doc_vectors) != len(texts):
        raise ValueError(
            f"embeddings of shape {doc_vectors.shape} do not match {len(texts)} texts"
        )
    terms = sorted({t for doc_terms, _ in per_doc for t in doc_terms})
    if not terms:
        return [[] for _ in texts]
    term_vectors = np.asarray(embed(terms), dtype=np.float64)
    if term_vectors.shape != (len(terms), doc_vectors.shape[1]):
        raise ValueError(
            f"embed returned shape {term_vectors.shape} for {len(terms)} terms, expected "
            f"({len(terms)}, {doc_vectors.shape[1]})"
        )
    index = {t: i for i, t in enumerate(terms)}
    return [
        embedding_mmr(
            doc_terms, term_vectors[[index[t] for t in doc_terms]], doc_vectors[row], top_n,
            diversity,
        )
        if doc_terms
        else []
        for row, (doc_terms, _) in enumerate(per_doc)
    ]


def _title(term: str) -> str:
    """Title-case a term word by word, leaving words that already have capitals alone."""
    return " ".join(w if re.search(r"[A-Z]", w) else w[:1].upper() + w[1:] for w in term.split())


def cluster_name(keywords: Sequence[str], parts: int = 3) -> str:
    """A readable name such as "Sourdough / Baking / Starter" from the first distinct keywords.

    A keyword whose words repeat an already chosen one ("sourdough starter" after "sourdough")
    is skipped, so the name spends its three slots on three ideas.
    """
    chosen: list[str] = []
    for keyword in keywords:
        keyword = keyword.strip()
        if not keyword or any(term_similarity(keyword, c) >= 1.0 for c in chosen):
            continue
        chosen.append(keyword)
        if len(chosen) == parts:
            break
    return " / ".join(_title(k) for k in chosen) if chosen else FALLBACK_NAME
