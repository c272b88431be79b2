"""Per-user limits on the real stack: an API replica with a low in-flight limit beside the
session's own (same Redis, store, queues and workers, so the two share every count).

A user at the limit is refused with a JSON 429 and Retry-After, keeps every job already
accepted, gets a slot back when a job ends, and, hammering meanwhile, does not slow down
other users' submissions.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid

import pytest
import requests

from graphnode.contract.messages import JobStatus
from graphnode.contract.tokens import mint_token
from graphnode.settings import ApiSettings
from tests.integration.conftest import client_for, wait_for_job_end
from tests.integration.faults import tiny_export

pytestmark = pytest.mark.integration

IN_FLIGHT = 2
#: Submissions timed per phase, one per fresh user (a user of its own has every slot).
SAMPLES = 15
#: Threads sending the refused user's submissions back to back while the others are timed.
HAMMERS = 2
#: How much slower another user's median submission may get while one user is refused:
#: a refusal is one Redis script call, so the bound is loose only for the sake of a loaded
#: 2-core machine (measured there: see the test's properties).
MAX_SLOWDOWN_RATIO = 3.0
MAX_SLOWDOWN_SECONDS = 0.25
#: The smallest export the API accepts (it fails fast on the GPU worker): a bystander's
#: jobs should cost the shared workers next to nothing.
BYSTANDER_EXPORT = [{"title": "t", "mapping": {}, "current_node": None}]


@pytest.fixture(scope="module")
def limited(stack):
    """A second API process (one gevent worker) whose only difference is the limits."""
    name = "api-limited"
    url = stack.start_api(name, workers=1, env={
        "GRAPHNODE_MAX_JOBS_IN_FLIGHT": str(IN_FLIGHT),
        "GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE": "0"})  # off: only the in-flight limit here
    yield url
    process = stack.processes.pop(name)
    process.terminate()
    process.wait(15)


class Submitter:
    def __init__(self, url: str, api_settings: ApiSettings) -> None:
        self.url = f"{url}/v1/graphs/generate"
        self.settings = api_settings

    def session(self, user: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {mint_token(self.settings, user)}"
        return session

    def post(self, session: requests.Session, export: object) -> tuple[requests.Response, float]:
        started = time.monotonic()
        response = session.post(self.url, json=export, timeout=30)
        return response, time.monotonic() - started

    def bystanders_p50(self, run: str) -> float:
        """The median seconds of one submission each by SAMPLES users with nothing in flight."""
        seconds = []
        for n in range(SAMPLES):
            response, took = self.post(self.session(f"bystander-{run}-{n}"), BYSTANDER_EXPORT)
            assert response.status_code == 202, response.text
            seconds.append(took)
        return statistics.median(seconds)


def test_a_user_over_the_limit_is_refused_loses_nothing_and_slows_no_one(
        limited, stack, api_settings, record_property):
    submitter = Submitter(limited, api_settings)
    run = uuid.uuid4().hex[:6]
    hog = f"hog-{run}"
    hog_session = submitter.session(hog)
    accepted = []
    for n in range(IN_FLIGHT):
        response, _ = submitter.post(hog_session, tiny_export(f"{hog}-{n}"))
        assert response.status_code == 202, response.text
        accepted.append(response.json()["taskId"])

    response, _ = submitter.post(hog_session, tiny_export(f"{hog}-over"))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "too_many_jobs_in_flight"
    assert f"{IN_FLIGHT} of your jobs" in error["message"]
    assert "GRAPHNODE_MAX_JOBS_IN_FLIGHT" in error["message"]

    quiet_p50 = submitter.bystanders_p50(f"{run}-quiet")

    stop, refusals, hammer_seconds = threading.Event(), [], []

    def hammer(k: int) -> None:
        session = submitter.session(hog)
        n = 0
        while not stop.is_set():
            n += 1
            response, took = submitter.post(session, tiny_export(f"{hog}-h{k}-{n}"))
            if response.status_code == 202:  # one of the hog's jobs ended meanwhile
                accepted.append(response.json()["taskId"])
            else:
                assert response.status_code == 429, response.text
                refusals.append(response)
                hammer_seconds.append(took)

    hammers = [threading.Thread(target=hammer, args=(k,)) for k in range(HAMMERS)]
    for thread in hammers:
        thread.start()
    try:
        time.sleep(0.2)  # the hammering is under way before the first timed submission
        hammered_p50 = submitter.bystanders_p50(f"{run}-hammered")
    finally:
        stop.set()
        for thread in hammers:
            thread.join(30)

    record_property("bystander_p50_quiet_ms", round(quiet_p50 * 1000, 1))
    record_property("bystander_p50_hammered_ms", round(hammered_p50 * 1000, 1))
    record_property("refusal_p50_ms", round(statistics.median(hammer_seconds) * 1000, 1))
    record_property("refusals", len(refusals))
    print(f"bystander p50 quiet {quiet_p50 * 1000:.1f} ms, while {hog} was refused "
          f"{len(refusals)} times {hammered_p50 * 1000:.1f} ms; a refusal "
          f"{statistics.median(hammer_seconds) * 1000:.1f} ms")
    assert len(refusals) >= SAMPLES  # the hog really was hammering all along
    assert all(r.json()["error"]["code"] == "too_many_jobs_in_flight" for r in refusals)
    assert (hammered_p50 <= quiet_p50 * MAX_SLOWDOWN_RATIO
            or hammered_p50 - quiet_p50 <= MAX_SLOWDOWN_SECONDS), (quiet_p50, hammered_p50)

    # Nothing accepted was lost to the refusals, and a job's end frees its slot.
    client = client_for(stack, api_settings, hog)
    for task_id in accepted:
        assert wait_for_job_end(client, task_id, timeout=120)["status"] == JobStatus.COMPLETED
    response, _ = submitter.post(hog_session, tiny_export(f"{hog}-after"))
    assert response.status_code == 202, response.text
    again = response.json()["taskId"]
    assert wait_for_job_end(client, again, timeout=120)["status"] == JobStatus.COMPLETED
