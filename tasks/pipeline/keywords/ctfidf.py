"""Cluster keywords by class-based TF-IDF, and the cluster names made of them.

c-TF-IDF, as in BERTopic, treats all documents of a cluster as one document, so the weight of
a term says how characteristic it is of the cluster against the others rather than of any one
text: ``W(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` with ``A`` the average word count per
cluster and ``f(t)`` the frequency of ``t`` across all clusters. We multiply it by the term's
log-lift in the cluster (``specificity``), which drops words frequent everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tasks.pipeline.keywords.mmr import term_similarity
from tasks.pipeline.keywords.tokens import tokenize

FALLBACK_NAME = "Miscellaneous"


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


def _title(term: str) -> str:
    """Title-case a term word by word, leaving words that already have capitals alone."""
    return " ".join(w if re.search(r"[A-Z]", w) else w[:1].upper() + w[1:] for w in term.split())


def term_words(terms: Iterable[str]) -> frozenset[str]:
    """The lower-case words of ``terms`` (a phrase gives each of its words)."""
    return frozenset(w.lower() for term in terms for w in str(term).split())


def covering_order(keywords: Sequence[str], member_keywords: Sequence[Sequence[str]],
                   picks: int = 6) -> list[str]:
    """``keywords`` (a cluster's, best first) reordered so that each of the first ``picks``
    names the most members not yet named: a member is named by a keyword that shares a word
    with its own keywords. Ties keep the c-TF-IDF order, as do the keywords after them (a name
    takes three distinct ones, ``cluster_name``).

    c-TF-IDF alone ranks the terms that set a cluster apart, which can be the words of its
    loudest few members ("Shares / Company / Oil" over 126 business articles, 8 % of whose
    keywords meet it); the name should describe most of the cluster.
    """
    members = [term_words(own) for own in member_keywords]
    remaining = [(keyword, term_words([keyword])) for keyword in keywords]
    unnamed = list(range(len(members)))
    ordered: list[str] = []
    while remaining and unnamed and len(ordered) < picks:
        gains = [sum(1 for m in unnamed if words & members[m]) for _, words in remaining]
        best = max(range(len(remaining)), key=lambda i: (gains[i], -i))
        if gains[best] == 0:
            break
        keyword, words = remaining.pop(best)
        ordered.append(keyword)
        unnamed = [m for m in unnamed if not words & members[m]]
    return ordered + [keyword for keyword, _ in remaining]


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
