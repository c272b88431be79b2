"""An HTTP proxy in front of the AWS emulator that fails or delays what a trial asks for.

Every process of a trial's stack talks to the proxy as its AWS endpoint; the proxy
forwards each request to the emulator unchanged, unless an injected fault matches it: the
request's service (read from the SigV4 credential scope every signed call carries: ``sqs``,
``s3``, ``sns``) and, optionally, its SQS action or a path fragment. A fault either
answers an error of the service's own form (a 503, or SQS throttling) or holds the
request for some seconds before forwarding it. Faults are added and removed by the test
while the stack runs, so a trial can say "SQS answers 503 for 20 s".
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

#: The service name in a SigV4 credential scope: ``Credential=KEY/DATE/REGION/SERVICE/...``.
CREDENTIAL_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
#: Headers that belong to one hop, not to the request.
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})
#: Longer than SQS's longest poll (20 s), so that a long poll is never cut by the proxy.
UPSTREAM_TIMEOUT_SECONDS = 65


@dataclass
class Fault:
    """What to do with the requests it matches: ``status`` answers an error (503, or 400
    with ``throttle``), ``delay`` holds the request that many seconds or until the fault
    is removed, whichever comes first, then forwards it,
    ``corrupt`` flips a byte of the answer's body (what a torn read would return);
    ``times``: the fault is removed after matching that many requests."""

    service: str
    action: str | None = None       # an SQS or SNS action, e.g. "SendMessage"
    path_contains: str | None = None  # e.g. "/results/" for a task's S3 outputs
    method: str | None = None       # e.g. "GET": reads only
    status: int | None = None
    throttle: bool = False
    delay: float = 0.0
    corrupt: bool = False
    times: int | None = None
    #: Set when the fault is removed: what it holds goes on at once.
    removed: threading.Event = field(default_factory=threading.Event)

    def matches(self, service: str, action: str | None, path: str, method: str) -> bool:
        return (service == self.service and (self.action is None or action == self.action)
                and (self.path_contains is None or self.path_contains in path)
                and (self.method is None or method == self.method))


class FaultProxy:
    """The proxy's server thread and its faults; ``url`` is the endpoint to hand out."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: list[Fault] = []
        self.injected: Counter[str] = Counter()  # service -> requests failed or held
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self.faults:
                self.faults.remove(fault)
        fault.removed.set()

    def clear(self) -> None:
        """Remove every fault (and release what they hold)."""
        for fault in list(self.faults):
            self.remove(fault)

    def fault_for(self, service: str, action: str | None, path: str,
                  method: str) -> Fault | None:
        with self._lock:
            fault = next((f for f in self.faults if f.matches(service, action, path, method)),
                         None)
            if fault is not None:
                self.injected[service] += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet: the stack has its logs
                pass

            def do_GET(self) -> None:
                self._relay()

            do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service = service_of(self.headers.get("Authorization", "") + self.path)
                action = action_of(self.headers.get("X-Amz-Target"), body)
                fault = proxy.fault_for(service, action, self.path, self.command)
                if fault is not None and fault.delay:
                    fault.removed.wait(fault.delay)
                if fault is not None and fault.status:
                    self._answer_error(fault, service)
                    return
                self._forward(body, corrupt=fault is not None and fault.corrupt)

            def _forward(self, body: bytes, corrupt: bool = False) -> None:
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port,
                    timeout=UPSTREAM_TIMEOUT_SECONDS)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body or None,
                                     headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError:  # the emulator is away: as a load balancer would say it
                    self._send(502, b"upstream unavailable", "text/plain")
                    return
                finally:
                    upstream.close()
                if corrupt and data:
                    data = bytes([data[0] ^ 0x20]) + data[1:]
                self.send_response(response.status)
                head = self.command == "HEAD"  # keeps the object's length, sends no body
                for key, value in response.getheaders():
                    if key.lower() not in HOP_HEADERS and (head or key.lower() != "content-length"):
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def _answer_error(self, fault: Fault, service: str) -> None:
                code = "ThrottlingException" if fault.throttle else "ServiceUnavailable"
                message = "injected by the fault proxy"
                status = 400 if fault.throttle else fault.status or 503
                if self.headers.get("X-Amz-Target"):  # the JSON protocol (SQS)
                    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}",
                                       "message": message}).encode()
                    self._send(status, body, "application/x-amz-json-1.0")
                else:
                    body = (f"<ErrorResponse><Error><Code>{code}</Code><Message>{message}"
                            f"</Message></Error></ErrorResponse>").encode()
                    self._send(status, body, "text/xml")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def service_of(signed: str) -> str:
    """The AWS service a request is for, from its signature (header or presigned query)."""
    match = CREDENTIAL_SERVICE.search(signed.replace("%2F", "/"))
    return match.group(1) if match else "unknown"


def action_of(target: str | None, body: bytes) -> str | None:
    """The action of a JSON-protocol call (``X-Amz-Target: AmazonSQS.SendMessage``) or of a
    query-protocol one (``Action=Publish`` in the form body)."""
    if target:
        return target.rsplit(".", 1)[-1]
    match = re.search(rb"(?:^|&)Action=([A-Za-z]+)", body[:2048])
    return match.group(1).decode() if match else None
