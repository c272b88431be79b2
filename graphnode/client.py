"""A small HTTP client of the GraphNode API, with a Server-Sent Events reader."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class ServerEvent:
    type: str
    data: Any
    id: str | None


class ApiClient:
    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def _check(self, response: requests.Response) -> Any:
        if not response.ok:
            try:
                detail = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                detail = response.text[:200]
            raise RuntimeError(f"{response.request.method} {response.url}: "
                               f"{response.status_code} {detail}")
        return response.json()

    def generate(self, export: Any, **options: int) -> dict[str, Any]:
        response = self.session.post(f"{self.base_url}/v1/graphs/generate", params=options,
                                     json=export, timeout=self.timeout)
        return self._check(response)

    def job(self, task_id: str) -> dict[str, Any]:
        return self._check(self.session.get(f"{self.base_url}/v1/jobs/{task_id}",
                                            timeout=self.timeout))

    def my_graph(self) -> dict[str, Any]:
        return self._check(self.session.get(f"{self.base_url}/v1/graphs/me",
                                            timeout=self.timeout))

    def events(self, last_event_id: str | None = None, read_timeout: float = 60.0,
               on_open: Callable[[], None] | None = None) -> Iterator[ServerEvent]:
        """Events of the token's user, as they arrive; resumes after ``last_event_id``.

        ``on_open`` is called once the stream is subscribed, before any event arrives, so a
        caller can submit work knowing that it will hear about it.
        """
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        with self.session.get(f"{self.base_url}/v1/events", headers=headers, stream=True,
                              timeout=(self.timeout, read_timeout)) as response:
            if not response.ok:
                self._check(response)
            if on_open is not None:
                on_open()
            yield from parse_sse(response.iter_lines(decode_unicode=True))


def parse_sse(lines: Iterator[str]) -> Iterator[ServerEvent]:
    """Server-Sent Events frames from text lines (comments and keep-alives skipped)."""
    event_type, data, event_id = "message", [], None
    for line in lines:
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    value: Any = json.loads(text)
                except json.JSONDecodeError:
                    value = text
                yield ServerEvent(event_type, value, event_id)
            event_type, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event_type = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value
