"""A full disk under the SQLite store: the store lives on a small tmpfs of its own (mounting
one needs root; elsewhere the trial is skipped), which a filler file fills to the last
block while jobs are under way.

The API answers a JSON 503 ``store_full`` with Retry-After and records nothing; a result
that arrives meanwhile is retried by SQS redelivery and committed once space returns;
the database and its WAL pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from graphnode.contract.tokens import mint_token
from graphnode.settings import ApiSettings
from tests.integration.conftest import wait_for
from tests.integration.faults import (
    FaultStack,
    count_events,
    count_logged,
    report,
    tiny_export,
)

pytestmark = pytest.mark.integration

#: The store's file system: room for the schema and a few jobs, filled on purpose.
DISK_BYTES = 16 * 1024 * 1024
#: What the result worker logs for each receive that met the full disk.
DISK_FULL = "database or disk is full"
#: Submissions tried while the disk is full: each must be refused or, where a write still
#: fits in a block SQLite holds already, accepted and ended like any job.
SUBMISSIONS_WHILE_FULL = 5


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory) -> Iterator[Path]:
    mount = tmp_path_factory.mktemp("small-disk")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"no small file system to fill (mount -t tmpfs needs root): "
                    f"{done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def faults(tmp_path_factory, small_disk) -> Iterator[FaultStack]:
    stack = FaultStack.start(tmp_path_factory.mktemp("full-disk-stack"), store_dir=small_disk)
    try:
        yield stack
    finally:
        stack.stop_all()


@contextmanager
def disk_filled(faults: FaultStack, disk: Path) -> Iterator[None]:
    """Every block of the store's file system taken; the WAL emptied first, so that a
    write cannot reuse room it held. Freed again on exit."""
    with sqlite3.connect(faults.store_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:
            while True:  # the last partial block
                out.write(b"\0" * 512)
        except OSError:
            pass
    try:
        yield
    finally:
        filler.unlink()


def submit(faults: FaultStack, token: str, tag: str) -> requests.Response:
    return requests.post(f"{faults.dev.api_url}/v1/graphs/generate", json=tiny_export(tag),
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_full_disk_refuses_submissions_and_delays_results_without_losing_any(
        faults, small_disk, record_property):
    user = f"full-disk-{uuid.uuid4().hex[:8]}"
    token = mint_token(ApiSettings(jwt_secret=faults.dev.env["GRAPHNODE_JWT_SECRET"]), user)
    events = faults.listen(user)
    faults.stop("worker-res")  # the first job's result waits in graph-res for the full disk
    first = submit(faults, token, f"{user}-first")
    assert first.status_code == 202, first.text
    first_id = first.json()["taskId"]
    wait_for(lambda: faults.in_queue(faults.request_queue) == 0, 120, "the GPU work done")
    mark = faults.log_size("worker-res")
    with disk_filled(faults, small_disk):
        answers = [submit(faults, token, f"{user}-{n}") for n in range(SUBMISSIONS_WHILE_FULL)]
        refused = [a for a in answers if a.status_code == 503]
        accepted = [a.json()["taskId"] for a in answers if a.status_code == 202]
        assert len(refused) + len(accepted) == len(answers), [a.text for a in answers]
        assert refused, "no submission met the full disk"
        for answer in refused:
            assert answer.json()["error"]["code"] == "store_full"
            assert answer.headers["Retry-After"] == "60"
        faults.start_worker("res", 2)
        wait_for(lambda: faults.log_text("worker-res", mark).count(DISK_FULL) >= 2, 60,
                 "the result worker to meet the full disk")
        assert faults.job(first_id)["status"] != "COMPLETED"
        freed_at = time.monotonic()
    statuses = faults.wait_final([first_id, *accepted], timeout=120)
    recovered = time.monotonic() - freed_at
    assert set(statuses.values()) == {"COMPLETED"}, statuses
    assert faults.result_rows(first_id) == 1
    wait_for(lambda: count_events(events.events, "completed", first_id) == 1, 30,
             "the completed event")
    assert count_logged(faults.logged_events(user), "completed", first_id) == 1
    jobs = faults.store_dump(user)["jobs"]
    assert len(jobs) == 1 + len(accepted)  # a refused submission left no row
    with sqlite3.connect(faults.store_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    report(record_property, "full disk", jobs=1 + len(answers), refused_503=len(refused),
           completed=len(statuses), failed=0, lost=0, duplicated=0,
           receives_met_full_disk=sum(
               "failed on receive" in line and DISK_FULL in line
               for line in faults.log_text("worker-res", mark).splitlines()),
           recovered_s=round(recovered, 1))
