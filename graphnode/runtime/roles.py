"""The roles a process plays, in one place: which queue makes which role, which task
modules each role loads and which settings it needs, and which queue a task type rides.

A worker consuming graph-req is the GPU role (``worker-req`` in the Procfile): it loads
``tasks/`` and never ``workers/``; one consuming graph-res is the result role
(``worker-res``): ``workers/`` only, so numpy and the AI pipeline stay out of it.
"""

from __future__ import annotations

from collections.abc import Collection

from graphnode.contract.messages import TaskType
from graphnode.settings import CommonSettings, GpuWorkerSettings, ResultWorkerSettings

REQUEST_TASK_MODULES = [
    "tasks.graph_generation",
    "tasks.graph_summary",
    "tasks.add_node",
    "tasks.microscope",
]
RESULT_TASK_MODULES = [
    "workers.graph_generation",
    "workers.graph_summary",
    "workers.add_node",
    "workers.microscope",
    # No tasks: the result worker's main-process threads, started at worker_ready.
    "workers.outbox",
    "workers.deadline",
]
TASK_MODULES = REQUEST_TASK_MODULES + RESULT_TASK_MODULES


def queue_for(task_type: TaskType, settings: CommonSettings) -> str:
    """Requests ride graph-req to the GPU role; results and progress graph-res back."""
    return settings.request_queue if task_type.is_request else settings.result_queue


def worker_role(settings: CommonSettings, queues: Collection[str]) -> str:
    """The Procfile name of the role that consumes ``queues``."""
    roles = [role for queue, role in ((settings.request_queue, "worker-req"),
                                      (settings.result_queue, "worker-res")) if queue in queues]
    return "+".join(roles) or "worker"


def role_task_modules(settings: CommonSettings, queues: Collection[str] | None) -> list[str]:
    """The task modules a worker consuming ``queues`` (None: all) loads: the result worker
    never imports tasks/ (nor numpy beneath it), the GPU worker never workers/."""
    if not queues:
        return TASK_MODULES
    modules = []
    if settings.request_queue in queues:
        modules += REQUEST_TASK_MODULES
    if settings.result_queue in queues:
        modules += RESULT_TASK_MODULES
    return modules or TASK_MODULES


def role_settings(settings: CommonSettings,
                  queues: Collection[str] | None) -> list[type[CommonSettings]]:
    """The settings classes of every role a worker consuming ``queues`` (None: all) plays."""
    roles: list[type[CommonSettings]] = []
    if queues is None or settings.request_queue in queues:
        roles.append(GpuWorkerSettings)
    if queues is None or settings.result_queue in queues:
        roles.append(ResultWorkerSettings)
    return roles
