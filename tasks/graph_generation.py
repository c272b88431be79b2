"""GRAPH_GENERATION_REQUEST: a user's items in S3 to ``graph.json`` and ``features.json``."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import (
    Envelope,
    GraphGenerationRequest,
    GraphGenerationResult,
    JobStatus,
    TaskType,
)
from graphnode.runtime.middleware import EnvelopeTask
from tasks.context import (
    bad_input_fails_the_job,
    embedder,
    gpu_settings,
    payload_store,
    put_outputs,
    text_generator,
)


@shared_task(name=TaskType.GRAPH_GENERATION_REQUEST.value, base=EnvelopeTask, bind=True)
def generate_graph(self: EnvelopeTask, envelope: Envelope, request: GraphGenerationRequest) -> None:
    from tasks.pipeline.jobs import generate_graph as run

    with bad_input_fails_the_job():
        output = run(payload_store().get_json(request.inputKey, request.inputSha256),
                     embedder=embedder(), generator=text_generator(), settings=gpu_settings(),
                     min_clusters=request.minClusters, max_clusters=request.maxClusters,
                     report=self.progress)
    keys = put_outputs(request.userId, envelope.taskId, output.documents)
    self.send(TaskType.GRAPH_GENERATION_RESULT, envelope.taskId, GraphGenerationResult(
        userId=request.userId, status=JobStatus.COMPLETED, outputKeys=keys, stats=output.stats,
    ))
