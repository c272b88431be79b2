"""Keywords for clusters (c-TF-IDF, ``ctfidf``) and for single documents (TF-IDF + MMR,
``mmr``), over the English and Korean words of ``tokens``; cluster names from keywords.

The pipeline's stages import these names from here; the submodules hold one job each.
"""

from tasks.pipeline.keywords.ctfidf import (
    FALLBACK_NAME,
    cluster_keywords,
    cluster_name,
    covering_order,
    term_words,
)
from tasks.pipeline.keywords.mmr import mmr_select, node_keywords
from tasks.pipeline.keywords.tokens import stop_words, tokenize, tokens_memoized

__all__ = [
    "FALLBACK_NAME",
    "cluster_keywords",
    "cluster_name",
    "covering_order",
    "mmr_select",
    "node_keywords",
    "stop_words",
    "term_words",
    "tokenize",
    "tokens_memoized",
]
