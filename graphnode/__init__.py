"""GraphNode: AI-chat history to a knowledge graph, over Flask, Celery and SQS.

``celery -A graphnode worker -Q graph-req`` finds the Celery app here.
"""

from graphnode.celery_app import celery_app

celery = celery_app

__all__ = ["celery", "celery_app"]
