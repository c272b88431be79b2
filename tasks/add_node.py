"""ADD_NODE_REQUEST: new items joined to a user's existing graph without rebuilding it."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import AddNodeRequest, AddNodeResult, Envelope, JobStatus, TaskType
from graphnode.runtime.middleware import EnvelopeTask
from tasks.context import (
    bad_input_fails_the_job,
    embedder,
    gpu_settings,
    payload_store,
    put_outputs,
    read_graph,
)


@shared_task(name=TaskType.ADD_NODE_REQUEST.value, base=EnvelopeTask, bind=True)
def add_nodes(self: EnvelopeTask, envelope: Envelope, request: AddNodeRequest) -> None:
    from tasks.pipeline.jobs import add_nodes as run

    graph = read_graph(request.graphKey)
    features = read_graph(request.featuresKey)
    with bad_input_fails_the_job():
        output = run(graph, features,
                     payload_store().get_json(request.inputKey, request.inputSha256),
                     embedder=embedder(), settings=gpu_settings(), report=self.progress)
    keys = put_outputs(request.userId, envelope.taskId, output.documents)
    self.send(TaskType.ADD_NODE_RESULT, envelope.taskId, AddNodeResult(
        userId=request.userId, status=JobStatus.COMPLETED, outputKeys=keys,
        baseGraphTaskId=request.baseGraphTaskId, stats=output.stats,
    ))
