"""The framework under the tasks: the Celery app factory and its SQS transport, the
middleware every task runs through (envelopes, visibility heartbeats, give-up, progress),
the batched event publisher, worker records, roles, metrics, logs and the status read.

It imports the contract and the stores, never the API or the operator tools.
"""
