import pytest
from botocore.stub import Stubber
from moto import mock_aws

from graphnode.contract.payloads import (
    PayloadAccessError,
    PayloadError,
    PayloadStore,
    input_key,
    result_key,
)
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


def test_access_denied_is_a_retryable_access_error_with_its_real_message(payloads):
    # Regression (item 11): AccessDenied used to read "does not exist" and fail the job for good.
    key = "inputs/u/t/input.json"
    with Stubber(payloads.client) as s3:
        s3.add_client_error("get_object", service_error_code="AccessDenied",
                            service_message="Access Denied", http_status_code=403)
        with pytest.raises(PayloadAccessError) as denied:
            payloads.get_bytes(key)
    assert not isinstance(denied.value, PayloadError)
    assert "AccessDenied" in str(denied.value) and key in str(denied.value)
    assert "does not exist" not in str(denied.value)


def test_access_denied_is_not_turned_into_a_failed_job():
    """The GPU task lets it propagate: the message is not acknowledged and SQS redelivers."""
    from graphnode.runtime.middleware import JobFailed
    from tasks.context import bad_input_fails_the_job

    with pytest.raises(PayloadAccessError), bad_input_fails_the_job():
        raise PayloadAccessError("payload k: S3 AccessDenied")
    with pytest.raises(JobFailed), bad_input_fails_the_job():
        raise PayloadError("payload k does not exist")


def test_other_s3_errors_propagate_unchanged(payloads):
    from botocore.exceptions import ClientError

    with Stubber(payloads.client) as s3:
        s3.add_client_error("get_object", service_error_code="SlowDown", http_status_code=503)
        with pytest.raises(ClientError, match="SlowDown"):
            payloads.get_bytes("k")


def test_keys_are_built_from_validated_ids_only():
    key = input_key("alice@example.com", "task1")
    assert key.startswith("inputs/") and key.endswith("/task1/input.json")
    assert "alice" not in key
    assert result_key("alice", "task1", "graph.json").startswith("results/")
    for bad_user, bad_task in [("../x", "t"), ("u", "../../t"), ("u", "a/b")]:
        with pytest.raises(ValueError):
            input_key(bad_user, bad_task)
