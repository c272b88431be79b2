"""Korean words for keywords, names and the lexical vectors: kiwipiepy's morphological analysis.

Korean attaches particles and endings to its words (서울에서, 공부했다), so splitting on spaces
counts 서울은 and 서울로 as two words and names clusters after particles and adverbs. Kiwi (PyPI
``kiwipiepy``, which ships its model) splits a text into morphemes with their part of speech;
we keep nouns (common and proper), roots (XR) and the Latin or Hanja words inside a Korean
text (ETF, pandas), and drop particles, endings, verbs, adverbs and the nouns of small talk.
"""

from __future__ import annotations

import functools
import re
from typing import Any

HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: Part-of-speech tags kept: common and proper nouns, roots, foreign (Latin) words, Hanja.
CONTENT_TAGS = frozenset({"NNG", "NNP", "XR", "SL", "SH"})

# Nouns that carry no topic: bound and generic nouns, pronouns that kiwi tags as nouns, and the
# nouns of chat small talk (인사, 감사, 질문, 도움...). Content words never belong here.
KOREAN_STOP_WORDS = frozenset(
    """
    것 수 거 등 때 중 점 데 바 뿐 때문 경우 정도 대해 관련 이것 저것 그것 이거 저거 그거 여기
    거기 저기 우리 저희 당신 자신 누구 무엇 뭐 어디 언제 이번 다음 이전 지금 오늘 내일 어제
    하나 부분 생각 방법 사용 이용 정리 설명 질문 답변 궁금 도움 감사 안녕 말씀 부탁 하루 천만
    별말씀 문제 상황 얘기 이야기 내용 결과 시간 가지 번 분 측 쪽 편 개 명 살 원 진짜 정말 대박
    완전 약간 조금 그냥 혹시 아무 모두 모든 각 여러 어떤 무슨 기분 최고 가능 필요 중요 확인
    추천 고민 시작 마지막 처음 이상 이하 이내 기준 예 네 응 음 아 오 와 헐 ㅋㅋ ㅎㅎ
    """.split()
)


@functools.lru_cache(maxsize=1)
def analyser() -> Any:
    """One Kiwi per process (loading its model takes about a second)."""
    from kiwipiepy import Kiwi

    return Kiwi()


@functools.lru_cache(maxsize=16384)
def content_morphemes(text: str) -> tuple[str, ...]:
    """The content morphemes of ``text`` in order: nouns and roots as written, Latin words
    lower-cased; cached, since keywords, names and vectors all analyse the same texts.

    Nouns written together are one compound (데이터프레임, not 데이터 + 프레임): kiwi splits a
    word it does not know (크루아상 -> 크루아 + 상) but never across a space.
    """
    out: list[str] = []
    noun_end = -1
    for token in analyser().tokenize(text):
        if token.tag not in CONTENT_TAGS:
            noun_end = -1
            continue
        is_noun = token.tag in ("NNG", "NNP")
        if is_noun and token.start == noun_end and out:
            out[-1] += token.form
        else:
            out.append(token.form.lower() if token.tag == "SL" else token.form)
        noun_end = token.start + token.len if is_noun else -1
    return tuple(out)


def has_hangul(text: str) -> bool:
    return HANGUL.search(text) is not None


def korean_stem(word: str) -> str | None:
    """``word`` without its trailing particles, endings or light verb (서울에서 -> 서울,
    공부했다 -> 공부); ``None`` for a predicate (먹었습니다, 맛있는), which is no name."""
    tokens = analyser().tokenize(word)
    if not tokens:
        return word
    if tokens[0].tag.startswith("V"):
        return None
    for token in tokens[1:]:
        if token.tag.startswith(("J", "E", "V")) or token.tag in ("XSV", "XSA"):
            return word[: token.start] or None
    return word
