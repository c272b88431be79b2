"""Topic quality as the BERTopic paper measures it, and edge quality on split documents.

* ``npmi``: NPMI coherence of each topic's top 10 words, averaged over word pairs and
  topics, with probabilities from boolean document co-occurrence over the corpus (a pair
  that never co-occurs scores -1); a document's words are its scikit-learn tokens and the
  pipeline's terms, so either side's topic words are found. The paper uses OCTIS (gensim's
  ``c_npmi``, 10-word sliding windows), so absolute values differ from its .170; ours and
  BERTopic's are measured alike.
* ``diversity``: the unique share of the top 25 words of all topics.
* ``split_documents``: each document cut into two halves by paragraphs, the halves' origin
  beside them, and ``same_origin_scores``: precision (edges joining halves of one document)
  and recall (documents whose halves are joined) of a graph's edges.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

WORD = re.compile(r"(?u)\b[^\W\d_]{2,}\b")


def words(text: str) -> list[str]:
    """Lower-case words of two or more letters (scikit-learn's default token pattern, less
    digits): the reference corpus's tokens and the form topic words are compared in."""
    return WORD.findall(text.lower())


def topic_words(terms: Sequence[str], n: int) -> list[str]:
    """A topic's first ``n`` distinct words, phrases cut into their words ("prime minister")."""
    out: list[str] = []
    for term in terms:
        for word in words(term):
            if word not in out:
                out.append(word)
    return out[:n]


def npmi(topics: Sequence[Sequence[str]], texts: Sequence[str], top_n: int = 10) -> float:
    """Mean NPMI of each topic's top ``top_n`` words over the documents ``texts``."""
    from tasks.pipeline.keywords import tokenize

    # Our pipeline's terms too (kiwipiepy's nouns: a Korean word is written with its particle).
    documents = [set(words(t)) | {w.lower() for w in tokenize(t)} for t in texts]
    vocabulary = sorted({w for topic in topics for w in topic_words(topic, top_n)})
    index = {w: i for i, w in enumerate(vocabulary)}
    present = np.zeros((len(documents), len(vocabulary)), dtype=np.float64)
    for d, doc in enumerate(documents):
        for w in doc & index.keys():
            present[d, index[w]] = 1.0
    n = len(documents)
    p_one = present.sum(axis=0) / n
    p_two = (present.T @ present) / n
    scores = []
    for topic in topics:
        ids = [index[w] for w in topic_words(topic, top_n)]
        pairs = []
        for a, b in combinations(ids, 2):
            joint = p_two[a, b]
            if joint <= 0:
                pairs.append(-1.0)
                continue
            pmi = np.log(joint / (p_one[a] * p_one[b]))
            pairs.append(1.0 if joint >= 1.0 else float(pmi / -np.log(joint)))
        if pairs:
            scores.append(float(np.mean(pairs)))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topics: Sequence[Sequence[str]], top_n: int = 25) -> float:
    """Unique share of the top ``top_n`` words of all topics (1: no word shared)."""
    tops = [topic_words(topic, top_n) for topic in topics]
    total = sum(len(t) for t in tops)
    return len({w for t in tops for w in t}) / total if total else float("nan")


def split_documents(items: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Each item cut into two halves by paragraphs (the second titled by its first line),
    and the index of the item each half came from."""
    from tasks.pipeline.parsing import SourceItem

    halves, origin = [], []
    for n, item in enumerate(items):
        paragraphs = [p for p in item.text.split("\n") if p.strip()]
        if len(paragraphs) < 2:
            continue
        cut = len(paragraphs) // 2
        for h, part in enumerate((paragraphs[:cut], paragraphs[cut:])):
            halves.append(SourceItem(id=f"{item.id}-{h}", title=item.title if h == 0
                                     else part[0][:60], text="\n".join(part), timestamp=None,
                                     num_sections=len(part)))
            origin.append(n)
    return halves, origin


def same_origin_scores(edges: Sequence[dict[str, Any]], origin_of: dict[str, int]
                       ) -> dict[str, float]:
    """Precision, recall, the share of ``low`` edges and the nodes left without an edge."""
    same = [origin_of[e["source"]] == origin_of[e["target"]] for e in edges]
    joined = {origin_of[e["source"]] for e, s in zip(edges, same, strict=True) if s}
    linked = {v for e in edges for v in (e["source"], e["target"])}
    return {
        "edges": len(edges),
        "precision": float(np.mean(same)) if edges else float("nan"),
        "recall": len(joined) / len(set(origin_of.values())),
        "low_share": sum(e["confidence"] == "low" for e in edges) / max(1, len(edges)),
        "isolated": len(set(origin_of) - linked),
    }
