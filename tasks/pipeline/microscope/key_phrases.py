"""Entities without an LLM: key phrases scored by TF-IDF across a document's chunks.

A key phrase is a run of up to three non-stop words; names (capitalised runs) are boosted and
a chunk's phrases are thinned with MMR. Relations are co-occurrences within a chunk.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tasks.pipeline.keywords import mmr_select
from tasks.pipeline.keywords import stop_words as keyword_stop_words
from tasks.pipeline.korean import korean_stem
from tasks.pipeline.microscope.chunking import (
    _SENTENCE_BREAK,
    Chunk,
    ChunkFinding,
    _break_points,
)
from tasks.pipeline.microscope.names import (
    _HANGUL,
    _POSSESSIVE,
    _SSANG_SIOS,
    normalise_entity_name,
)
from tasks.pipeline.parsing import _FENCED, _URL_START

MAX_PHRASE_WORDS = 3
#: Score multiplier for capitalised names ("Marie Curie") over common-noun phrases.
NAME_BOOST = 2.0
#: Score bonus per extra word, so "marie curie" beats its own parts "marie" and "curie".
PHRASE_BONUS = 0.25


#: Words that are not stop words to scikit-learn but never make an entity on their own.
EXTRA_STOP_WORDS = frozenset(
    "said says say got get gets make makes made use uses used using like just really also "
    "way thing things lot lots let know knew think thought want wanted need needed went came "
    "took gave became began known called born died won lost told held left yes okay ok sure "
    "maybe actually basically".split()
)


_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_LETTER = re.compile(r"[^\W\d_]")
_CONTRACTION = re.compile(r"['’](?:t|re|ve|ll|d|m)$")
# Masks a URL up to the next whitespace (parsing's _URL stops at < > " as well).
_URL = re.compile(_URL_START + r"\S+", re.IGNORECASE)


@functools.cache
def stop_words() -> frozenset[str]:
    """The keywords' English and Korean stop words plus words that are never entities."""
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
