"""Celery events packed and published in batches from a thread (graphnode.runtime.event_batches)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from graphnode.runtime import event_batches
from graphnode.runtime.event_batches import (
    SNS_BATCH_BYTES,
    SNS_BATCH_ENTRIES,
    EventBatcher,
    batches,
    pack,
)
from graphnode.runtime.metrics import EVENTS_DROPPED


def event(n: int, kind: str = "task-succeeded", text: str = "") -> dict:
    """A kombu message as ``_put_fanout`` gets it from Celery's event dispatcher."""
    body = {"type": kind, "uuid": f"task-{n}", "hostname": "worker-req-1", "text": text}
    return {"body": json.dumps(body), "content-encoding": "utf-8",
            "content-type": "application/json", "headers": {"hostname": "worker-req-1"},
            "properties": {"delivery_info": {"exchange": "celeryev"}, "priority": 0,
                           "body_encoding": None, "delivery_tag": f"tag-{n}"}}


def events_in(texts: list[str]) -> list[dict]:
    """What a Celery receiver reads from SNS messages: a body's events one by one."""
    read = []
    for text in texts:
        body = json.loads(json.loads(text)["body"])
        read += body if isinstance(body, list) else [body]
    return read


def test_consecutive_events_share_one_message_with_a_list_body():
    texts = pack([event(n) for n in range(30)])
    assert len(texts) == 1
    message = json.loads(texts[0])
    assert message["content-type"] == "application/json"
    assert message["headers"] == {"hostname": "worker-req-1"}
    assert [e["uuid"] for e in events_in(texts)] == [f"task-{n}" for n in range(30)]


def test_celery_multi_messages_are_flattened_into_the_pack():
    multi = event(0)
    multi["body"] = json.dumps([json.loads(event(1)["body"]), json.loads(event(2)["body"])])
    assert [e["uuid"] for e in events_in(pack([event(0), multi]))] == [
        "task-0", "task-1", "task-2"]


def test_a_pack_stays_under_its_limit_and_keeps_the_order():
    messages = [event(n, text="일정 " * 300) for n in range(40)]  # Korean: 3 bytes a letter
    texts = pack(messages, limit=8 * 1024)
    assert len(texts) > 1
    assert all(len(json.loads(t)["body"].encode()) <= 8 * 1024 + 2 for t in texts)
    assert [e["uuid"] for e in events_in(texts)] == [f"task-{n}" for n in range(40)]


def test_a_message_that_is_not_plain_json_goes_alone_and_unchanged():
    encoded = event(1)
    encoded["properties"]["body_encoding"] = "base64"
    texts = pack([event(0), encoded, event(2)])
    assert len(texts) == 3
    assert json.loads(texts[1]) == encoded


def test_calls_stay_within_sns_batch_limits():
    texts = ["x" * 1000] * 25 + ["y" * (SNS_BATCH_BYTES // 2)] * 3  # two fill one call
    runs = batches(texts)
    assert [len(run) for run in runs] == [10, 10, 6, 2]
    assert all(len(run) <= SNS_BATCH_ENTRIES for run in runs)
    assert all(sum(len(t) for t in run) <= SNS_BATCH_BYTES for run in runs)
    assert [text for run in runs for text in run] == texts


class RecordingSns:
    """A PublishBatch that records its calls and can fail the first ones."""

    def __init__(self, fail_calls: int = 0, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.fail_calls = fail_calls
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, texts: list[str]) -> list[int]:
        time.sleep(self.delay)
        with self.lock:
            if self.fail_calls:
                self.fail_calls -= 1
                raise ConnectionError("SNS unreachable")
            self.calls.append(texts)
        return []

    def events(self) -> list[dict]:
        return events_in([t for call in self.calls for t in call])


def test_put_returns_at_once_and_one_call_carries_a_flush_of_events():
    sns = RecordingSns(delay=0.3)  # a slow SNS never holds up the caller
    batcher = EventBatcher(sns, flush_seconds=0.05)
    started = time.monotonic()
    for n in range(50):
        batcher.put(event(n))
    assert time.monotonic() - started < 0.1
    assert batcher.flush(timeout=5)
    assert len(sns.calls) == 1 and len(sns.calls[0]) == 1
    assert [e["uuid"] for e in sns.events()] == [f"task-{n}" for n in range(50)]


def test_a_failed_publish_is_tried_again_and_loses_nothing(monkeypatch):
    monkeypatch.setattr(event_batches, "PUBLISH_RETRY_SECONDS", 0.05)
    sns = RecordingSns(fail_calls=2)
    batcher = EventBatcher(sns, flush_seconds=0.01)
    for n in range(5):
        batcher.put(event(n))
    time.sleep(0.02)
    for n in range(5, 8):
        batcher.put(event(n))
    assert batcher.flush(timeout=5)
    assert sorted(e["uuid"] for e in sns.events()) == sorted(f"task-{n}" for n in range(8))
    assert [e["uuid"] for e in sns.events()][:5] == [f"task-{n}" for n in range(5)]


def test_entries_sns_failed_on_its_side_are_sent_again(monkeypatch):
    monkeypatch.setattr(event_batches, "PUBLISH_RETRY_SECONDS", 0.01)
    sent: list[str] = []

    def flaky(texts: list[str]) -> list[int]:
        if not sent:
            sent.append("first call")
            return [0]  # SNS failed entry 0 (its fault): worth trying again
        sent.extend(texts)
        return []

    batcher = EventBatcher(flaky, flush_seconds=0.01)
    batcher.put(event(0))
    assert batcher.flush(timeout=5)
    assert [e["uuid"] for e in events_in(sent[1:])] == ["task-0"]


def test_a_full_buffer_drops_heartbeats_before_task_states():
    blocked = threading.Event()

    def stuck(texts: list[str]) -> list[int]:
        blocked.wait(10)
        return []

    batcher = EventBatcher(stuck, flush_seconds=0.0, buffer_limit=4)
    batcher.put(event(0))  # taken by the thread, which then waits on SNS
    time.sleep(0.1)
    heartbeats = EVENTS_DROPPED.labels(kind="heartbeat")._value.get()
    tasks = EVENTS_DROPPED.labels(kind="task")._value.get()
    batcher.put(event(1))
    batcher.put(event(90, "worker-heartbeat"), heartbeat=True)
    batcher.put(event(2))
    batcher.put(event(91, "worker-heartbeat"), heartbeat=True)
    batcher.put(event(3))  # full: the oldest heartbeat goes
    batcher.put(event(4))  # full: the other heartbeat goes
    batcher.put(event(5))  # full of task states: the oldest goes
    kept = [m for _, _, m in batcher._pending]
    assert [json.loads(m["body"])["uuid"] for m in kept] == [
        "task-2", "task-3", "task-4", "task-5"]
    assert EVENTS_DROPPED.labels(kind="heartbeat")._value.get() == heartbeats + 2
    assert EVENTS_DROPPED.labels(kind="task")._value.get() == tasks + 1
    blocked.set()
    assert batcher.flush(timeout=5)


def test_flush_gives_up_after_its_timeout_while_sns_is_away():
    sns = RecordingSns(fail_calls=1000)
    batcher = EventBatcher(sns, flush_seconds=0.01)
    batcher.put(event(0))
    started = time.monotonic()
    assert not batcher.flush(timeout=0.3)
    assert time.monotonic() - started == pytest.approx(0.3, abs=0.2)
    sns.fail_calls = 0  # back: the thread stops retrying (and logging) for later tests
    assert batcher.flush(timeout=5)


def test_a_last_try_gives_up_at_once_while_sns_is_away(monkeypatch):
    """A stopping worker must not outwait its supervisor's grace (honcho's 5 s) on an SNS
    that is gone: what fails on the last try is counted and dropped; later events retry."""
    monkeypatch.setattr(event_batches, "PUBLISH_RETRY_SECONDS", 0.05)
    sns = RecordingSns(fail_calls=3)
    batcher = EventBatcher(sns, flush_seconds=0.01)
    batcher.put(event(0))
    time.sleep(0.05)  # the first publish failed: the event now waits out its retry
    unsent = EVENTS_DROPPED.labels(kind="unsent")._value.get()
    started = time.monotonic()
    assert batcher.flush(timeout=5, last_try=True)
    assert time.monotonic() - started < 0.5
    assert EVENTS_DROPPED.labels(kind="unsent")._value.get() == unsent + 1
    batcher.put(event(1))  # fails once more, then goes: no last try is waiting now
    assert batcher.flush(timeout=5)
    assert [e["uuid"] for e in sns.events()] == ["task-1"]
