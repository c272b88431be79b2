"""Keywords of single documents: TF-IDF candidates chosen by maximal marginal relevance.

A document's best TF-IDF terms repeat each other ("sourdough", "sourdough starter"); MMR picks
terms that are relevant and unlike those already chosen, by word overlap (``mmr_select``) or,
KeyBERT-style, by embedding similarity (``embedding_mmr``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tasks.pipeline.keywords.tokens import tokenize
from tasks.pipeline.vectors import l2_normalize

#: Relevance/diversity trade-off of the lexical MMR in ``mmr_select``.
MMR_LAMBDA = 0.7
#: How many of a document's best TF-IDF terms compete for its keywords.
MMR_CANDIDATES = 20


@functools.lru_cache(maxsize=65536)
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
    # Running max redundancy to the chosen, updated once per pick (not recomputed per step).
    penalty = dict.fromkeys(remaining, 0.0)
    while remaining and len(chosen) < top_n:
        best = max(remaining, key=lambda i: (
            relevance_weight * relevance[i] - redundancy_weight * penalty[i], -i))
        chosen.append(best)
        remaining = [i for i in remaining if i != best and not excluded(i, best)]
        if redundancy_weight:
            for i in remaining:
                penalty[i] = max(penalty[i], redundancy(i, best))
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
    readable: Sequence[bool] | None = None,
) -> list[list[str]]:
    """Per-document keywords: 1-3 grams from the document's best TF-IDF terms.

    With ``embeddings`` (one row per text) and ``embed`` (texts -> unit vectors, e.g.
    ``Embedder.encode``), the candidates are embedded once (deduplicated across documents) and
    chosen by ``embedding_mmr`` against the document's own vector, ``diversity`` in [0, 1].
    Otherwise they are taken in TF-IDF order, skipping any contained in an already chosen
    term ("sourdough starter" after "sourdough"). ``readable`` (per text) marks the documents
    the model can read: the others take TF-IDF order too, and their terms are not embedded (an
    English model makes noise of Korean terms, at ten tokens per word).
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must be in [0, 1], got {diversity}")
    if not texts:
        return []
    per_doc = _candidates(texts, max(top_n * 4, MMR_CANDIDATES))
    if embeddings is None or embed is None:
        return [mmr_select(doc_terms, scores, top_n, lam=1.0) for doc_terms, scores in per_doc]
    doc_vectors = np.asarray(embeddings, dtype=np.float64)
    if doc_vectors.ndim != 2 or len(doc_vectors) != len(texts):
        raise ValueError(
            f"embeddings of shape {doc_vectors.shape} do not match {len(texts)} texts"
        )
    use_model = [True] * len(texts) if readable is None else [bool(r) for r in readable]
    terms = sorted({t for (doc_terms, _), ok in zip(per_doc, use_model, strict=True) if ok
                    for t in doc_terms})
    if not terms:
        return [mmr_select(doc_terms, scores, top_n, lam=1.0) for doc_terms, scores in per_doc]
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
        if use_model[row]
        else mmr_select(doc_terms, scores, top_n, lam=1.0)
        for row, (doc_terms, scores) in enumerate(per_doc)
    ]
