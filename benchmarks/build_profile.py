"""Where a graph build's seconds go on article-length data, beside BERTopic's fit.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/build_profile.py

On a seeded BBC News subset (500 articles by default), embedded once: ``build_graph`` as
the GPU worker runs it after embedding, cold (no term vector of an earlier job known) and
again (a rebuild, its terms known), timed stage by stage from its progress reports;
BERTopic's ``fit_transform`` on the same embeddings in the same run, for the ratios; the
quality of both (NMI / AMI), so a speed-up that moves quality shows; then one more cold
build under cProfile, its functions ranked by their own time, to name what is left.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import time
from typing import Any

from chat_histories import MAX_K, MIN_K, SEED, bbc, scores, warm_up

import tasks.pipeline  # noqa: F401  (before torch: the OpenMP wait policy the worker runs with)


def staged_build(items: list[Any], dense: Any, model: Any) -> tuple[dict, dict[str, float]]:
    """One build; the seconds up to each progress report, by the stage it ends."""
    from tasks.pipeline.graph import build_graph

    stages: dict[str, float] = {}
    last = time.perf_counter()

    def progress(stage: str, _fraction: float) -> None:
        nonlocal last
        now = time.perf_counter()
        stages[stage] = stages.get(stage, 0.0) + now - last
        last = now

    graph, _ = build_graph(items, dense, min_clusters=MIN_K, max_clusters=MAX_K,
                           embed=model.encode_terms, scripts=model.readable_scripts,
                           progress=progress)
    stages["after the last report"] = time.perf_counter() - last
    return graph, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bbc-limit", type=int, default=500, help="BBC articles (0: all)")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time")
    args = parser.parse_args()
    import torch
    from bertopic import BERTopic
    from umap import UMAP

    from tasks.pipeline.embedding import Embedder
    from tasks.pipeline.parsing import item_text

    torch.manual_seed(SEED)
    random.seed(SEED)
    model = Embedder(device="cpu").load()
    warm_up(model)
    items, truth = bbc(args.bbc_limit)
    texts = [item_text(item) for item in items]
    dense = model.encode(texts)

    model.forget_terms()
    started = time.perf_counter()
    graph, cold = staged_build(items, dense, model)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    _, again = staged_build(items, dense, model)
    rebuild_s = time.perf_counter() - started
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                random_state=SEED)
    started = time.perf_counter()
    topics, _ = BERTopic(umap_model=umap).fit_transform(texts, dense)
    bertopic_s = time.perf_counter() - started

    found = {n["id"]: n["clusterId"] for n in graph["nodes"]}
    ours, theirs = scores(truth, [found[i.id] for i in items]), scores(truth, topics)
    print(f"\nBBC ({len(items)} articles): k ours {len(graph['metadata']['clusters'])}, "
          f"BERTopic {len(set(topics) - {-1})}, true {len(set(truth))}; "
          f"NMI/AMI ours {ours['nmi']:.3f}/{ours['ami']:.3f}, "
          f"BERTopic {theirs['nmi']:.3f}/{theirs['ami']:.3f}")
    print(f"build cold {cold_s:.2f} s = {cold_s / bertopic_s:.2f}x BERTopic's {bertopic_s:.2f} s;"
          f" rebuild {rebuild_s:.2f} s = {rebuild_s / bertopic_s:.2f}x\n")
    print("| stage (ends with the report) | cold s | share | rebuild s |")
    print("|---|---|---|---|")
    for stage, seconds in cold.items():
        print(f"| {stage} | {seconds:.2f} | {seconds / cold_s:.0%} | {again.get(stage, 0):.2f} |")

    model.forget_terms()
    profile = cProfile.Profile()
    profile.enable()
    staged_build(items, dense, model)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print(f"\ncold build under cProfile, top {args.top} functions by own time:")
    text = out.getvalue()
    print(text[text.find("   ncalls"):])


if __name__ == "__main__":
    main()
