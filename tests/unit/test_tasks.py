"""Job glue of the GPU worker that needs no queue: LLM labels and stored features."""

import numpy as np
import pytest

from tasks.pipeline.errors import InputError
from tasks.pipeline.jobs import apply_llm_labels, embeddings_in_node_order


class CannedGenerator:
    def __init__(self, text):
        self.text = text
        self.prompts = []

    def generate(self, prompt, max_new_tokens=96):
        self.prompts.append(prompt)
        return self.text


def graph():
    return {
        "nodes": [{"id": "a", "clusterId": "cluster-0", "clusterName": "Flour / Dough",
                   "title": "Sourdough starter"}],
        "metadata": {"clusters": {"cluster-0": {
            "name": "Flour / Dough", "description": "1 item about flour", "size": 1,
            "keyThemes": ["flour", "dough"]}}},
    }


def test_llm_labels_rename_clusters_and_their_nodes():
    g = graph()
    generator = CannedGenerator("Name: Bread Baking\nDescription: Conversations about bread.")
    apply_llm_labels(g, generator)
    meta = g["metadata"]["clusters"]["cluster-0"]
    assert meta["name"] == "Bread Baking" and meta["labelSource"] == "llm"
    assert g["nodes"][0]["clusterName"] == "Bread Baking"
    assert "flour" in generator.prompts[0] and "Sourdough starter" in generator.prompts[0]


def test_unusable_llm_output_keeps_the_keyword_names():
    g = graph()
    apply_llm_labels(g, CannedGenerator(""))
    assert g["metadata"]["clusters"]["cluster-0"] == {**graph()["metadata"]["clusters"][
        "cluster-0"], "labelSource": "keywords"}


def test_stored_embeddings_follow_the_graph_node_order():
    g = {"nodes": [{"id": "b"}, {"id": "a"}]}
    features = {"nodes": [{"id": "a", "embedding": [1.0, 0.0]},
                          {"id": "b", "embedding": [0.0, 1.0]}]}
    assert np.array_equal(embeddings_in_node_order(g, features), [[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(InputError, match="lack embeddings"):
        embeddings_in_node_order({"nodes": [{"id": "c"}]}, features)
