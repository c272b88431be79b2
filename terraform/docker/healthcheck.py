"""Container health check: is this role able to do its work right now?

    python healthcheck.py api              the API answers /healthz on its port
    python healthcheck.py queue request    the GPU worker's credentials and network reach
                                           its queue (GRAPHNODE_REQUEST_QUEUE)
    python healthcheck.py queue result     the same for the result worker

A worker's process is the container's main process (its death ends the container), so what
is left to check is what a stuck rollout hides: a role without permission on, or without a
route to, its queue.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def api_answers() -> None:
    port = os.environ.get("PORT", "8000")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
        if response.status != 200:
            raise SystemExit(f"/healthz answered {response.status}")


def queue_reachable(direction: str) -> None:
    from graphnode.aws import aws_client
    from graphnode.settings import CommonSettings

    settings = CommonSettings()
    queue = {"request": settings.request_queue, "result": settings.result_queue}[direction]
    aws_client("sqs", settings).get_queue_attributes(
        QueueUrl=settings.queue_url(queue), AttributeNames=["ApproximateNumberOfMessages"])


if __name__ == "__main__":
    if sys.argv[1:] == ["api"]:
        api_answers()
    elif len(sys.argv) == 3 and sys.argv[1] == "queue" and sys.argv[2] in ("request", "result"):
        queue_reachable(sys.argv[2])
    else:
        raise SystemExit(__doc__)
