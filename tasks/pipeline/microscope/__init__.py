"""MICROSCOPE_INGEST: one workspace document -> overlapping chunks -> entity/relation graph.

Two extractors share one output shape. Without an LLM, entities are key phrases (runs of up to
three non-stop words, scored by TF-IDF across the document's chunks) and relations are
co-occurrences within a chunk. With an LLM, each chunk is asked for ``ENTITY:`` and
``RELATION:`` lines; a chunk whose answer does not parse falls back to key phrases, so one bad
answer costs one chunk's precision, never the job.

Entity ids are normalised names, so the result worker can merge the graphs of a workspace's
documents by id ("Neural Networks" here and "neural network" there are one entity).

Modules: ``chunking`` (windows), ``names`` (entity ids), ``key_phrases``, ``llm_extraction``
and ``assembly`` (merging into the document graph, ``extract_graph``).
"""

from tasks.pipeline.microscope.assembly import extract_graph
from tasks.pipeline.microscope.chunking import Chunk, chunk_document

__all__ = ["Chunk", "chunk_document", "extract_graph"]
