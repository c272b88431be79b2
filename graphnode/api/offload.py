"""Keep a locked SQLite store from stalling a gevent worker.

sqlite3 waits for another writer in C (its busy handler sleeps in ``sqlite3_sleep``), which
gevent cannot patch: in a gevent worker that one wait would stop every greenlet, ``/healthz``
and every SSE stream included. So when the process is gevent-patched, each call of a SQLite
store runs in the hub's thread pool: the waiting request holds a real thread (sqlite3 releases
the GIL while it waits) and the other greenlets keep running. The wait itself stays short
(``GRAPHNODE_STORE_BUSY_TIMEOUT_SECONDS``); past it the request answers 503 (see errors.py).

A thread pool rather than a Python-level retry loop keeps the store adapter unaware of gevent,
and covers every statement of a transaction, not only its ``BEGIN``. MongoDB's driver is
already cooperative under gevent (patched sockets), so it is left as it is.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, cast

from graphnode.stores import Store


class ThreadPoolStore:
    """A store whose method calls run in the current hub's thread pool and are awaited
    cooperatively (the pool is looked up per call: a forked worker has its own hub)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def in_pool(*args: Any, **kwargs: Any) -> Any:
            import gevent

            return gevent.get_hub().threadpool.apply(attribute, args, kwargs)

        return cast(Callable[..., Any], in_pool)


def gevent_patched() -> bool:
    """True in a gevent worker (gunicorn -k gevent patches ``threading`` and ``socket``)."""
    if "gevent" not in sys.modules:  # never import gevent into a process that does not use it
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


def cooperative_store(store: Store) -> Store:
    """``store``, or under gevent a SQLite store whose calls no longer block the hub."""
    from graphnode.stores.sqlite import SQLiteStore

    if not isinstance(store, SQLiteStore) or not gevent_patched():
        return store
    return cast(Store, ThreadPoolStore(store))
