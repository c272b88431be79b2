"""Entities with an LLM: each chunk is asked for ``ENTITY:`` and ``RELATION:`` lines.

Answers are parsed leniently (markdown, numbering, parentheticals); a chunk whose answer does
not parse yields nothing here and falls back to key phrases.
"""

from __future__ import annotations

import re

from tasks.pipeline.microscope.chunking import Chunk, ChunkFinding
from tasks.pipeline.microscope.key_phrases import _LETTER
from tasks.pipeline.microscope.names import _HANGUL, normalise_entity_name

EXTRACTION_MAX_NEW_TOKENS = 256
MAX_ENTITY_NAME_WORDS = 8
MAX_ENTITY_NAME_CHARS = 80


_LLM_LINE = re.compile(
    r"^[\s>*_`•-]*(?:\d+[.)][ \t]*)?[*_`]*(ENTITY|RELATION)[*_`]*[ \t]*[:：][ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def extraction_prompt(text: str, max_entities: int) -> str:
    """Asks for one entity or relation per line in a fixed, pipe-separated format."""
    return "\n".join(
        [
            "Extract the most important entities (people, organisations, places, works, "
            "concepts) from the text below, and the relations between them.",
            f"List at most {max_entities} entities. Answer with one item per line and nothing "
            "else, exactly in these formats:",
            "ENTITY: name | type",
            "RELATION: source name | relation | target name",
            "",
            "Text:",
            '"""',
            text,
            '"""',
        ]
    )


_PARENTHETICAL = re.compile(r"\s*\([^()]*\)\s*$")


def _field(text: str) -> str:
    """A field without markdown, quotes or runs of whitespace."""
    text = re.sub(r"\s+", " ", text.replace("**", "")).strip()
    text = _PARENTHETICAL.sub("", text)  # "Marie Curie (physicist)"
    return text.strip("\"'“”‘’`*[] ").strip()


def _usable_entity_name(name: str) -> bool:
    return (
        bool(_LETTER.search(name))
        and len(name) <= MAX_ENTITY_NAME_CHARS
        and len(name.split()) <= MAX_ENTITY_NAME_WORDS
    )


def parse_extraction(text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """``([(name, type)], [(source, relation, target)])`` from ``ENTITY:``/``RELATION:`` lines.

    Other lines are ignored; so are entities without a usable name and relations without
    three parts. Types and relations are lower-cased; a missing type is "concept".
    """
    entities: list[tuple[str, str]] = []
    relations: list[tuple[str, str, str]] = []
    for match in _LLM_LINE.finditer(text or ""):
        kind, parts = match.group(1).upper(), [_field(p) for p in match.group(2).split("|")]
        if kind == "ENTITY":
            if parts and _usable_entity_name(parts[0]):
                kind_of = parts[1].casefold() if len(parts) > 1 and parts[1] else "concept"
                entities.append((parts[0], kind_of))
        elif len(parts) >= 3 and all(parts[:3]):
            source, relation, target = parts[:3]
            if _usable_entity_name(source) and _usable_entity_name(target):
                relations.append((source, " ".join(relation.casefold().split()), target))
    return entities, relations


def locate(text: str, offset: int, surface: str) -> dict[int, str]:
    """Where ``surface`` occurs in ``text``, in any case, with a plural ending ("networks")
    or a possessive or Korean particle ("퀴리는") after it, which the recorded form drops."""
    words = [re.escape(w) for w in surface.split()]
    if not words:
        return {}
    core = r"(?P<core>" + r"\s+".join(words) + r"(?:s|es)?)"
    tail = r"[\uac00-\ud7a3]{0,4}" if _HANGUL.search(surface[-1]) else r"(?:['’]s)?"
    found = re.finditer(r"(?<!\w)" + core + tail + r"(?!\w)", text, re.IGNORECASE)
    return {offset + m.start(): " ".join(m.group("core").split()) for m in found}


def llm_finding(
    chunk: Chunk, index: int, answer: str, max_entities: int
) -> ChunkFinding | None:
    """A chunk's entities and relations from an LLM answer; ``None`` when it has no entity.

    Relation endpoints not listed as entities join them while there is room.
    """
    named, stated = parse_extraction(answer)
    finding = ChunkFinding(chunk, "llm")

    def add(name: str, kind: str) -> str | None:
        key = normalise_entity_name(name)
        if not key:
            return None
        if key not in finding.entities:
            if len(finding.entities) >= max_entities:
                return None
            finding.entities[key] = (kind, locate(chunk.text, chunk.start, name) or
                                     {-1 - index: name})
        return key

    for name, kind in named:
        add(name, kind)
    for source, relation, target in stated:
        a, b = add(source, "concept"), add(target, "concept")
        if a and b and a != b:
            finding.relations.append((a, relation or "related to", b))
    return finding if finding.entities else None
