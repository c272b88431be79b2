import json

import pytest

from graphnode.contract.messages import (
    MAX_ENVELOPE_BYTES,
    PAYLOAD_MODELS,
    SQS_MAX_MESSAGE_BYTES,
    ContractError,
    GraphGenerationRequest,
    GraphGenerationResult,
    JobStatus,
    Progress,
    TaskType,
    json_schemas,
    make_envelope,
    parse_envelope,
)

SHA = "a" * 64


def request_payload(**changes):
    fields = {"userId": "alice", "inputKey": "inputs/x/y/input.json", "inputSha256": SHA}
    return GraphGenerationRequest(**{**fields, **changes})


def test_round_trip_keeps_every_field():
    envelope = make_envelope(TaskType.GRAPH_GENERATION_REQUEST, "t1", request_payload())
    parsed, payload = parse_envelope(json.loads(json.dumps(envelope)))
    assert parsed.taskId == "t1" and parsed.version == 1
    assert payload == request_payload()


def test_every_task_type_has_a_payload_model_and_a_schema():
    assert set(PAYLOAD_MODELS) == set(TaskType)
    schemas = json_schemas()
    assert {t.value for t in TaskType} | {"Envelope"} == set(schemas)
    assert schemas["GRAPH_GENERATION_REQUEST"]["properties"]["minClusters"]["default"] == 3


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda e: e.pop("taskId"), "taskId: Field required"),
        (lambda e: e.update(taskType="NOPE"), "taskType"),
        (lambda e: e.update(version=2), "version"),
        (lambda e: e["payload"].update(inputSha256="xyz"), "inputSha256"),
        (lambda e: e["payload"].update(minClusters=9), "minClusters must not exceed maxClusters"),
        (lambda e: e["payload"].update(surprise=1), "surprise"),
        (lambda e: e.update(taskId="../../etc"), "taskId"),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_reason(mutate, needle):
    envelope = make_envelope(TaskType.GRAPH_GENERATION_REQUEST, "t1", request_payload())
    mutate(envelope)
    with pytest.raises(ContractError, match=needle.split(":")[0]) as info:
        parse_envelope(envelope)
    assert needle.split(": ")[-1] in str(info.value)


def test_expected_task_type_is_enforced():
    envelope = make_envelope(TaskType.GRAPH_GENERATION_REQUEST, "t1", request_payload())
    with pytest.raises(ContractError, match="where GRAPH_GENERATION_RESULT was expected"):
        parse_envelope(envelope, expected=TaskType.GRAPH_GENERATION_RESULT)


def test_result_status_rules():
    with pytest.raises(ValueError, match="needs an error"):
        GraphGenerationResult(userId="u", status=JobStatus.FAILED)
    with pytest.raises(ValueError, match="needs outputKeys"):
        GraphGenerationResult(userId="u", status=JobStatus.COMPLETED)


def test_payload_must_match_task_type():
    with pytest.raises(ContractError, match="takes a Progress payload"):
        make_envelope(TaskType.GRAPH_GENERATION_PROGRESS, "t1", request_payload())


def test_envelope_budget_leaves_room_for_celerys_wrapping_within_sqs_limit():
    assert 4 * MAX_ENVELOPE_BYTES <= SQS_MAX_MESSAGE_BYTES


def test_oversized_envelope_is_refused():
    progress = Progress(userId="u", stage="s", progress=0.5, message="x" * 500)
    assert make_envelope(TaskType.GRAPH_GENERATION_PROGRESS, "t", progress)
    big = GraphGenerationResult(
        userId="u", status=JobStatus.COMPLETED,
        outputKeys={f"k{i}": "v" * 1000 for i in range(MAX_ENVELOPE_BYTES // 1000)},
    )
    with pytest.raises(ContractError, match="put the data in S3"):
        make_envelope(TaskType.GRAPH_GENERATION_RESULT, "t", big)


def test_an_incoming_message_over_the_envelope_budget_is_refused_unread():
    """A 1 MiB body fits SQS but no producer of ours writes one: it is malformed."""
    envelope = make_envelope(TaskType.GRAPH_GENERATION_PROGRESS, "t",
                             Progress(userId="u", stage="s", progress=0.5))
    envelope["payload"]["message"] = "x" * SQS_MAX_MESSAGE_BYTES
    with pytest.raises(ContractError, match="over the 65536-byte limit"):
        parse_envelope(envelope)
