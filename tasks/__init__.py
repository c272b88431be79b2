"""What the GPU worker runs: the request tasks and, beneath them, the AI pipeline.

Task modules import the pipeline (torch, faiss, hdbscan) inside the task bodies only, so
loading them to register the tasks stays cheap.
"""
