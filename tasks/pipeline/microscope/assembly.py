"""A document's entity graph from its chunks' findings: entities merged by id, relations
weighted by the chunks that state them, each with a quote as evidence."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import Any

from tasks.pipeline.errors import InputError
from tasks.pipeline.llm import TextGenerator
from tasks.pipeline.microscope.chunking import Chunk, ChunkFinding
from tasks.pipeline.microscope.key_phrases import (
    MAX_PHRASE_WORDS,
    NAME_BOOST,
    key_phrase_findings,
    mask_markup,
    phrase_mentions,
    sentence_spans,
)
from tasks.pipeline.microscope.llm_extraction import (
    EXTRACTION_MAX_NEW_TOKENS,
    extraction_prompt,
    llm_finding,
    locate,
)

logger = logging.getLogger(__name__)

EVIDENCE_CHARS = 300
#: Evidence quotes kept per relation; ``weight`` still counts every chunk.
MAX_EVIDENCE = 5


def trim(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """Whitespace collapsed and cut at a word boundary to ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


@functools.lru_cache(maxsize=64)
def sentence_keys(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[frozenset[str], ...]]:
    """A chunk's sentence spans and the phrase keys in each (cached: one chunk, many pairs)."""
    spans = tuple(sentence_spans(mask_markup(text)))
    keys: list[set[str]] = [set() for _ in spans]
    for m in phrase_mentions(text, 0):
        keys[m.sentence].add(m.key)
    return spans, tuple(frozenset(k) for k in keys)


def evidence_text(finding: ChunkFinding, source: str, target: str) -> str:
    """The first sentence of the chunk naming both entities, else the chunk's beginning."""
    text = finding.chunk.text
    spans, keys = sentence_keys(text)
    surfaces = {k: set(finding.entities[k][1].values()) for k in (source, target)}

    def named(i: int, key: str) -> bool:
        a, b = spans[i]
        return key in keys[i] or any(locate(text[a:b], 0, s) for s in surfaces[key])

    for i, (a, b) in enumerate(spans):
        if named(i, source) and named(i, target):
            return trim(text[a:b])
    return trim(text)


def assemble(findings: list[ChunkFinding]) -> tuple[list[dict], list[dict]]:
    """Entities merged by id across chunks and relations weighted by chunk count."""
    mentions: dict[str, dict[int, str]] = {}
    kinds: dict[str, Counter[tuple[bool, str]]] = {}
    chunk_ids: dict[str, list[str]] = {}
    for finding in findings:
        for key, (kind, located) in finding.entities.items():
            mentions.setdefault(key, {}).update(located)
            # An LLM's type ("person") is more specific than a key phrase's ("name").
            kinds.setdefault(key, Counter())[(finding.method == "llm", kind)] += 1
            chunk_ids.setdefault(key, []).append(finding.chunk.id)
    entities = [
        {
            "id": key,
            "name": Counter(located.values()).most_common(1)[0][0],
            "type": max(kinds[key].items(), key=lambda item: (item[0][0], item[1]))[0][1],
            "mentions": len(located),
            "chunkIds": chunk_ids[key],
        }
        for key, located in mentions.items()
    ]
    entities.sort(key=lambda e: (-e["mentions"], e["id"]))

    relations: dict[tuple[str, str, str], dict[str, Any]] = {}
    for finding in findings:
        for source, kind, target in dict.fromkeys(finding.relations):
            relation = relations.setdefault(
                (source, kind, target),
                {"source": source, "target": target, "type": kind, "weight": 0, "evidence": []},
            )
            relation["weight"] += 1
            if len(relation["evidence"]) < MAX_EVIDENCE:
                relation["evidence"].append(
                    {"chunkId": finding.chunk.id,
                     "text": evidence_text(finding, source, target)}
                )
    ordered = sorted(
        relations.values(), key=lambda r: (-r["weight"], r["source"], r["target"], r["type"])
    )
    return entities, ordered


def extract_graph(
    chunks: list[Chunk],
    *,
    generator: TextGenerator | None = None,
    max_entities_per_chunk: int = 8,
    max_entities: int | None = None,
) -> dict:
    """The document's ``{entities, relations, chunks, extraction}`` (see the module docstring).

    With a ``generator`` every chunk is sent to the LLM; chunks whose answer fails or does not
    parse use key phrases instead and are listed in ``extraction.fallbackChunks``. More
    than ``max_entities`` distinct entities fail the document.
    """
    if not chunks:
        raise InputError("document: there are no chunks to extract entities from")
    if max_entities_per_chunk < 1:
        raise InputError("document: max_entities_per_chunk must be at least 1")
    findings: list[ChunkFinding | None] = [None] * len(chunks)
    if generator is not None:
        for index, chunk in enumerate(chunks):
            prompt = extraction_prompt(chunk.text, max_entities_per_chunk)
            try:
                answer = generator.generate(prompt, max_new_tokens=EXTRACTION_MAX_NEW_TOKENS)
            except Exception as exc:  # one chunk's failure must not fail the document
                logger.warning("LLM extraction failed on %s, using key phrases: %s", chunk.id, exc)
                continue
            findings[index] = llm_finding(
                chunk, index, answer if isinstance(answer, str) else "", max_entities_per_chunk
            )
    # Key phrases are scored across all chunks (IDF), then used where the LLM gave nothing.
    if any(f is None for f in findings):
        fallback = key_phrase_findings(chunks, max_entities_per_chunk)
        findings = [f if f is not None else fallback[i] for i, f in enumerate(findings)]
    done = [f for f in findings if f is not None]
    entities, relations = assemble(done)
    if max_entities is not None and len(entities) > max_entities:
        raise InputError(f"document: {len(entities):,} entities, over the limit of "
                         f"{max_entities:,} (GRAPHNODE_MAX_DOCUMENT_ENTITIES)")
    llm_chunks = sum(f.method == "llm" for f in done)
    return {
        "entities": entities,
        "relations": relations,
        "chunks": [{"id": c.id, "start": c.start, "end": c.end} for c in chunks],
        "extraction": {
            "method": "llm" if llm_chunks else "key-phrase",
            "chunkCount": len(chunks),
            "llmChunks": llm_chunks,
            "fallbackChunks": (
                [f.chunk.id for f in done if f.method != "llm"] if generator is not None else []
            ),
            "maxEntitiesPerChunk": max_entities_per_chunk,
            "keyPhrase": {
                "ngrams": [1, MAX_PHRASE_WORDS],
                "stopWords": ["english", "korean"],
                "nameBoost": NAME_BOOST,
            },
        },
    }
