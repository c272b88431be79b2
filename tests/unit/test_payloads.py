import pytest
from moto import mock_aws

from graphnode.payloads import PayloadError, PayloadStore, input_key, result_key
from graphnode.settings import CommonSettings


@pytest.fixture
def payloads():
    with mock_aws():
        store = PayloadStore(CommonSettings(payload_bucket="bucket"))
        store.client.create_bucket(Bucket="bucket")
        yield store


def test_json_round_trip_with_checksum(payloads):
    digest = payloads.put_json("inputs/a/b/input.json", {"x": [1, "é"]})
    assert payloads.get_json("inputs/a/b/input.json", digest) == {"x": [1, "é"]}


def test_corruption_is_detected(payloads):
    digest = payloads.put_json("k", {"x": 1})
    payloads.client.put_object(Bucket="bucket", Key="k", Body=b'{"x": 2}',
                               Metadata={"sha256": digest})
    with pytest.raises(PayloadError, match="corrupt"):
        payloads.get_json("k")
    with pytest.raises(PayloadError, match="corrupt"):
        payloads.get_json("k", expected_sha256="0" * 64)


def test_missing_payload_is_a_payload_error(payloads):
    with pytest.raises(PayloadError, match="does not exist"):
        payloads.get_bytes("nothing/here")


def test_keys_are_built_from_validated_ids_only():
    key = input_key("alice@example.com", "task1")
    assert key.startswith("inputs/") and key.endswith("/task1/input.json")
    assert "alice" not in key
    assert result_key("alice", "task1", "graph.json").startswith("results/")
    for bad_user, bad_task in [("../x", "t"), ("u", "../../t"), ("u", "a/b")]:
        with pytest.raises(ValueError):
            input_key(bad_user, bad_task)
