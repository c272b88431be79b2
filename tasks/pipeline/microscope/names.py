"""Entity ids: the normalised name that merges one entity's mentions across chunks and
across a workspace's documents ("Marie Curie's" here and "marie curie" there)."""

from __future__ import annotations

import functools
import re
import unicodedata

from tasks.pipeline.korean import korean_stem

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
    the name is dropped with ``korean.korean_stem`` (kiwipiepy) ("마리 퀴리는" -> "마리 퀴리").
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
