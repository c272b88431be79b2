"""Handler of ADD_NODE_RESULT: the extended graph becomes the user's current graph, unless
the graph changed while the nodes were being added."""

from __future__ import annotations

from graphnode.celery_app import celery_app
from graphnode.contract import AddNodeResult, Envelope, JobStatus, TaskType
from graphnode.stores import ResultKind
from workers.context import result_context
from workers.results import ResultHandler, notify_final, persist_result


@celery_app.task(name=TaskType.ADD_NODE_RESULT.value, base=ResultHandler, bind=True)
def on_nodes_added(self: ResultHandler, envelope: Envelope, result: AddNodeResult) -> None:
    ctx = result_context()
    job = ctx.store.get_job(envelope.taskId)
    current = ctx.store.latest_result(result.userId, ResultKind.GRAPH)
    if (result.status == JobStatus.COMPLETED and job is not None and not job.status.is_final
            and current is not None and current.taskId != result.baseGraphTaskId):
        # Optimistic concurrency: another job replaced the graph these nodes were added to;
        # storing this one would silently drop that job's work.
        result = result.model_copy(update={
            "status": JobStatus.FAILED,
            "error": f"the graph changed while nodes were added (now {current.taskId}, was "
                     f"{result.baseGraphTaskId}); add them again",
        })
    persisted = persist_result(envelope, result, {
        ResultKind.GRAPH: "graph", ResultKind.ADDED_NODES: "assignments"})
    if persisted:
        notify_final(persisted[0], graphUrl="/v1/graphs/me",
                     resultUrl=f"/v1/jobs/{envelope.taskId}/result")
