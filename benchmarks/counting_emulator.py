"""A moto server that counts the AWS calls it serves, by service, operation and queue.

    python benchmarks/counting_emulator.py PORT

GET /_bench/counts answers {"<service> <operation> <queue or ->": n, ...}; POST
/_bench/reset zeroes them. Used by benchmarks/queue_path.py to count SQS calls per job and
idle receives per queue at the emulator, whoever the client is (boto3, kombu's async path).
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class CountingApp:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bench/"):
            return self._control(path, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        key = self._classify(environ, path, body)
        with self.lock:
            self.counts[key] += 1
        return self.app(environ, start_response)

    @staticmethod
    def _classify(environ: dict[str, Any], path: str, body: bytes) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonSQS."):
            try:
                queue_url = json.loads(body or b"{}").get("QueueUrl", "")
            except ValueError:
                queue_url = ""
            return f"sqs {target.split('.', 1)[1]} {queue_url.rsplit('/', 1)[-1] or '-'}"
        form = parse_qs(body.decode(errors="replace")) if body else {}
        form.update(parse_qs(environ.get("QUERY_STRING", "")))
        if "Action" in form:  # the query protocol (SQS, STS, IAM, SNS, CloudWatch)
            queue = form.get("QueueUrl", [path])[0].rsplit("/", 1)[-1] or "-"
            return f"query {form['Action'][0]} {queue}"
        return f"s3 {environ.get('REQUEST_METHOD', '?')} -"

    def _control(self, path: str, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            if path == "/_bench/reset" and environ["REQUEST_METHOD"] == "POST":
                self.counts.clear()
            payload = json.dumps(dict(self.counts)).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [payload]


if __name__ == "__main__":
    port = int(sys.argv[1])
    run_simple("127.0.0.1", port, CountingApp(DomainDispatcherApplication(create_backend_app)),
               threaded=True, use_reloader=False)
