"""The optional LLM stage: cluster names and descriptions from a local model or an HTTP endpoint.

Everything here degrades to the keyword labels the pipeline already has: no generator, a failing
one, or text that does not parse all keep the c-TF-IDF name, and each label says where it came
from (``labelSource``), so a bad model can never break or silently rewrite a graph.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from tasks.pipeline.phrases import words_phrase

logger = logging.getLogger(__name__)

#: Longest cluster name, in words, that we accept from a model.
MAX_NAME_WORDS = 6
MAX_NAME_CHARS = 60
MAX_DESCRIPTION_CHARS = 300
#: How much of a cluster the prompt shows: enough to name it, short enough for small models.
PROMPT_KEYWORDS = 10
PROMPT_TITLES = 5
PROMPT_TITLE_CHARS = 80
LABEL_MAX_NEW_TOKENS = 96


class TextGenerator(Protocol):
    """Anything that turns a prompt into text; greedy/deterministic where the backend allows."""

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str: ...


def fit_to_context(
    prompt_tokens: int, max_input_tokens: int, max_new_tokens: int, max_positions: int | None
) -> tuple[int, int]:
    """``(input tokens kept, new tokens allowed)`` so that both fit the model's context.

    A model with learned positions (GPT-2) fails outright past ``max_positions``. The prompt
    keeps priority, but the answer always gets at least half the context.
    """
    keep = min(prompt_tokens, max_input_tokens)
    if max_positions is None or keep + max_new_tokens <= max_positions:
        return keep, max_new_tokens
    new = min(max_new_tokens, max(max_positions - keep, max_positions // 2))
    return min(keep, max_positions - new), new


class LocalTransformersGenerator:
    """A causal LM from a local directory (never the hub), loaded on first use, greedy decoding.

    Loading is lazy and locked, so constructing one is free and threads share one copy.
    """

    def __init__(self, model_path: str, device: str | None = None, max_input_tokens: int = 512):
        self.model_path = model_path
        self.device = device
        self.max_input_tokens = max_input_tokens
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        """The tokenizer and model, loaded once; ``local_files_only`` keeps the hub out of it."""
        with self._lock:
            if self._model is None:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                from tasks.pipeline.embedding import default_device

                self.device = self.device or default_device()
                tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(
                    self.model_path, local_files_only=True
                )
                self._tokenizer, self._model = tokenizer, model.to(self.device).eval()
        return self._tokenizer, self._model

    @staticmethod
    def prompt_text(tokenizer: Any, prompt: str) -> str:
        """The prompt as the model expects it: wrapped in its chat template when it has one.

        Instruction-tuned models answer far better inside their template; base models have none.
        """
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        return prompt

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        """Only the newly generated text (the prompt is cut off), stripped."""
        import torch

        tokenizer, model = self._load()
        text = self.prompt_text(tokenizer, prompt)
        templated = text is not prompt
        ids = tokenizer(text, add_special_tokens=not templated)["input_ids"]
        max_positions = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", None
        )
        keep, new = fit_to_context(len(ids), self.max_input_tokens, max_new_tokens, max_positions)
        # Keep the end of the prompt: that is where the instructions and the answer cue are.
        input_ids = torch.tensor([ids[len(ids) - keep:]], dtype=torch.long, device=self.device)
        pad = tokenizer.pad_token_id
        pad = pad if pad is not None else tokenizer.eos_token_id
        with torch.inference_mode():
            out = model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=new,
                do_sample=False,
                num_beams=1,
                pad_token_id=pad,
            )
        return tokenizer.decode(out[0, input_ids.shape[1]:], skip_special_tokens=True).strip()


class OpenAICompatibleGenerator:
    """Any server speaking OpenAI's ``/chat/completions`` (vLLM, llama.cpp, Ollama, OpenAI)."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def request_body(self, prompt: str, max_new_tokens: int) -> dict[str, Any]:
        """The JSON body: one user message, temperature 0 for repeatable labels."""
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_new_tokens,
            "temperature": 0,
        }

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        """The first choice's message content; any transport or HTTP error is a RuntimeError."""
        import requests

        url = f"{self.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = requests.post(
                url,
                json=self.request_body(prompt, max_new_tokens),
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise RuntimeError(f"LLM endpoint {url} unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise RuntimeError(
                f"LLM endpoint {url} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RuntimeError(f"LLM endpoint {url} sent an unexpected body: {exc!r}") from exc
        return (content or "").strip()


@functools.lru_cache(maxsize=4)
def _local_generator(model_path: str) -> LocalTransformersGenerator:
    """One generator (hence one loaded model) per path per process: a worker loads once."""
    return LocalTransformersGenerator(model_path)


def make_generator(
    kind: str, model: str | None, base_url: str | None = None, api_key: str | None = None
) -> TextGenerator | None:
    """The generator named by settings: ``none``, ``local`` (a directory) or ``openai``."""
    kind = (kind or "none").strip().lower()
    if kind == "none":
        return None
    if kind == "local":
        if not model:
            raise ValueError("LLM kind 'local' needs a model directory")
        return _local_generator(model)
    if kind == "openai":
        if not base_url or not model:
            raise ValueError("LLM kind 'openai' needs both a base URL and a model name")
        return OpenAICompatibleGenerator(base_url, model, api_key=api_key)
    raise ValueError(f"unknown LLM kind {kind!r}: expected 'none', 'local' or 'openai'")


def label_prompt(keywords: Sequence[str], titles: Sequence[str]) -> str:
    """The naming prompt; the exact two-line format keeps parsing simple for small models."""
    shown = [t.strip()[:PROMPT_TITLE_CHARS] for t in titles if t and t.strip()][:PROMPT_TITLES]
    lines = [
        "Here is a group of related conversations from one person's chat history.",
        f"Keywords: {', '.join(keywords[:PROMPT_KEYWORDS]) or '(none)'}",
    ]
    if shown:
        lines.append("Example titles:")
        lines.extend(f"- {t}" for t in shown)
    lines += [
        "",
        f"Give the group a short name (at most {MAX_NAME_WORDS} words) and a one-sentence "
        "description. Answer in exactly this format and nothing else:",
        "Name: ...",
        "Description: ...",
    ]
    return "\n".join(lines)


_NAME = re.compile(r"^[\s>*_#-]*name[*_]*[ \t]*[:：][ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)
_DESCRIPTION = re.compile(r"[*_]*description[*_]*\s*[:：]\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s")


def _clean_field(text: str) -> str:
    """A field without markdown emphasis, surrounding quotes or runs of whitespace."""
    text = re.sub(r"\s+", " ", text.replace("**", "").replace("__", "")).strip()
    return text.strip("\"'“”‘’`* ").strip()


def _usable_name(name: str) -> str | None:
    """The name without a trailing full stop, or ``None`` when empty or too long."""
    name = _clean_field(name).rstrip(".")
    if not re.search(r"[^\W\d_]", name):
        return None
    if len(name.split()) > MAX_NAME_WORDS or len(name) > MAX_NAME_CHARS:
        return None
    return name


def _usable_description(text: str) -> str | None:
    """The first sentence, or ``None`` when there is none or it is too long to be one."""
    text = _clean_field(text)
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip() if text else ""
    if not first or len(first) > MAX_DESCRIPTION_CHARS:
        return None
    return first


def parse_label(text: str) -> tuple[str, str | None] | None:
    """``(name, description or None)`` from a model's answer, ``None`` when no usable name.

    Tolerates markdown (``**Name:**``), both fields on one line, and a bare first line before
    ``Description:`` (small models often drop the ``Name:`` cue).
    """
    if not text or not text.strip():
        return None
    match = _NAME.search(text)
    if match:
        rest = text[match.start(1):]
        name_line = rest.split("\n", 1)[0]
        on_line = _DESCRIPTION.search(name_line)
        raw_name = name_line[: on_line.start()] if on_line else name_line
    else:
        rest = text
        before = _DESCRIPTION.search(text)
        if before is None:
            return None
        lines = [line for line in text[: before.start()].splitlines() if line.strip()]
        raw_name = lines[-1] if lines else ""
    name = _usable_name(raw_name)
    if name is None:
        return None
    desc = _DESCRIPTION.search(rest)
    description = _usable_description(rest[desc.end():]) if desc else None
    return name, description


def keyword_description(cluster: dict[str, Any]) -> str:
    """The cluster's keyword description, or one sentence built from its keywords."""
    given = cluster.get("description")
    if isinstance(given, str) and given.strip():
        return given.strip()
    words = [str(w) for w in (cluster.get("keywords") or [])[:3]]
    if not words:
        return "Conversations on assorted topics."
    return f"Conversations about {words_phrase(words)}."


def label_cluster(generator: TextGenerator | None, cluster: dict[str, Any]) -> dict[str, str]:
    """One cluster's ``{name, description, labelSource}``; keyword labels on any failure."""
    fallback = {
        "name": str(cluster.get("name") or "Miscellaneous"),
        "description": keyword_description(cluster),
        "labelSource": "keywords",
    }
    if generator is None:
        return fallback
    keywords = [str(k) for k in cluster.get("keywords") or []]
    prompt = label_prompt(keywords, [str(t) for t in cluster.get("titles") or []])
    try:
        answer = generator.generate(prompt, max_new_tokens=LABEL_MAX_NEW_TOKENS)
    except Exception as exc:  # a label is never worth failing the job for
        logger.warning("LLM labelling failed, keeping keyword label: %s", exc)
        return fallback
    parsed = parse_label(answer if isinstance(answer, str) else "")
    if parsed is None:
        logger.info("LLM label unusable, keeping keyword label: %r", str(answer)[:200])
        return fallback
    name, description = parsed
    return {
        "name": name,
        "description": description or fallback["description"],
        "labelSource": "llm",
    }


def label_clusters(
    generator: TextGenerator | None, clusters: dict[str, dict]
) -> dict[str, dict]:
    """``{clusterId: {name, description, labelSource}}`` for clusters given as
    ``{clusterId: {name, keywords, titles[, description]}}``; see ``label_cluster``."""
    return {cid: label_cluster(generator, cluster) for cid, cluster in clusters.items()}
