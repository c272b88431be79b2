from graphnode.contract.workspace_graph import MAX_EVIDENCE, merge_document_graphs


def doc(entities, relations):
    return {"entities": [{"id": e, "name": e.title(), "type": "concept", "mentions": m}
                         for e, m in entities],
            "relations": [{"source": a, "target": b, "type": "co-occurs", "weight": w,
                           "evidence": [{"chunkId": "chunk-0", "text": f"{a} {b}"}] * 4}
                          for a, b, w in relations]}


def test_entities_merge_by_id_across_documents():
    merged = merge_document_graphs([
        ("d1", doc([("marie curie", 2), ("radium", 1)], [("marie curie", "radium", 1)])),
        ("d2", doc([("marie curie", 3), ("sorbonne", 1)], [("radium", "marie curie", 2)])),
    ])
    by_id = {e["id"]: e for e in merged["entities"]}
    assert by_id["marie curie"]["mentions"] == 5
    assert by_id["marie curie"]["documents"] == ["d1", "d2"]
    assert merged["entities"][0]["id"] == "marie curie"
    (relation,) = merged["relations"]
    assert (relation["source"], relation["target"], relation["weight"]) == (
        "marie curie", "radium", 3)
    assert len(relation["evidence"]) == MAX_EVIDENCE
    assert {q["documentId"] for q in relation["evidence"]} == {"d1", "d2"}


def test_empty_workspace():
    assert merge_document_graphs([]) == {"entities": [], "relations": []}
