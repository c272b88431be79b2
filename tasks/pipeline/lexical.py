"""One vector per item from a dense embedding and a lexical representation of its text.

The bundled MiniLM reads English: to it a Korean conversation is a string of jamo and its
embedding says little more than "Korean". So each item's vector joins two parts, weighted by
how much of the item's text the embedding model can read (``readable_share``: the share of its
letters in scripts the model's vocabulary covers):

    vector = [sqrt(r) * dense, sqrt(1 - r) * lexical]        (a unit vector: both parts are)

``lexical`` is TF-IDF over the same terms the keywords use (kiwipiepy nouns for Korean, words
for other scripts, stop words and chat filler removed), reduced by truncated SVD and
normalised. An English text keeps its dense embedding (r = 1), a Korean one is placed mostly by
its words, a mixed one by both; clustering, edges and add-node all use these vectors. When
every text is readable (an English corpus, or a multilingual ``EMBEDDING_MODEL``), no lexical
part is fitted at all and the vectors are the embeddings.

The fitted ``Lexicon`` (terms, idf, SVD components) is stored with the graph's features so
that add-node projects new items into the same space.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.pipeline.vectors import l2_normalize

#: Below this readable share of some text, a lexical part is fitted.
LEXICAL_BELOW = 0.9
#: From this readable share on, a text's node keywords are chosen against its embedding.
MODEL_READS_FROM = 0.5
#: Dimensions of the lexical part (bounded by the corpus).
LEXICAL_DIMENSIONS = 64
#: Most terms kept in the lexicon (by document frequency), which bounds its stored size.
MAX_TERMS = 6000
#: A script counts as readable by a model whose vocabulary has this many words in it.
MIN_SCRIPT_WORDS = 300
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


@functools.lru_cache(maxsize=8192)
def script_of(char: str) -> str:
    """The Unicode script of a letter as the first word of its name (LATIN, HANGUL, CJK...)."""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def vocabulary_scripts(tokens: Iterable[str], min_words: int = MIN_SCRIPT_WORDS) -> frozenset[str]:
    """Scripts in which a tokenizer's vocabulary has at least ``min_words`` whole words.

    Word pieces of two or more letters count (``##ing``, ``▁서울``); an English WordPiece
    vocabulary holds single Hangul jamo, which let it tokenize Korean without reading it.
    """
    counts: dict[str, int] = {}
    for token in tokens:
        word = token.lstrip("#▁Ġ")
        if len(word) >= 2 and word.isalpha():
            script = script_of(word[0])
            counts[script] = counts.get(script, 0) + 1
    return frozenset(s for s, c in counts.items() if c >= min_words)


def readable_share(text: str, scripts: frozenset[str] | None) -> float:
    """Share of ``text``'s letters in ``scripts`` (1.0 with no letters, or ``scripts`` None)."""
    if scripts is None:
        return 1.0
    ascii_letters = len(_ASCII_LETTER.findall(text))  # a regex: 10x a loop over characters
    others = [c for c in _NON_ASCII.findall(text) if c.isalpha()]
    total = ascii_letters + len(others)
    if total == 0:
        return 1.0
    readable = (ascii_letters if "LATIN" in scripts else 0) + sum(
        1 for c in others if script_of(c) in scripts
    )
    return readable / total


def model_reads(texts: Sequence[str], scripts: frozenset[str] | None) -> list[bool]:
    """Per text, whether the embedding model reads most of it (``MODEL_READS_FROM``)."""
    return [readable_share(t, scripts) >= MODEL_READS_FROM for t in texts]


@dataclass
class Lexicon:
    """What projects a text into the lexical space: terms, their idf, the SVD components."""

    terms: list[str]
    idf: np.ndarray  # (terms,)
    components: np.ndarray  # (dimensions, terms)

    @property
    def dimensions(self) -> int:
        return int(self.components.shape[0])

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Unit rows (zero where a text has none of the terms): sublinear TF-IDF, projected."""
        from scipy.sparse import csr_matrix
        from sklearn.preprocessing import normalize

        from tasks.pipeline.keywords import tokenize

        index = {t: i for i, t in enumerate(self.terms)}
        rows, cols, vals = [], [], []
        for row, text in enumerate(texts):
            counts: dict[int, int] = {}
            for token in tokenize(text):
                col = index.get(token)
                if col is not None:
                    counts[col] = counts.get(col, 0) + 1
            for col, count in counts.items():
                rows.append(row)
                cols.append(col)
                vals.append((1.0 + np.log(count)) * self.idf[col])
        tfidf = csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.terms)))
        tfidf = normalize(tfidf, norm="l2")
        return l2_normalize(np.asarray(tfidf @ self.components.T))

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": self.terms,
            "idf": np.round(self.idf, 5).tolist(),
            "components": np.round(self.components, 5).tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lexicon:
        return cls(
            terms=list(data["terms"]),
            idf=np.asarray(data["idf"], dtype=np.float64),
            components=np.asarray(data["components"], dtype=np.float64),
        )


def fit_lexicon(texts: Sequence[str], random_state: int = 42) -> Lexicon | None:
    """TF-IDF over ``keywords.tokenize`` terms, reduced by truncated SVD; ``None`` when the
    texts share too few terms to span a space."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tasks.pipeline.keywords import tokenize

    vectorizer = TfidfVectorizer(
        tokenizer=tokenize, token_pattern=None, lowercase=False, sublinear_tf=True,
        min_df=2 if len(texts) >= 20 else 1, max_df=0.5 if len(texts) >= 20 else 1.0,
        max_features=MAX_TERMS, dtype=np.float64,
    )
    try:
        tfidf = vectorizer.fit_transform(texts)
    except ValueError:  # no terms at all
        return None
    dims = min(LEXICAL_DIMENSIONS, tfidf.shape[1] - 1, len(texts) - 1)
    if dims < 2:
        return None
    svd = TruncatedSVD(n_components=dims, algorithm="randomized", random_state=random_state)
    svd.fit(tfidf)
    return Lexicon(
        terms=[str(t) for t in vectorizer.get_feature_names_out()],
        idf=vectorizer.idf_.astype(np.float64),
        components=svd.components_.astype(np.float64),
    )


def combine(dense: np.ndarray, lexical: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``[sqrt(r) * dense, sqrt(1 - r) * lexical]`` per row, re-normalised (float32).

    A text with none of the lexicon's terms (a short Korean chat whose words occur nowhere
    else) keeps its dense part alone: a zero row would have no direction at all."""
    r = np.clip(np.asarray(shares, dtype=np.float64), 0.0, 1.0)[:, None]
    r = np.where(np.linalg.norm(lexical, axis=1, keepdims=True) > 0, r, 1.0)
    joined = np.hstack([np.sqrt(r) * l2_normalize(dense), np.sqrt(1.0 - r) * lexical])
    return l2_normalize(joined).astype(np.float32)


def item_vectors(
    texts: Sequence[str], dense: np.ndarray, scripts: frozenset[str] | None
) -> tuple[np.ndarray, Lexicon | None]:
    """The vectors a graph is built from, and the lexicon fitted for them (or ``None``)."""
    unit = l2_normalize(dense).astype(np.float32)
    shares = np.array([readable_share(t, scripts) for t in texts])
    if len(texts) == 0 or shares.min() >= LEXICAL_BELOW:
        return unit, None
    lexicon = fit_lexicon(texts)
    if lexicon is None:
        return unit, None
    return combine(unit, lexicon.transform(texts), shares), lexicon


def project(
    texts: Sequence[str], dense: np.ndarray, scripts: frozenset[str] | None,
    lexicon: Lexicon | None,
) -> np.ndarray:
    """New items' vectors in a stored graph's space (its ``lexicon``, if it has one)."""
    unit = l2_normalize(dense).astype(np.float32)
    if lexicon is None:
        return unit
    shares = np.array([readable_share(t, scripts) for t in texts])
    return combine(unit, lexicon.transform(texts), shares)
