"""Handler of GRAPH_SUMMARY_RESULT."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import Envelope, GraphSummaryResult, TaskType
from graphnode.stores import ResultKind
from workers.results import ResultHandler, end_job


@shared_task(name=TaskType.GRAPH_SUMMARY_RESULT.value, base=ResultHandler, bind=True)
def on_summary(self: ResultHandler, envelope: Envelope, result: GraphSummaryResult) -> None:
    end_job(envelope, result, {ResultKind.SUMMARY: "summary"})
