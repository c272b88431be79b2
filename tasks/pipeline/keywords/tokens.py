"""The words of a text that keywords are made of, in English and Korean.

Both languages' stop words and chat filler are removed, and Korean is read through kiwipiepy's
morphological analysis (``tasks.pipeline.korean``): a noun's particle-free form (서울에서 ->
서울) is what gets counted. Cluster keywords, node keywords and the lexical vectors all count
words through ``tokenize``, so they agree on what a word is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tasks.pipeline.korean import KOREAN_STOP_WORDS, content_morphemes, has_hangul

#: Tokens of two or more word characters with at least one letter (drops "2004", "10").
TOKEN_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w\w+\b"


# English chat filler and words of no topic: greetings, thanks, discourse markers, hedges and
# generic verbs ("Oh / Yeah / Really" and "Hello / Hi / Hey" were names of chat clusters).
CHAT_FILLER = frozenset(
    """
    oh ok okay yeah yes yep yup nope nah hi hello hey hiya thanks thank thx ty please pls sure
    really lol lmao haha hahaha hehe hmm hm um uh wow cool great nice awesome good bad fine
    like just maybe actually basically literally pretty gonna wanna gotta kinda sorta stuff
    thing things lot lots bit right well know think want need help let got get make use using
    used does did doing done said say says tell told ask asked question questions answer sorry
    guess mean feel try trying way going alright dear bye goodbye morning tonight today
    tomorrow yesterday welcome glad happy love cheers awesome exactly definitely absolutely
    totally course sounds sound hope idea ideas example examples also probably anyway
    """.split()
)
# What a word tokenizer makes of contractions ("I've" -> "ve", "don't" -> "don").
CONTRACTION_PIECES = frozenset(
    """
    ve ll re don doesn didn isn wasn aren weren won wouldn couldn shouldn haven hasn hadn ain
    mustn needn shan im ive youre youve youll theyre weve dont doesnt didnt cant wont isnt
    wasnt arent thats theres whats lets hes shes
    """.split()
)
# Function words of the Latin-script languages users mix in (Spanish, French, Italian,
# Portuguese, German), short and frequent enough to top a small cluster ("di", "la").
FOREIGN_STOP_WORDS = frozenset(
    """
    di da del della delle dei degli il lo la le li gli un una uno per con non che nel nella
    al alla ai su sono come ma el los las de en por para que es se mi tu te ti su lo una esta
    este esto pero mas como muy et les des du au aux une est pas qui sur avec mais ou ce cette
    ces je il nous vous ils elle und der die das den dem des ein eine einer ist nicht mit zu
    auf ich sie wir ihr es im dass auch oder aber wie noch nur vom zum zur em os ao na no
    """.split()
)

_WORD = re.compile(r"(?u)\b(?=\w*[^\W\d_])\w+(?:['’]\w+)*\b")
_POSSESSIVE = re.compile(r"['’]s$")
_JAMO = re.compile(r"[\u1100-\u11ff\u3130-\u318f]")


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English (scikit-learn's list), Korean, chat filler, contraction pieces and common
    function words of other Latin-script languages, lower case."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return (
        frozenset(ENGLISH_STOP_WORDS) | KOREAN_STOP_WORDS | CHAT_FILLER | CONTRACTION_PIECES
        | FOREIGN_STOP_WORDS
    )


def _latin_words(text: str, stop: frozenset[str]) -> list[str]:
    """Words of 2+ letters outside ``stop``; a contraction is dropped whole ("don't"), a
    possessive loses its 's ("python's" -> "python"), bare jamo (ㅋㅋ) is laughter."""
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        if "'" in token or "’" in token:
            token = _POSSESSIVE.sub("", token)
            if "'" in token or "’" in token:
                continue
        if len(token) < 2 or token in stop or _JAMO.search(token):
            continue
        out.append(token)
    return out


#: Texts already tokenized inside a ``tokens_memoized`` block, and their tokens.
_memo: ContextVar[dict[str, tuple[str, ...]] | None] = ContextVar("tokens_memo", default=None)


@contextmanager
def tokens_memoized() -> Iterator[None]:
    """Within the block, each distinct text is tokenized once.

    A graph build reads each text's words up to six times (the lexicon and its projection,
    TF-IDF words and phrases, c-TF-IDF of clusters and of subclusters); kiwipiepy's analysis
    of a Korean text is the costliest of them. The memo lives as long as the block.
    """
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def tokenize(text: str) -> list[str]:
    """Lower-cased content words without stop words or chat filler.

    A text with Hangul goes through kiwipiepy (``korean.content_morphemes``): nouns and roots
    without their particles (서울에서 -> 서울), and the Latin words inside it; other texts are
    split into words of two or more letters.
    """
    memo = _memo.get()
    if memo is None:
        return _tokenize(text)
    if text not in memo:
        memo[text] = tuple(_tokenize(text))
    return list(memo[text])


def _tokenize(text: str) -> list[str]:
    stop = stop_words()
    if not has_hangul(text):
        return _latin_words(text, stop)
    out: list[str] = []
    for form in content_morphemes(text):
        if form.isascii():
            out.extend(_latin_words(form, stop))
        elif form not in stop and not _JAMO.search(form):
            out.append(form)
    return out
