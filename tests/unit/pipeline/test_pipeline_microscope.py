"""MICROSCOPE_INGEST: chunking, entity names, key-phrase and LLM entity/relation extraction."""

from __future__ import annotations

import itertools
import os
import unicodedata

import pytest

from tasks.pipeline.errors import InputError
from tasks.pipeline.microscope import Chunk, chunk_document, extract_graph
from tasks.pipeline.microscope.assembly import EVIDENCE_CHARS, trim
from tasks.pipeline.microscope.key_phrases import phrase_mentions
from tasks.pipeline.microscope.llm_extraction import extraction_prompt, parse_extraction
from tasks.pipeline.microscope.names import normalise_entity_name

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CURIE = """Marie Curie was a physicist and chemist who conducted pioneering research on \
radioactivity. She was born in Warsaw and moved to Paris to study at the Sorbonne. At the \
Sorbonne she met Pierre Curie, a professor of physics.

Marie Curie and Pierre Curie worked together on radioactivity. In 1898 they announced the \
discovery of two new elements, polonium and radium. Their work on radioactivity was slow and \
physically demanding, carried out in a converted shed next to the school.

In 1903 Marie Curie and Pierre Curie shared the Nobel Prize in Physics with Henri Becquerel for \
their research on radioactivity. Marie Curie was the first woman to win a Nobel Prize.

After Pierre Curie died in a street accident in 1906, Marie Curie took over his professorship \
at the Sorbonne. She became the first woman to teach at the Sorbonne.

In 1911 Marie Curie received a second Nobel Prize, this time in chemistry, for the isolation of \
pure radium. She founded the Radium Institute in Paris, which became a centre for research on \
radioactivity and nuclear physics.

During the First World War, Marie Curie developed mobile radiography units to help treat \
wounded soldiers. Her daughter Irène Joliot-Curie also became a chemist and won a Nobel Prize \
for artificial radioactivity.
"""


def by_id(graph: dict) -> dict[str, dict]:
    return {e["id"]: e for e in graph["entities"]}


def relation(graph: dict, a: str, b: str, kind: str = "co-occurs") -> dict | None:
    for r in graph["relations"]:
        if r["type"] == kind and {r["source"], r["target"]} == {a, b}:
            return r
    return None


# --- chunking ------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "overlap"), [(600, 120), (400, 100), (1200, 200), (250, 0)])
def test_chunks_cover_the_text_and_overlap(size, overlap):
    chunks = chunk_document(CURIE, chunk_chars=size, overlap=overlap)
    assert [c.id for c in chunks] == [f"chunk-{i}" for i in range(len(chunks))]
    covered = set()
    for chunk in chunks:
        assert chunk.text == CURIE[chunk.start:chunk.end]
        assert 0 < len(chunk.text) <= size
        assert chunk.text == chunk.text.strip()
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(CURIE) if not ch.isspace())
    for a, b in itertools.pairwise(chunks):
        assert a.start < b.start
        if overlap:
            assert 0 < a.end - b.start <= overlap
        else:
            assert b.start >= a.end


def test_chunks_end_at_paragraphs_or_sentences_and_start_at_sentences():
    chunks = chunk_document(CURIE, chunk_chars=600, overlap=150)
    assert len(chunks) >= 3
    for chunk in chunks[:-1]:
        assert chunk.text.endswith(".")
    for chunk in chunks:
        assert chunk.text[0].isupper()  # every window starts with a sentence


def test_chunk_prefers_a_paragraph_break_over_a_later_sentence_end():
    first = "Alpha beta gamma. " * 20 + "\n\n"  # 362 characters, then a new paragraph
    text = first + "Delta epsilon zeta. " * 20
    chunk = chunk_document(text, chunk_chars=500, overlap=0)[0]
    assert chunk.end == len(first.rstrip())


def test_short_text_is_one_chunk_and_long_words_are_cut_hard():
    assert chunk_document("  Just one line.  ") == [Chunk("chunk-0", "Just one line.", 2, 16)]
    chunks = chunk_document("x" * 2500, chunk_chars=1000, overlap=100)
    assert [(c.start, c.end) for c in chunks] == [(0, 1000), (900, 1900), (1800, 2500)]


def test_chunking_handles_cjk_sentence_ends_without_spaces():
    text = "마리 퀴리는 과학자였다. " * 5 + "第一句。第二句！" * 20
    chunks = chunk_document(text, chunk_chars=80, overlap=20)
    assert all(c.text == text[c.start:c.end] for c in chunks)
    assert all(c.text.endswith((".", "。", "！")) for c in chunks[:-1])


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_document_is_an_input_error(text):
    with pytest.raises(InputError, match="empty"):
        chunk_document(text)


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (100, 100), (100, -1)])
def test_bad_chunk_sizes_are_input_errors(size, overlap):
    with pytest.raises(InputError):
        chunk_document("Some text.", chunk_chars=size, overlap=overlap)


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Neural Networks", "neural network"),
        ("neural network", "neural network"),
        ("Marie Curie's", "marie curie"),
        ("MARIE CURIE'S", "marie curie"),
        ("  Marie \n Curie ", "marie curie"),
        ("the Curies'", "curie"),
        ("Studies", "study"),
        ("Classes", "class"),
        ("boxes", "box"),
        ("Movies", "movie"),
        ("Physics", "physics"),
        ("analysis", "analysis"),
        ("GPUs", "gpu"),
        ("AWS", "aws"),
        ("U.S.", "us"),
        ("C++", "c++"),
        ("state-of-the-art models", "state-of-the-art model"),
        ("“Radioactivity!”", "radioactivity"),
        ("Ｒａｄｉｕｍ", "radium"),  # full-width letters, NFKC
        ("ﬁles", "file"),  # ligature, NFKC
        ("신경망 모델", "신경망 모델"),
        (unicodedata.normalize("NFD", "신경망"), "신경망"),  # decomposed jamo compose again
        ("마리 퀴리는", "마리 퀴리"),  # a particle ending the name goes
        ("마리 퀴리가", "마리 퀴리"),
        ("Irène Joliot-Curie", "irène joliot-curie"),
        ("...", ""),
    ],
)
def test_normalise_entity_name(name, expected):
    assert normalise_entity_name(name) == expected


def test_two_documents_share_entity_ids():
    one = extract_graph(chunk_document("Neural Networks learn features. Neural Networks rock."))
    two = extract_graph(chunk_document("A neural network is trained on data by a neural network."))
    assert "neural network" in by_id(one) and "neural network" in by_id(two)
    assert by_id(one)["neural network"]["name"] == "Neural Networks"
    assert by_id(two)["neural network"]["name"] == "neural network"


def test_phrase_mentions_mark_names_and_skip_stop_words():
    mentions = phrase_mentions("Radioactivity was studied by Marie Curie at the Sorbonne.", 10)
    found = {m.key: m for m in mentions}
    assert found["marie curie"].is_name and found["sorbonne"].is_name
    assert found["marie curie"].start == 10 + len("Radioactivity was studied by ")
    assert not found["radioactivity"].is_name  # capitalised only as the first word
    assert not {"was", "by", "at", "the", "studied"} & set(found)


def test_phrases_end_at_possessives_and_korean_particles():
    keys = {m.key: m.surface for m in phrase_mentions("Marie Curie's laboratory was cold.")}
    assert keys["marie curie"] == "Marie Curie" and "curie laboratory" not in keys
    korean = {m.key: m.surface for m in phrase_mentions("마리 퀴리는 방사능을 연구했다.")}
    assert korean["마리 퀴리"] == "마리 퀴리" and korean["방사능"] == "방사능"
    assert "퀴리 방사능" not in korean and "퀴리는 방사능" not in korean


def test_korean_document_entities_and_relations():
    text = (
        "마리 퀴리는 방사능을 연구했다. 마리 퀴리가 소르본에서 피에르 퀴리를 만났다. "
        "마리 퀴리와 피에르 퀴리는 방사능 연구를 함께 했습니다."
    )
    graph = extract_graph(chunk_document(text))
    entities = by_id(graph)
    assert entities["마리 퀴리"]["mentions"] == 3 and entities["마리 퀴리"]["name"] == "마리 퀴리"
    assert {"피에르 퀴리", "방사능", "소르본"} <= set(entities)
    assert "만났다" not in entities  # a past-tense predicate, not an entity
    pair = relation(graph, "마리 퀴리", "소르본")
    assert pair["evidence"][0]["text"] == "마리 퀴리가 소르본에서 피에르 퀴리를 만났다."


# --- key-phrase extraction -----------------------------------------------------------------


@pytest.fixture(scope="module")
def curie_chunks():
    return chunk_document(CURIE, chunk_chars=600, overlap=120)


@pytest.fixture(scope="module")
def curie_graph(curie_chunks):
    return extract_graph(curie_chunks)


def test_key_phrases_find_the_known_entities(curie_graph):
    entities = by_id(curie_graph)
    for key, name, kind in [
        ("marie curie", "Marie Curie", "name"),
        ("pierre curie", "Pierre Curie", "name"),
        ("sorbonne", "Sorbonne", "name"),
        ("nobel prize", "Nobel Prize", "name"),
        ("radioactivity", "radioactivity", "concept"),
    ]:
        assert entities[key]["name"] == name and entities[key]["type"] == kind, key
    # Parts of a recurring name are not entities of their own.
    assert not {"marie", "curie", "pierre", "nobel", "prize"} & set(entities)
    # The document's subject is in every chunk and is its most mentioned entity.
    top = curie_graph["entities"][0]
    assert top["id"] == "marie curie" and top["mentions"] == CURIE.count("Marie Curie")
    assert entities["radioactivity"]["chunkIds"] == [c["id"] for c in curie_graph["chunks"]]
    assert all(len({e["id"] for e in curie_graph["entities"]
                    if c["id"] in e["chunkIds"]}) <= 8 for c in curie_graph["chunks"])


def test_overlapping_chunks_do_not_double_count_mentions(curie_graph):
    entities = by_id(curie_graph)
    assert entities["sorbonne"]["mentions"] == CURIE.count("Sorbonne")
    assert entities["pierre curie"]["mentions"] == CURIE.count("Pierre Curie")


def test_co_occurrence_relation_quotes_the_sentence(curie_graph):
    pair = relation(curie_graph, "marie curie", "pierre curie")
    assert pair is not None and pair["source"] == "marie curie"
    assert pair["weight"] == len(pair["evidence"]) >= 1
    quotes = {e["text"] for e in pair["evidence"]}
    assert "Marie Curie and Pierre Curie worked together on radioactivity." in quotes
    chunk_ids = {c["id"] for c in curie_graph["chunks"]}
    assert all(e["chunkId"] in chunk_ids for e in pair["evidence"])


def test_relation_without_a_shared_sentence_quotes_the_chunk_start(curie_graph, curie_chunks):
    first = curie_chunks[0]
    pair = relation(curie_graph, "paris", "pierre curie")
    assert pair is not None
    (evidence,) = [e for e in pair["evidence"] if e["chunkId"] == first.id]
    assert evidence["text"] == trim(first.text)
    assert len(evidence["text"]) <= EVIDENCE_CHARS and evidence["text"].endswith("…")


def test_relations_refer_to_entities_and_are_sorted(curie_graph):
    ids = set(by_id(curie_graph))
    weights = [r["weight"] for r in curie_graph["relations"]]
    assert weights == sorted(weights, reverse=True)
    for r in curie_graph["relations"]:
        assert r["source"] in ids and r["target"] in ids and r["source"] < r["target"]
        assert r["type"] == "co-occurs"


def test_output_shape(curie_graph, curie_chunks):
    assert set(curie_graph) == {"entities", "relations", "chunks", "extraction"}
    assert curie_graph["chunks"] == [
        {"id": c.id, "start": c.start, "end": c.end} for c in curie_chunks
    ]
    assert curie_graph["extraction"]["method"] == "key-phrase"
    assert curie_graph["extraction"]["fallbackChunks"] == []
    assert set(curie_graph["entities"][0]) == {"id", "name", "type", "mentions", "chunkIds"}


def test_no_chunks_is_an_input_error():
    with pytest.raises(InputError):
        extract_graph([])


def test_trim_cuts_at_a_word():
    assert trim("a  b\n c") == "a b c"
    cut = trim("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("word…")


# --- LLM extraction ------------------------------------------------------------------------


class Scripted:
    """A fake generator answering each chunk by a phrase the chunk contains."""

    def __init__(self, answers: dict[str, str | Exception]):
        self.answers = answers
        self.prompts: list[str] = []

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        self.prompts.append(prompt)
        for marker, answer in self.answers.items():
            if marker in prompt:
                if isinstance(answer, Exception):
                    raise answer
                return answer
        return "I cannot help with that."


GOOD = """Here are the entities:
ENTITY: Marie Curie | person
ENTITY: Pierre Curie | Person
- **ENTITY:** Sorbonne | organization
ENTITY: radioactivity | concept
RELATION: Marie Curie | married | Pierre Curie
RELATION: Marie Curie | studied at | Sorbonne
RELATION: Marie Curie | researched | Radioactivity
RELATION: Pierre Curie | taught | physics
RELATION: broken line without parts
"""


def test_parse_extraction_is_forgiving():
    entities, relations = parse_extraction(GOOD + "\nENTITY: | person\nENTITY: 1906\n")
    assert entities == [
        ("Marie Curie", "person"),
        ("Pierre Curie", "person"),
        ("Sorbonne", "organization"),
        ("radioactivity", "concept"),
    ]
    assert relations[:3] == [
        ("Marie Curie", "married", "Pierre Curie"),
        ("Marie Curie", "studied at", "Sorbonne"),
        ("Marie Curie", "researched", "Radioactivity"),
    ]
    assert parse_extraction("1. **Entity**: \"Marie Curie\" (physicist) | PERSON") == (
        [("Marie Curie", "person")], []
    )
    assert parse_extraction("ENTITY:\nRELATION: Warsaw | birthplace of | Marie Curie") == (
        [], [("Warsaw", "birthplace of", "Marie Curie")]
    )
    assert parse_extraction("nothing useful") == ([], [])
    assert parse_extraction("entity: Paris") == ([("Paris", "concept")], [])


def test_llm_path_with_a_garbage_chunk_falling_back(curie_chunks):
    first, *rest = curie_chunks
    generator = Scripted({first.text[:60]: GOOD, rest[0].text[:60]: "lorem ipsum"})
    graph = extract_graph(curie_chunks, generator=generator)
    assert len(generator.prompts) == len(curie_chunks)
    assert generator.prompts[0] == extraction_prompt(first.text, 8)
    extraction = graph["extraction"]
    assert extraction["method"] == "llm" and extraction["llmChunks"] == 1
    assert extraction["fallbackChunks"] == [c.id for c in rest]

    entities = by_id(graph)
    assert entities["marie curie"]["type"] == "person"  # the LLM's type wins in its chunk
    assert entities["physics"]["chunkIds"][0] == first.id  # relation endpoint became an entity
    married = relation(graph, "marie curie", "pierre curie", "married")
    assert married == {
        "source": "marie curie",
        "target": "pierre curie",
        "type": "married",
        "weight": 1,
        "evidence": [{"chunkId": first.id, "text": "Marie Curie and Pierre Curie worked "
                                                   "together on radioactivity."}],
    }
    studied = relation(graph, "marie curie", "sorbonne", "studied at")
    assert studied["evidence"][0]["text"] == trim(first.text)  # no sentence names both
    # The garbage chunk and the others were extracted by key phrases.
    assert relation(graph, "marie curie", "pierre curie") is not None
    assert any(rest[0].id in e["chunkIds"] for e in graph["entities"])


def test_llm_failure_on_every_chunk_is_the_key_phrase_graph(curie_chunks, curie_graph):
    graph = extract_graph(curie_chunks, generator=Scripted({"": RuntimeError("HTTP 500")}))
    assert graph["extraction"]["method"] == "key-phrase"
    assert graph["extraction"]["fallbackChunks"] == [c.id for c in curie_chunks]
    assert graph["entities"] == curie_graph["entities"]
    assert graph["relations"] == curie_graph["relations"]


def test_llm_entities_are_capped_and_located():
    text = "Alpha met Beta. Gamma met Delta. Epsilon met Zeta."
    answer = "\n".join(f"ENTITY: {n} | person" for n in
                       ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Omega"])
    answer += "\nRELATION: Alpha | met | Beta\nRELATION: Gamma | met | Omega"
    graph = extract_graph(chunk_document(text), generator=Scripted({"Alpha": answer}),
                          max_entities_per_chunk=3)
    assert [e["id"] for e in graph["entities"]] == ["alpha", "beta", "gamma"]
    assert [(r["source"], r["target"]) for r in graph["relations"]] == [("alpha", "beta")]
    assert graph["relations"][0]["evidence"][0]["text"] == "Alpha met Beta."
    # An entity the text never spells out still counts once.
    unseen = extract_graph(chunk_document(text), generator=Scripted({"": "ENTITY: Kappa"}))
    assert by_id(unseen)["kappa"] == {
        "id": "kappa", "name": "Kappa", "type": "concept", "mentions": 1, "chunkIds": ["chunk-0"]
    }


def test_llm_entities_are_found_behind_korean_particles():
    text = "마리 퀴리는 방사능을 연구했다. 마리 퀴리가 소르본에서 피에르 퀴리를 만났다."
    answer = "ENTITY: 마리 퀴리 | person\nRELATION: 마리 퀴리 | 만남 | 피에르 퀴리"
    graph = extract_graph(chunk_document(text), generator=Scripted({"": answer}))
    entities = by_id(graph)
    assert entities["마리 퀴리"]["mentions"] == 2 and entities["피에르 퀴리"]["mentions"] == 1
    (met,) = graph["relations"]
    assert (met["source"], met["type"], met["target"]) == ("마리 퀴리", "만남", "피에르 퀴리")
    assert met["evidence"][0]["text"] == "마리 퀴리가 소르본에서 피에르 퀴리를 만났다."
