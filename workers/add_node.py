"""Handler of ADD_NODE_RESULT: the extended graph becomes the user's current graph, unless
the graph changed while the nodes were being added (checked in the commit itself)."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import AddNodeResult, Envelope, TaskType
from graphnode.stores import ResultKind
from workers.results import ResultHandler, end_job


@shared_task(name=TaskType.ADD_NODE_RESULT.value, base=ResultHandler, bind=True)
def on_nodes_added(self: ResultHandler, envelope: Envelope, result: AddNodeResult) -> None:
    end_job(envelope, result, {ResultKind.GRAPH: "graph", ResultKind.ADDED_NODES: "assignments"},
            base_graph=result.baseGraphTaskId)
