"""Shared fixtures. Integration tests start the real local stack once per session."""

from __future__ import annotations

import os

import pytest

# Every AWS client in the tests talks to an emulator; give boto3 credentials to sign with.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def sqlite_store(tmp_path):
    from graphnode.stores.sqlite import SQLiteStore

    return SQLiteStore(tmp_path / "store.db")
