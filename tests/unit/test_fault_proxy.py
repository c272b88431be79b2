"""The fault proxy of the outage trials forwards what it is not told to fail, and fails or
holds only the service and action a fault names."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support.fault_proxy import Fault, FaultProxy, action_of, service_of


def signed(service: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = b"echo:" + self.path.encode() + b":" + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST


@pytest.fixture
def proxy():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    running = FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}").start()
    yield running
    running.stop()
    upstream.shutdown()
    upstream.server_close()


def sqs_call(proxy: FaultProxy, action: str) -> requests.Response:
    return requests.post(proxy.url + "/", data=b"{}", timeout=10, headers={
        "Authorization": signed("sqs"), "X-Amz-Target": f"AmazonSQS.{action}"})


def test_the_service_and_action_are_read_from_the_signature_and_the_call():
    assert service_of(signed("s3")) == "s3"
    assert service_of("/b/k?X-Amz-Credential=testing%2F20261207%2Fus-east-1%2Fs3%2Faws4_request") \
        == "s3"
    assert service_of("") == "unknown"
    assert action_of("AmazonSQS.ReceiveMessage", b"") == "ReceiveMessage"
    assert action_of(None, b"Action=Publish&TopicArn=x") == "Publish"


def test_requests_pass_unchanged_until_a_fault_matches(proxy):
    assert sqs_call(proxy, "SendMessage").text == "echo:/:{}"
    fault = proxy.add(Fault("sqs", action="SendMessage", status=503))
    failed = sqs_call(proxy, "SendMessage")
    assert failed.status_code == 503 and "ServiceUnavailable" in failed.text
    assert sqs_call(proxy, "ReceiveMessage").status_code == 200  # another action
    put = requests.put(proxy.url + "/bucket/key", data=b"x", timeout=10,
                       headers={"Authorization": signed("s3")})
    assert put.text == "echo:/bucket/key:x"  # another service
    proxy.remove(fault)
    assert sqs_call(proxy, "SendMessage").status_code == 200
    assert proxy.injected["sqs"] == 1


def test_throttling_and_a_held_request(proxy):
    proxy.add(Fault("sqs", action="SendMessage", throttle=True, status=400))
    throttled = sqs_call(proxy, "SendMessage")
    assert throttled.status_code == 400 and "ThrottlingException" in throttled.text
    proxy.add(Fault("s3", path_contains="/results/", delay=0.5))
    started = time.monotonic()
    held = requests.put(proxy.url + "/bucket/results/u/t/graph.json", data=b"g", timeout=10,
                        headers={"Authorization": signed("s3")})
    assert held.text.endswith(":g") and time.monotonic() - started >= 0.5


def test_a_corrupted_answer_once(proxy):
    proxy.add(Fault("s3", corrupt=True, times=1))

    def get() -> bytes:
        return requests.put(proxy.url + "/bucket/k", data=b"abc", timeout=10,
                            headers={"Authorization": signed("s3")}).content

    assert get() == b"Echo:/bucket/k:abc"  # one byte flipped
    assert get() == b"echo:/bucket/k:abc"  # and then gone
