"""topology.yaml is refused at load when a claim check could expire before its message."""

from __future__ import annotations

import copy
from importlib import resources

import pytest
import yaml

from graphnode.contract.topology import (
    SECONDS_PER_DAY,
    TopologyError,
    load_topology,
    parse_topology,
)


def declared() -> dict:
    topology = resources.files("graphnode.contract").joinpath("topology.yaml")
    return yaml.safe_load(topology.read_text())


def test_shipped_topology_keeps_payloads_past_queue_and_dlq_retention():
    topology = load_topology()
    for spec in topology.queues.values():
        lifetime = spec.message_retention_seconds + spec.dlq_message_retention_seconds
        assert topology.expiration_days * SECONDS_PER_DAY >= lifetime


def test_expiry_shorter_than_queue_plus_dlq_retention_is_refused():
    raw = declared()
    raw["bucket"]["expiration_days"] = 7  # the old value: DLQ messages lived 14 days
    with pytest.raises(TopologyError) as refused:
        parse_topology(raw)
    message = str(refused.value)
    assert "expiration_days (7)" in message and "graph-req" in message
    assert "at least 18" in message


def test_the_queue_retention_before_the_dlq_counts_too():
    raw = declared()
    raw["bucket"]["expiration_days"] = 14
    for spec in raw["queues"].values():
        spec["message_retention_seconds"] = 4 * SECONDS_PER_DAY
        spec["dlq"]["message_retention_seconds"] = 10 * SECONDS_PER_DAY
    assert parse_topology(copy.deepcopy(raw)).expiration_days == 14
    raw["queues"]["graph-res"]["message_retention_seconds"] = 5 * SECONDS_PER_DAY
    with pytest.raises(TopologyError, match=r"graph-res .*at least 15"):
        parse_topology(raw)
