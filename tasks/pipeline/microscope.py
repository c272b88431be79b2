"""MICROSCOPE_INGEST: one workspace document -> overlapping chunks -> entity/relation graph.

Two extractors share one output shape. Without an LLM, entities are key phrases (runs of up to
three non-stop words, scored by TF-IDF across the document's chunks) and relations are
co-occurrences within a chunk. With an LLM, each chunk is asked for ``ENTITY:`` and
``RELATION:`` lines; a chunk whose answer does not parse falls back to key phrases, so one bad
answer costs one chunk's precision, never the job.

Entity ids are normalised names, so the result worker can merge the graphs of a workspace's
documents by id ("Neural Networks" here and "neural network" there are one entity).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tasks.pipeline.errors import InputError
from tasks.pipeline.keywords import mmr_select
from tasks.pipeline.keywords import stop_words as keyword_stop_words
from tasks.pipeline.korean import korean_stem
from tasks.pipeline.llm import TextGenerator
from tasks.pipeline.parsing import _FENCED, _URL_START

logger = logging.getLogger(__name__)

MAX_PHRASE_WORDS = 3
#: Score multiplier for capitalised names ("Marie Curie") over common-noun phrases.
NAME_BOOST = 2.0
#: Score bonus per extra word, so "marie curie" beats its own parts "marie" and "curie".
PHRASE_BONUS = 0.25
EVIDENCE_CHARS = 300
#: Evidence quotes kept per relation; ``weight`` still counts every chunk.
MAX_EVIDENCE = 5
EXTRACTION_MAX_NEW_TOKENS = 256
MAX_ENTITY_NAME_WORDS = 8
MAX_ENTITY_NAME_CHARS = 80
#: Words that are not stop words to scikit-learn but never make an entity on their own.
EXTRA_STOP_WORDS = frozenset(
    "said says say got get gets make makes made use uses used using like just really also "
    "way thing things lot lots let know knew think thought want wanted need needed went came "
    "took gave became began known called born died won lost told held left yes okay ok sure "
    "maybe actually basically".split()
)
#: Plural-looking words whose final "s" is not a plural.
_NOT_PLURAL = frozenset(
    "news series species physics mathematics economics politics statistics ethics robotics "
    "genomics linguistics electronics analytics logistics athletics graphics gymnastics "
    "kubernetes windows macos ios aws chaos thanks means lens bias canvas atlas gas alias "
    "corpus status virus campus bonus focus census apparatus".split()
)
_ES_PLURAL = re.compile(r"(?:sses|xes|zes|ches|shes)$")
_NOT_ES_PLURAL = frozenset("caches niches headaches avalanches moustaches".split())
#: Plurals of words ending in "ie" or "u", which the suffix rules would get wrong.
_S_PLURAL = frozenset(
    "movies cookies calories zombies rookies selfies smoothies brownies hippies goodies pies "
    "ties lies curies menus gurus haikus".split()
)


@dataclass(frozen=True)
class Chunk:
    """A window of the document; ``text == document[start:end]``."""

    id: str
    text: str
    start: int
    end: int


# --- chunking ------------------------------------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])\s*|\n\s*")
_WORD_BREAK = re.compile(r"\s+")


def _break_points(pattern: re.Pattern[str], text: str) -> list[int]:
    """Offsets where a new paragraph / sentence / word starts (just after the break)."""
    return [m.end() for m in pattern.finditer(text)]


def _last_in(points: list[int], lo: int, hi: int) -> int | None:
    """The largest point in ``[lo, hi]``."""
    i = bisect.bisect_right(points, hi) - 1
    return points[i] if i >= 0 and points[i] >= lo else None


def _first_in(points: list[int], lo: int, hi: int) -> int | None:
    """The smallest point in ``[lo, hi)``."""
    i = bisect.bisect_left(points, lo)
    return points[i] if i < len(points) and points[i] < hi else None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def chunk_document(text: str, chunk_chars: int = 1200, overlap: int = 200,
                   max_chunks: int | None = None) -> list[Chunk]:
    """Overlapping windows of at most ``chunk_chars`` characters covering every word of ``text``.

    A window ends at the last paragraph break in its second half, else the last sentence end,
    else the last space; the next one starts at the first sentence (else word) start within
    ``overlap`` characters before that end, so a sentence cut by one window is whole in the
    next. Offsets index the original text; surrounding whitespace is trimmed. More than
    ``max_chunks`` windows fail the document as soon as the next one would be made.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError("document: the text is empty")
    if chunk_chars < 1:
        raise InputError(f"document: chunk_chars must be positive, got {chunk_chars}")
    if not 0 <= overlap < chunk_chars:
        raise InputError(f"document: overlap must be in [0, {chunk_chars}), got {overlap}")
    levels = [_break_points(p, text) for p in (_PARAGRAPH_BREAK, _SENTENCE_BREAK, _WORD_BREAK)]
    chunks: list[Chunk] = []
    last = len(text.rstrip())
    start = _skip_space(text, 0)
    while start < last:
        if max_chunks is not None and len(chunks) >= max_chunks:
            raise InputError(f"document: more than the limit of {max_chunks:,} chunks "
                             "(GRAPHNODE_MAX_DOCUMENT_CHUNKS)")
        hard = start + chunk_chars
        if hard >= len(text):
            end = len(text)
        else:
            lo = start + chunk_chars // 2
            cuts = (_last_in(points, lo, hard) for points in levels)
            end = next((c for c in cuts if c is not None), hard)
        stop = len(text[start:end].rstrip()) + start
        chunks.append(Chunk(f"chunk-{len(chunks)}", text[start:stop], start, stop))
        if end >= last:
            break
        nxt = end
        if overlap:
            lo = max(end - overlap, start + max(1, (chunk_chars - overlap) // 2))
            starts = (_first_in(points, lo, end) for points in levels[1:])
            nxt = next((s for s in starts if s is not None), lo)
        start = _skip_space(text, nxt)
    return chunks


# --- names ---------------------------------------------------------------------------------

_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b|(?<=s)['’](?!\w)", re.IGNORECASE)
_INITIALISM = re.compile(r"\b(?:\w\.){2,}")
_ACRONYM_PLURAL = re.compile(r"[A-Z0-9]{2,}s")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_SSANG_SIOS = 20  # index of ㅆ among the final consonants of a Hangul syllable
_NON_WORD = re.compile(r"[^\w\s+#-]|_")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an) (?=\S)")


def singular(word: str) -> str:
    """A naive English singular of a lower-case word; others (Hangul, digits) are unchanged."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha() or word in _NOT_PLURAL:
        return word
    if word in _S_PLURAL:
        return word[:-1]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if _ES_PLURAL.search(word) and word not in _NOT_ES_PLURAL:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=65536)
def normalise_entity_name(name: str) -> str:
    """The id of an entity: NFKC, casefolded, no punctuation or possessive, last word singular.

    "Marie Curie's", "marie  curie" and "MARIE CURIE" are one entity, and so are "Neural
    Networks" and "neural network", "GPUs" and "GPU", "U.S." and "US". "C++" and "C#" keep
    their symbols. Hangul is kept (NFKC composes decomposed jamo); a Korean particle ending
    the name is dropped with korean.py's ``korean_stem`` (kiwipiepy) ("마리 퀴리는" -> "마리 퀴리").
    """
    text = unicodedata.normalize("NFKC", name).strip()
    text = _INITIALISM.sub(lambda m: m.group(0).replace(".", ""), text)
    words = _NON_WORD.sub(" ", _POSSESSIVE.sub("", text)).split()
    words = [w for w in (w.lstrip("+#-").rstrip("-") for w in words) if w]
    if not words:
        return ""
    last = words[-1]
    if _ACRONYM_PLURAL.fullmatch(last):
        last = last[:-1]
    elif _HANGUL.search(last):  # particles attach to the phrase's end: 퀴리는, 퀴리가 -> 퀴리
        last = korean_stem(last) or last
    else:
        last = singular(last.casefold())
    words = [w.casefold() for w in words[:-1]] + [last.casefold()]
    return _LEADING_ARTICLE.sub("", " ".join(words))


# --- key phrases ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_LETTER = re.compile(r"[^\W\d_]")
_CONTRACTION = re.compile(r"['’](?:t|re|ve|ll|d|m)$")
# Masks a URL up to the next whitespace (parsing's _URL stops at < > " as well).
_URL = re.compile(_URL_START + r"\S+", re.IGNORECASE)


@functools.cache
def stop_words() -> frozenset[str]:
    """keywords.py's English and Korean stop words plus words that are never entities."""
    return keyword_stop_words() | EXTRA_STOP_WORDS


def mask_markup(text: str) -> str:
    """Code blocks and URLs blanked out with spaces, so offsets still index the original."""
    for pattern in (_FENCED, _URL):
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each non-blank sentence or line of ``text``."""
    bounds = [0, *_break_points(_SENTENCE_BREAK, text), len(text)]
    spans = []
    for a, b in itertools.pairwise(bounds):
        segment = text[a:b]
        if segment.strip():
            lead = len(segment) - len(segment.lstrip())
            spans.append((a + lead, a + len(segment.rstrip())))
    return spans


@dataclass(frozen=True)
class Mention:
    """A candidate phrase at a document offset, in sentence ``sentence`` of its chunk."""

    key: str
    surface: str
    start: int
    end: int
    words: int
    is_name: bool
    sentence: int


def _content_word(token: str) -> bool:
    """A word that may be part of a phrase: letters, two or more characters, not a stop word."""
    bare = _POSSESSIVE.sub("", token).casefold()
    if _CONTRACTION.search(bare) or not _LETTER.search(bare) or bare in stop_words():
        return False
    if _HANGUL.search(bare):  # one syllable can be a word (책); predicates (했습니다) are not
        stem = korean_stem(bare)
        return stem is not None and stem not in stop_words() and not _korean_past(bare)
    return len(bare) >= 2


def _korean_past(word: str) -> bool:
    """A Korean past-tense predicate (만났다, 갔다): 다 after a syllable ending in ㅆ."""
    if len(word) < 2 or not word.endswith("다") or not _HANGUL.match(word[-2]):
        return False
    return (ord(word[-2]) - 0xAC00) % 28 == _SSANG_SIOS


def _ends_phrase(token: str) -> bool:
    """A possessive ("Curie's lab") or a Korean particle ("퀴리는 방사능") ends a phrase."""
    if _POSSESSIVE.search(token):
        return True
    return bool(_HANGUL.search(token)) and korean_stem(token.casefold()) != token.casefold()


def _surface(token: str, last: bool) -> str:
    """How a word reads in an entity's name: the last word loses a possessive or particle."""
    if not last:
        return token
    if _HANGUL.search(token):
        return korean_stem(token) or token
    return _POSSESSIVE.sub("", token)


def _verb_like(word: str) -> bool:
    """A past-tense-looking word ("discovered"): it never ends a concept phrase."""
    return len(word) > 4 and word.endswith("ed") and not word.endswith("eed")


def _runs(sentence: str) -> Iterable[list[re.Match[str]]]:
    """Maximal runs of content words, broken by stop words, punctuation and possessives."""
    run: list[re.Match[str]] = []
    for match in _TOKEN.finditer(sentence):
        token = match.group(0)
        if not _content_word(token):
            if run:
                yield run
            run = []
            continue
        run.append(match)
        if _ends_phrase(token):
            yield run
            run = []
    if run:
        yield run


def phrase_mentions(text: str, offset: int = 0) -> list[Mention]:
    """Every 1-3 word phrase inside a run of content words, with its document offset.

    A phrase is a name when every word is capitalised, and a single word only when it is not
    the first word of its sentence (where every word is capitalised).
    """
    masked = mask_markup(text)
    mentions: list[Mention] = []
    for index, (a, b) in enumerate(sentence_spans(masked)):
        first_word = next((m.start() for m in _TOKEN.finditer(masked[a:b])
                           if _LETTER.search(m.group(0))), -1)
        for run in _runs(masked[a:b]):
            for i in range(len(run)):
                for n in range(1, MAX_PHRASE_WORDS + 1):
                    if i + n > len(run):
                        break
                    words = run[i:i + n]
                    surface = " ".join(
                        _surface(w.group(0), j == n - 1) for j, w in enumerate(words)
                    )
                    capitalised = all(w.group(0)[0].isupper() for w in words)
                    is_name = capitalised and (n > 1 or words[0].start() != first_word)
                    key = normalise_entity_name(surface)
                    if not key or (not is_name and _verb_like(key.split()[-1])):
                        continue
                    start, end = offset + a + words[0].start(), offset + a + words[-1].end()
                    mentions.append(Mention(key, surface, start, end, n, is_name, index))
    return mentions


def _document_stats(per_chunk: list[list[Mention]]) -> tuple[Counter[str], Counter[str]]:
    """Occurrences and name-like occurrences of each key, counting overlapped text once."""
    seen: set[tuple[str, int]] = set()
    freq: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for mentions in per_chunk:
        for m in mentions:
            if (m.key, m.start) in seen:
                continue
            seen.add((m.key, m.start))
            freq[m.key] += 1
            names[m.key] += m.is_name
    return freq, names


def independent(mentions: list[Mention], absorbers: set[str]) -> list[Mention]:
    """Mentions not inside a longer mention of a recurring phrase ("curie" in "Marie Curie").

    Otherwise every part of a name counts as often as the name itself, and the parts, being
    more frequent overall, push the name out (as in the C-value method for nested terms).
    """
    covers = [m for m in mentions if m.key in absorbers]
    return [
        m for m in mentions
        if not any(c.words > m.words and c.start <= m.start and m.end <= c.end for c in covers)
    ]


def _tfidf(per_chunk: list[list[str]]) -> list[dict[str, float]]:
    """Sublinear TF times smoothed IDF (scikit-learn's formula) of keys per chunk."""
    df: Counter[str] = Counter()
    for keys in per_chunk:
        df.update(set(keys))
    n = len(per_chunk)
    idf = {k: math.log((1 + n) / (1 + d)) + 1 for k, d in df.items()}
    return [{k: (1 + math.log(c)) * idf[k] for k, c in Counter(keys).items()}
            for keys in per_chunk]


@dataclass
class ChunkFinding:
    """What one chunk yielded: entities (with mentions) and relations, before merging."""

    chunk: Chunk
    method: str
    #: key -> (type, {document offset (or -1 - chunk index when not located): surface})
    entities: dict[str, tuple[str, dict[int, str]]] = field(default_factory=dict)
    #: (source key, relation type, target key)
    relations: list[tuple[str, str, str]] = field(default_factory=list)


def key_phrase_findings(chunks: list[Chunk], max_entities: int) -> list[ChunkFinding]:
    """Top TF-IDF phrases per chunk (names boosted, thinned with MMR); co-occurrence relations.

    IDF across chunks alone would penalise the document's main subject, which is in every
    chunk, so scores also grow with ``1 + log`` of the phrase's count in the whole document.
    Multi-word common-noun phrases must occur twice in the document: a phrase used once is
    mostly an accident of word order ("curie won"), while names and single words are kept.
    """
    per_chunk = [phrase_mentions(c.text, c.start) for c in chunks]
    freq, name_votes = _document_stats(per_chunk)
    is_name = {k: 2 * name_votes[k] >= freq[k] for k in freq}
    words = {m.key: m.words for ms in per_chunk for m in ms}
    allowed = {k for k in freq if is_name[k] or words[k] == 1 or freq[k] >= 2}
    absorbers = {k for k in allowed if words[k] > 1 and freq[k] >= 2}
    per_chunk = [[m for m in independent(ms, absorbers) if m.key in allowed] for ms in per_chunk]
    freq, _ = _document_stats(per_chunk)
    scores = _tfidf([[m.key for m in ms] for ms in per_chunk])
    findings = []
    for chunk, mentions, tfidf in zip(chunks, per_chunk, scores, strict=True):
        ranked = {
            k: s
            * (1 + math.log(freq[k]))
            * (NAME_BOOST if is_name[k] else 1.0)
            * (1 + PHRASE_BONUS * (words[k] - 1))
            for k, s in tfidf.items()
        }
        order = sorted(ranked, key=lambda k: (-ranked[k], k))[: max_entities * 3]
        chosen = mmr_select(order, [ranked[k] for k in order], max_entities)
        finding = ChunkFinding(chunk, "key-phrase")
        for key in chosen:
            located = {m.start: m.surface for m in mentions if m.key == key}
            finding.entities[key] = ("name" if is_name[key] else "concept", located)
        keys = sorted(finding.entities)
        finding.relations = [
            (a, "co-occurs", b) for i, a in enumerate(keys) for b in keys[i + 1:]
        ]
        findings.append(finding)
    return findings


# --- LLM extraction ------------------------------------------------------------------------

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


# --- assembly ------------------------------------------------------------------------------


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
