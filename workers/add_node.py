"""Handler of ADD_NODE_RESULT: the extended graph becomes the user's current graph."""

from __future__ import annotations

from graphnode.celery_app import celery_app
from graphnode.contract import AddNodeResult, Envelope, JobStatus, TaskType
from graphnode.middleware import EnvelopeTask
from graphnode.stores import ResultKind
from workers.context import result_context
from workers.results import notify_final, persist_result


@celery_app.task(name=TaskType.ADD_NODE_RESULT.value, base=EnvelopeTask, bind=True)
def on_nodes_added(self: EnvelopeTask, envelope: Envelope, result: AddNodeResult) -> None:
    persisted = persist_result(envelope, result, ResultKind.GRAPH, "graph")
    if not persisted:
        return
    job, _ = persisted
    if job.status == JobStatus.COMPLETED:
        # Which cluster each item joined, and why, is kept beside the graph.
        ctx = result_context()
        assignments = ctx.payloads.get_json(result.outputKeys["assignments"])
        ctx.store.save_result(result.userId, envelope.taskId, ResultKind.ADDED_NODES,
                              assignments)
    notify_final(job, graphUrl="/v1/graphs/me", resultUrl=f"/v1/jobs/{job.taskId}/result")
