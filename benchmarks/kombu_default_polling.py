"""GraphNode's Celery app with kombu's default SQS polling (long poll 10 s, 1 s between
polls) instead of ours (20 s, none), for benchmarks/queue_path.py's idle-receive comparison:

    celery -A benchmarks.kombu_default_polling worker -Q <queue>
"""

from graphnode.runtime.celery_app import create_celery_app

celery = create_celery_app()
celery.conf.broker_transport_options = {
    key: value for key, value in celery.conf.broker_transport_options.items()
    if key not in ("wait_time_seconds", "polling_interval")
}
