"""GRAPH_SUMMARY_REQUEST: a stored graph to an overview, insights, patterns, recommendations."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import (
    Envelope,
    GraphSummaryRequest,
    GraphSummaryResult,
    JobStatus,
    TaskType,
)
from graphnode.runtime.middleware import EnvelopeTask
from tasks.context import bad_input_fails_the_job, put_outputs, read_graph, text_generator


@shared_task(name=TaskType.GRAPH_SUMMARY_REQUEST.value, base=EnvelopeTask, bind=True)
def summarize(self: EnvelopeTask, envelope: Envelope, request: GraphSummaryRequest) -> None:
    from tasks.pipeline.jobs import summarize_graph as run

    generator = text_generator()
    graph = read_graph(request.graphKey)
    with bad_input_fails_the_job():
        output = run(graph, generator=generator, report=self.progress)
    keys = put_outputs(request.userId, envelope.taskId, output.documents)
    self.send(TaskType.GRAPH_SUMMARY_RESULT, envelope.taskId, GraphSummaryResult(
        userId=request.userId, status=JobStatus.COMPLETED, outputKeys=keys, stats=output.stats,
    ))
