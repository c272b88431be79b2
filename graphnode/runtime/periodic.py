"""A daemon thread that runs one action every few seconds until stopped: the shape of the
workers' visibility heartbeat, outbox relay and worker record."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Runs ``action`` every ``interval`` seconds (first at once if ``first_at_start``);
    ``action`` handles its own errors, as each caller logs them its own way."""

    def __init__(self, name: str, interval: float, action: Callable[[], object],
                 first_at_start: bool = False) -> None:
        self.name = name
        self.interval = interval
        self.action = action
        self.first_at_start = first_at_start
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name=self.name, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        if self.first_at_start:
            self.action()
        while not self._stop.wait(self.interval):
            self.action()
