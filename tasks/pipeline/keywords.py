"""Keywords for clusters (class-based TF-IDF) and for single documents (TF-IDF + diversity).

c-TF-IDF, as in BERTopic, treats all documents of a cluster as one document, so the weight of
a term says how characteristic it is of the cluster against the others rather than of any one
text: ``W(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` with ``A`` the average word count per
cluster and ``f(t)`` the frequency of ``t`` across all clusters. We multiply it by the term's
log-lift in the cluster (``specificity``), which drops words frequent everywhere.

Text is English or Korean (or both): ``tokenize`` removes both languages' stop words and chat
filler, and reads Korean through kiwipiepy's morphological analysis (``korean``): a noun's
particle-free form (서울에서 -> 서울) is what gets counted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tasks.pipeline.korean import KOREAN_STOP_WORDS, content_morphemes, has_hangul
from tasks.pipeline.vectors import l2_normalize

#: Tokens of two or more word characters with at least one letter (drops "2004", "10").
TOKEN_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w\w+\b"
#: Relevance/diversity trade-off of the lexical MMR in ``mmr_select``.
MMR_LAMBDA = 0.7
#: How many of a document's best TF-IDF terms compete for its keywords.
MMR_CANDIDATES = 20
FALLBACK_NAME = "Miscellaneous"

# English chat filler and words of no topic: greetings, thanks, discourse markers, hedges and
# generic verbs ("Oh / Yeah / Really" and "Hello / Hi / Hey" were names of chat clusters).
CHAT_FILLER = frozenset(
    """
    oh ok okay yeah yes yep yup nope nah hi hello hey hiya thanks thank thx ty please pls sure
    really lol lmao haha hahaha hehe hmm hm um uh wow cool great nice awesome good bad fine
    like just maybe actually basically literally pretty gonna wanna gotta kinda sorta stuff
    thing things lot lots bit right well know think want need help let got get make use using
    used does did doing done said say says tell told ask asked question questions answer sorry
    guess mean feel try trying way going alright dear bye goodbye morning tonight today
    tomorrow yesterday welcome glad happy love cheers awesome exactly definitely absolutely
    totally course sounds sound hope idea ideas example examples also probably anyway
    """.split()
)
# What a word tokenizer makes of contractions ("I've" -> "ve", "don't" -> "don").
CONTRACTION_PIECES = frozenset(
    """
    ve ll re don doesn didn isn wasn aren weren won wouldn couldn shouldn haven hasn hadn ain
    mustn needn shan im ive youre youve youll theyre weve dont doesnt didnt cant wont isnt
    wasnt arent thats theres whats lets hes shes
    """.split()
)
# Function words of the Latin-script languages users mix in (Spanish, French, Italian,
# Portuguese, German), short and frequent enough to top a small cluster ("di", "la").
FOREIGN_STOP_WORDS = frozenset(
    """
    di da del della delle dei degli il lo la le li gli un una uno per con non che nel nella
    al alla ai su sono come ma el los las de en por para que es se mi tu te ti su lo una esta
    este esto pero mas como muy et les des du au aux une est pas qui sur avec mais ou ce cette
    ces je il nous vous ils elle und der die das den dem des ein eine einer ist nicht mit zu
    auf ich sie wir ihr es im dass auch oder aber wie noch nur vom zum zur em os ao na no
    """.split()
)

_WORD = re.compile(r"(?u)\b(?=\w*[^\W\d_])\w+(?:['’]\w+)*\b")
_POSSESSIVE = re.compile(r"['’]s$")
_JAMO = re.compile(r"[\u1100-\u11ff\u3130-\u318f]")


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English (scikit-learn's list), Korean, chat filler, contraction pieces and common
    function words of other Latin-script languages, lower case."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return (
        frozenset(ENGLISH_STOP_WORDS) | KOREAN_STOP_WORDS | CHAT_FILLER | CONTRACTION_PIECES
        | FOREIGN_STOP_WORDS
    )


def _latin_words(text: str, stop: frozenset[str]) -> list[str]:
    """Words of 2+ letters outside ``stop``; a contraction is dropped whole ("don't"), a
    possessive loses its 's ("python's" -> "python"), bare jamo (ㅋㅋ) is laughter."""
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        if "'" in token or "’" in token:
            token = _POSSESSIVE.sub("", token)
            if "'" in token or "’" in token:
                continue
        if len(token) < 2 or token in stop or _JAMO.search(token):
            continue
        out.append(token)
    return out


def tokenize(text: str) -> list[str]:
    """Lower-cased content words without stop words or chat filler.

    A text with Hangul goes through kiwipiepy (``korean.content_morphemes``): nouns and roots
    without their particles (서울에서 -> 서울), and the Latin words inside it; other texts are
    split into words of two or more letters.
    """
    stop = stop_words()
    if not has_hangul(text):
        return _latin_words(text, stop)
    out: list[str] = []
    for form in content_morphemes(text):
        if form.isascii():
            out.extend(_latin_words(form, stop))
        elif form not in stop and not _JAMO.search(form):
            out.append(form)
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
