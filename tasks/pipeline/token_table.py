"""The sentence vector of every single-token term of a model, computed once per machine.

MMR node keywords embed each candidate term of a build, and on a CPU that is most of a build
after the documents are embedded. A term that is one token of the model's vocabulary
("pension", "oscar": 58 % of BBC's terms) always gets the same vector: the model's output for
``[CLS] token [SEP]``. ``TokenTable`` computes that output for the whole vocabulary, in a
background thread, and keeps it in a file; a term of one token then costs a lookup and
gets exactly what ``encode`` would give it. Terms of several tokens still go through the model.

The first process to need the table builds it (about 20 s on 2 CPU cores, well under a second
on a GPU) while jobs go on without it; a file lock keeps other processes from building it too,
and the file is written whole or not at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Vocabularies above this get no table: a multilingual model's 250,000 tokens would take
#: minutes of CPU and 400 MB per worker; their terms all go through the model.
MAX_VOCABULARY = 65_536
#: Tokens per forward pass while building (three positions each).
BUILD_BATCH = 1024


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "graphnode"


def embedding_dimension(model: Any) -> int:
    """A sentence-transformers model's output size, under its name old or new."""
    getter = getattr(model, "get_embedding_dimension", None)
    return int((getter or model.get_sentence_embedding_dimension)())


def table_key(model_path: str, vocabulary: int, dimension: int) -> str:
    """Names the table after the model: its path, files (size and time) and shapes."""
    parts = [model_path, str(vocabulary), str(dimension)]
    path = Path(model_path)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = file.stat()
            parts.append(f"{file.relative_to(path)}:{stat.st_size}:{int(stat.st_mtime)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def compute_vectors(model: Any, token_ids: np.ndarray) -> np.ndarray:
    """The model's sentence vector of each token alone, between its special tokens."""
    import torch

    special = model.tokenizer("")["input_ids"]  # [CLS, SEP] for BERT, [<s>, </s>] for XLM-R
    prefix, suffix = list(special[:-1]), list(special[-1:])
    out = np.zeros((len(token_ids), embedding_dimension(model)), np.float32)
    for start in range(0, len(token_ids), BUILD_BATCH):
        batch = token_ids[start:start + BUILD_BATCH]
        input_ids = torch.tensor([[*prefix, int(i), *suffix] for i in batch],
                                 device=model.device)
        features = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
        with torch.inference_mode():
            vectors = model(features)["sentence_embedding"].float().cpu().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out[start:start + len(batch)] = vectors / np.where(norms == 0, 1.0, norms)
    return out


class TokenTable:
    """Vectors of a model's single tokens, from ``cache_dir`` or built in the background."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self._path: Path | None = None
        self._shape = (0, 0)
        self._vectors: np.ndarray | None = None
        self._started = False
        self._lock = threading.Lock()
        self._built = threading.Event()

    def vectors(self, model: Any, model_path: str) -> np.ndarray | None:
        """The table when it is ready; the first call loads it or starts its build."""
        with self._lock:
            if not self._started:
                self._started = True
                self._start(model, model_path)
            elif self._vectors is None and self._path is not None and self._path.exists():
                self._vectors = self._load(self._path, self._shape)  # built by another process
            return self._vectors

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a build this process started ends (a benchmark's warm-up)."""
        return self._built.wait(timeout)

    def _start(self, model: Any, model_path: str) -> None:
        vocabulary = len(model.tokenizer)
        if self.cache_dir is None or vocabulary > MAX_VOCABULARY:
            self._built.set()
            return
        self._shape = (vocabulary, embedding_dimension(model))
        key = table_key(model_path, *self._shape)
        self._path = self.cache_dir / f"token-vectors-{key}.npy"
        if self._path.exists():
            self._vectors = self._load(self._path, self._shape)
            self._built.set()
            return
        threading.Thread(target=self._build, args=(model, self._path, vocabulary),
                         name="token-table", daemon=True).start()

    @staticmethod
    def _load(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
        try:
            table = np.load(path)
            if table.shape != shape:
                raise ValueError(f"shape {table.shape}, expected {shape}")
            return table
        except (OSError, ValueError) as exc:
            logger.warning("token table %s unreadable (%s): terms go through the model",
                           path, exc)
            return None

    def _build(self, model: Any, path: Path, vocabulary: int) -> None:
        try:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                lock: Any = open(path.with_suffix(".lock"), "w")
            except OSError as exc:
                logger.warning("token table cannot be kept in %s (%s): this process builds "
                               "its own", path.parent, exc)
                lock = None
            with lock or contextlib.nullcontext():
                if lock is not None:
                    try:  # released by the kernel if this process dies
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        return  # another process builds it; vectors() looks for the file
                    if path.exists():  # built by a process that held the lock just before
                        table = self._load(path, self._shape)
                        if table is not None:
                            with self._lock:
                                self._vectors = table
                            return
                started = time.monotonic()
                table = compute_vectors(model, np.arange(vocabulary))
                with self._lock:
                    self._vectors = table
                logger.info("token table of %d tokens built in %.1f s", vocabulary,
                            time.monotonic() - started)
                if lock is not None:
                    self._save(table, path)
        finally:
            self._built.set()

    @staticmethod
    def _save(table: np.ndarray, path: Path) -> None:
        """Write the file whole or not at all: other processes load it as soon as it exists."""
        try:
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy",
                                             delete=False) as tmp:
                np.save(tmp, table)
            os.chmod(tmp.name, 0o644)  # a temporary file is the owner's only
            os.replace(tmp.name, path)
        except OSError as exc:
            logger.warning("token table not kept in %s (%s)", path, exc)
