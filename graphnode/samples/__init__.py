"""Bundled sample data: a ChatGPT-style export for the demo command and the integration tests.

``chatgpt_export.json`` has the shape of a real ChatGPT ``conversations.json``: a list of
conversations, each with ``title``, ``create_time``, ``update_time``, ``id``,
``conversation_id``, ``current_node`` and a ``mapping`` tree (a root node without a message,
a hidden system message, then the turns). It holds 66 conversations, 11 on each of six
clearly distinct topics (see ``TOPICS``), so a working pipeline should find about six
clusters. About a third of the conversations contain a regenerated answer: a user message
with two children, one of them an abandoned draft whose text contains "ignore this draft"
and must not reach the graph (follow ``current_node``). A few contain ``tool`` messages,
fenced code blocks and URLs, which the parser is expected to drop or clean.

``chatgpt_export_labels.json`` maps each conversation id to its topic (ground truth for
tests; it is not part of the export format).

Both files are generated, deterministically, by
``python -m graphnode.samples.build_chatgpt_sample``; edit that script, not the JSON.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

EXPORT_FILE = "chatgpt_export.json"
LABELS_FILE = "chatgpt_export_labels.json"
KOREAN_EXPORT_FILE = "korean_export.json"
KOREAN_LABELS_FILE = "korean_export_labels.json"

#: The topics of the sample, in a fixed order (values of ``sample_topic_labels()``).
TOPICS = (
    "sourdough",
    "personal-finance",
    "python",
    "gardening",
    "marathon",
    "japan-travel",
)


def load_sample_export() -> list[dict[str, Any]]:
    """The bundled sample export, decoded: a fresh list of conversation dicts on every call."""
    text = resources.files(__name__).joinpath(EXPORT_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def sample_topic_labels() -> dict[str, str]:
    """Conversation id -> topic (one of ``TOPICS``) of the bundled sample, for evaluation."""
    text = resources.files(__name__).joinpath(LABELS_FILE).read_text(encoding="utf-8")
    return json.loads(text)


#: The planted topics of the Korean sample (values of ``korean_topic_labels()``).
KOREAN_TOPICS = (
    "cooking",
    "investing",
    "programming",
    "travel",
    "running",
    "job-hunting",
    "houseplants",
    "housing",
)


def load_korean_export() -> list[dict[str, Any]]:
    """The bundled Korean sample export: 80 conversations, ten on each of ``KOREAN_TOPICS``,
    with particles, loanwords, a code block and small talk (``build_korean_sample``)."""
    text = resources.files(__name__).joinpath(KOREAN_EXPORT_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def korean_topic_labels() -> dict[str, str]:
    """Conversation id -> planted topic of the Korean sample, for evaluation."""
    text = resources.files(__name__).joinpath(KOREAN_LABELS_FILE).read_text(encoding="utf-8")
    return json.loads(text)


__all__ = [
    "KOREAN_TOPICS",
    "TOPICS",
    "korean_topic_labels",
    "load_korean_export",
    "load_sample_export",
    "sample_topic_labels",
]
