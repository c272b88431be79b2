"""Graph summary, add-node and microscope ingest through the real stack, after the graph of
``completed_job`` (the bundled sample, six topics) exists."""

from __future__ import annotations

import io

import pytest

from tests.integration.conftest import EventCollector, client_for

pytestmark = pytest.mark.integration

SOURDOUGH_NOTE = {
    "id": "note-sourdough", "title": "Feeding my sourdough starter", "source_type": "note",
    "sections": [{"id": "s1", "content": (
        "My sourdough starter doubles in six hours at room temperature. I feed it equal "
        "weights of flour and water, and bake a loaf when the dough has risen and the crumb "
        "looks open. The bread needs a long bulk fermentation and a hot oven.")}],
}
ASTRONOMY_NOTES = [
    {"id": f"note-astro-{i}", "title": title, "source_type": "note",
     "sections": [{"id": "s1", "content": text}]}
    for i, (title, text) in enumerate([
        ("Telescope for Jupiter", "Which telescope aperture shows the moons of Jupiter and "
         "the rings of Saturn? A refractor with a good eyepiece and dark skies away from city "
         "light pollution helps with planets, nebulae and galaxies."),
        ("Observing the Andromeda galaxy", "The Andromeda galaxy is visible to the naked eye "
         "from a dark site. Binoculars and a star chart help find it near Cassiopeia; a "
         "telescope shows its bright core and dust lanes in long exposures."),
        ("Photographing the Orion nebula", "A tracking mount keeps the Orion nebula sharp "
         "through a telescope; stack many short exposures of the nebula and its stars, and "
         "observe from dark skies on a moonless night to see the galaxy of faint detail."),
    ])
]
# Three, not two: a new cluster needs a coherent group of at least three items; fewer join
# the nearest cluster with a low confidence instead (tasks/pipeline/add_node.py).


def post_document(client, group_id, name, data):
    response = client.session.post(
        f"{client.base_url}/v1/workspaces/{group_id}/documents",
        files={"file": (name, io.BytesIO(data))}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def test_summary_of_the_current_graph(completed_job, stack, api_settings):
    alice = completed_job["alice"]
    events = EventCollector(alice)
    task_id = alice._check(alice.session.post(f"{alice.base_url}/v1/graphs/me/summary",
                                              timeout=30))["taskId"]
    done = events.wait_for("completed", task_id, timeout=60)
    assert done.data["taskType"] == "GRAPH_SUMMARY_REQUEST"
    summary = alice._check(alice.session.get(f"{alice.base_url}/v1/graphs/me/summary",
                                             timeout=30))
    graph = alice.my_graph()
    assert summary["overview"]["totalNodes"] == len(graph["nodes"])
    assert len(summary["clusters"]) == len(graph["metadata"]["clusters"])
    assert summary["overview"]["mostActivePeriod"]
    assert summary["recommendations"] and summary["generatedBy"] == "statistics"
    assert all(c["insight"] for c in summary["clusters"])


def test_add_nodes_joins_known_topics_and_opens_new_ones(completed_job, stack, api_settings):
    alice = completed_job["alice"]
    before = alice.my_graph()
    events = EventCollector(alice)
    notes = {"source_nodes": [SOURDOUGH_NOTE, *ASTRONOMY_NOTES]}
    task_id = alice._check(alice.session.post(f"{alice.base_url}/v1/graphs/me/nodes",
                                              json=notes, timeout=30))["taskId"]
    events.wait_for("completed", task_id, timeout=90)
    assignments = {a["origId"]: a for a in
                   alice._check(alice.session.get(f"{alice.base_url}/v1/jobs/{task_id}/result",
                                                  timeout=30))["result"]}
    sourdough_cluster = next(n["clusterId"] for n in before["nodes"]
                             if "sourdough" in n["title"].lower())
    joined = assignments["note-sourdough"]
    assert joined["clusterId"] == sourdough_cluster and not joined["newCluster"]
    assert joined["reason"] and 0 < joined["confidence"] <= 1
    astro = {assignments[n["id"]]["clusterId"] for n in ASTRONOMY_NOTES}
    assert len(astro) == 1 and astro.pop() not in before["metadata"]["clusters"]

    after = alice.my_graph()
    assert after["taskId"] == task_id
    assert len(after["nodes"]) == len(before["nodes"]) + 1 + len(ASTRONOMY_NOTES)
    for cluster_id, meta in before["metadata"]["clusters"].items():
        assert after["metadata"]["clusters"][cluster_id]["name"] == meta["name"]


def test_microscope_workspace_merges_documents_and_reports_each(stack, api_settings):
    erin = client_for(stack, api_settings, "erin")
    events = EventCollector(erin)
    documents = {
        "curie.md": b"# Marie Curie\n\nMarie Curie studied radioactivity at the Sorbonne in "
                    b"Paris. Marie Curie and Pierre Curie discovered polonium and radium.\n\n"
                    b"Radioactivity became a new field of physics.",
        "nobel.txt": b"Marie Curie won the Nobel Prize twice. Her work on radioactivity at "
                     b"the Sorbonne inspired many physicists in Paris.",
        "broken.pdf": b"%PDF-1.4 this is not really a pdf",
    }
    accepted = {name: post_document(erin, "ws-curie", name, data)
                for name, data in documents.items()}
    notice = events.wait_for_type("workspace.completed", timeout=120)
    assert notice.data["groupId"] == "ws-curie"
    assert notice.data["documents"] == 3 and notice.data["failed"] == 1

    workspace = erin._check(erin.session.get(f"{erin.base_url}/v1/workspaces/ws-curie",
                                             timeout=30))
    status = {d["fileName"]: d for d in workspace["documents"]}
    assert workspace["complete"]
    assert status["curie.md"]["status"] == status["nobel.txt"]["status"] == "COMPLETED"
    assert status["broken.pdf"]["status"] == "FAILED"
    assert "broken.pdf" in status["broken.pdf"]["error"]
    entities = {e["id"]: e for e in workspace["graph"]["entities"]}
    assert "marie curie" in entities
    assert set(entities["marie curie"]["documents"]) == {
        accepted["curie.md"]["taskId"], accepted["nobel.txt"]["taskId"]}
    assert any(r["evidence"] for r in workspace["graph"]["relations"])
    bob = client_for(stack, api_settings, "bob")
    with pytest.raises(RuntimeError, match="404"):
        bob._check(bob.session.get(f"{bob.base_url}/v1/workspaces/ws-curie", timeout=30))
