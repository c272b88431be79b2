"""Keywords for clusters (class-based TF-IDF) and for single documents (TF-IDF + diversity).

c-TF-IDF, as in BERTopic, treats all documents of a cluster as one document, so the weight of
a term says how characteristic it is of the cluster against the others rather than of any one
text: ``W(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` with ``A`` the average word count per
cluster and ``f(t)`` the frequency of ``t`` across all clusters. We multiply it by the term's
log-lift in the cluster (``specificity``), which drops words frequent everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Tokens of two or more word characters with at least one letter (drops "2004", "10").
TOKEN_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w\w+\b"
#: Relevance/diversity trade-off of the MMR pass over node keywords.
MMR_LAMBDA = 0.7
FALLBACK_NAME = "Miscellaneous"


def _count_vectorizer(ngram_range: tuple[int, int], n_docs: int) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    # On larger corpora, n-grams seen in a single document are mostly noise and bloat memory.
    return CountVectorizer(
        ngram_range=ngram_range,
        stop_words="english",
        token_pattern=TOKEN_PATTERN,
        min_df=2 if n_docs >= 50 else 1,
        lowercase=True,
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

    Terms are 1-2 grams with English stop words removed.
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
    chosen: list[int] = []
    remaining = list(range(len(candidates)))
    while remaining and len(chosen) < top_n:
        best, best_score = -1, -np.inf
        for i in remaining:
            redundancy = max((term_similarity(candidates[i], candidates[j]) for j in chosen),
                             default=0.0)
            if redundancy >= 1.0:
                continue
            score = lam * rel[i] - (1 - lam) * redundancy
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        chosen.append(best)
        remaining.remove(best)
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
        "stop_words": "english",
        "token_pattern": TOKEN_PATTERN,
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


def node_keywords(texts: Sequence[str], top_n: int = 5) -> list[list[str]]:
    """Per-document top TF-IDF terms (1-3 grams), thinned for diversity with MMR."""
    if not texts:
        return []
    try:
        matrix, vocab = _tfidf_matrix(texts)
    except ValueError:
        return [[] for _ in texts]
    out: list[list[str]] = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        cols, vals = matrix.indices[start:end], matrix.data[start:end]
        order = np.lexsort((vocab[cols], -vals))[: top_n * 4]
        out.append(mmr_select([str(vocab[cols[i]]) for i in order], vals[order], top_n))
    return out


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
