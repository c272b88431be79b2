"""The GPU worker's AI pipeline: parse exports, embed, cluster, link, label, assemble the graph.

Nothing heavy is imported here, so ``import tasks.pipeline.<module>`` stays cheap; torch,
sentence-transformers, faiss and hdbscan load only inside the functions that use them.
"""
