"""The optional LLM stage: a tiny local GPT-2 built here, and a real local HTTP endpoint."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tasks.pipeline.llm import (
    LABEL_MAX_NEW_TOKENS,
    LocalTransformersGenerator,
    OpenAICompatibleGenerator,
    fit_to_context,
    label_clusters,
    label_prompt,
    make_generator,
    parse_label,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CANNED = "Name: Bread Baking\nDescription: Conversations about sourdough."
BREAD = {
    "name": "Sourdough / Starter / Flour",
    "keywords": ["sourdough", "starter", "flour", "baking"],
    "titles": ["My starter smells sour", "Dense sourdough crumb"],
}
FOOTBALL = {"name": "Football / Striker", "keywords": ["football", "striker"], "titles": []}
TRAINING_TEXT = [
    CANNED,
    "Keywords: sourdough, starter, flour, baking. Example titles: My starter smells sour.",
    "Give the group a short name and a one-sentence description.",
    "Football, striker, goal, match, league. Python code, pandas, asyncio.",
]


class Canned:
    """A fake generator that records prompts and answers with fixed text."""

    def __init__(self, answer: str):
        self.answer = answer
        self.prompts: list[str] = []

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        self.prompts.append(prompt)
        return self.answer


class Broken:
    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        raise RuntimeError("model fell over")


# --- a tiny causal LM, built and saved locally --------------------------------------------


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A 1-layer GPT-2 with a byte-level BPE tokenizer trained on a few sentences (seeded)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TRAINING_TEXT, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=1,
        n_head=2,
        n_embd=32,
        vocab_size=len(tokenizer),
        n_positions=128,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    path = tmp_path_factory.mktemp("tiny-lm")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def trained_lm_dir(tiny_lm_dir, tmp_path_factory):
    """The tiny LM overfitted to answer BREAD's prompt with CANNED (a second of CPU).

    It is trained on exactly the window the generator keeps (the prompt's last tokens), so
    greedy decoding replays the answer and the whole local path can produce an LLM label.
    """
    import torch
    from transformers import AutoTokenizer, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir, local_files_only=True)
    model = GPT2LMHeadModel.from_pretrained(tiny_lm_dir, local_files_only=True)
    ids = tokenizer(label_prompt(BREAD["keywords"], BREAD["titles"]))["input_ids"]
    keep, _ = fit_to_context(len(ids), 512, LABEL_MAX_NEW_TOKENS, 128)
    target = tokenizer(CANNED)["input_ids"] + [tokenizer.eos_token_id]
    sequence = torch.tensor([ids[len(ids) - keep:] + target])
    labels = sequence.clone()
    labels[0, :keep] = -100
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only spin on a busy machine
    try:
        for _ in range(400):
            loss = model(sequence, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if loss.item() < 0.005:
                break
    finally:
        torch.set_num_threads(threads)
    path = tmp_path_factory.mktemp("trained-lm")
    model.eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


# --- pure helpers --------------------------------------------------------------------------


def test_fit_to_context_keeps_short_prompts_whole():
    assert fit_to_context(20, 512, 96, 128) == (20, 96)
    assert fit_to_context(2000, 512, 96, None) == (512, 96)
    assert fit_to_context(2000, 512, 96, 4096) == (512, 96)


def test_fit_to_context_shares_a_small_context():
    keep, new = fit_to_context(217, 512, 96, 128)
    assert keep + new <= 128 and new >= 64 and keep == 128 - new
    keep, new = fit_to_context(40, 512, 256, 128)
    assert (keep, new) == (40, 88)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CANNED, ("Bread Baking", "Conversations about sourdough.")),
        ("**Name:** \"Bread Baking\"\n**Description:** About bread. And more.",
         ("Bread Baking", "About bread.")),
        ("Sure! Here it is.\nName: Bread Baking.\n\nDescription: About bread",
         ("Bread Baking", "About bread")),
        ("Name: Bread Baking Description: About bread.", ("Bread Baking", "About bread.")),
        ("Bread Baking\nDescription: About bread.", ("Bread Baking", "About bread.")),
        ("name: 빵 굽기\ndescription: 사워도우 이야기.", ("빵 굽기", "사워도우 이야기.")),
        ("Name: Bread Baking", ("Bread Baking", None)),
        ("Name: one two three four five six seven\nDescription: x.", None),
        ("Name:\nDescription: About bread.", None),
        ("Name: 1234\nDescription: About bread.", None),
        ("starter starter starter", None),
        ("", None),
        ("   \n", None),
    ],
)
def test_parse_label(text, expected):
    assert parse_label(text) == expected


def test_label_prompt_asks_for_the_exact_format():
    prompt = label_prompt(BREAD["keywords"], BREAD["titles"])
    assert "Name: ...\nDescription: ..." in prompt
    assert "sourdough, starter, flour, baking" in prompt
    assert "- My starter smells sour" in prompt
    assert "6 words" in prompt


# --- label_clusters ------------------------------------------------------------------------


def test_label_clusters_without_generator_keeps_keyword_labels():
    described = {**FOOTBALL, "description": "3 items about football."}
    labels = label_clusters(None, {"cluster-0": BREAD, "cluster-1": described})
    assert labels == {
        "cluster-0": {
            "name": BREAD["name"],
            "description": "Conversations about sourdough, starter and flour.",
            "labelSource": "keywords",
        },
        "cluster-1": {
            "name": FOOTBALL["name"],
            "description": "3 items about football.",
            "labelSource": "keywords",
        },
    }


def test_label_clusters_uses_a_good_answer():
    generator = Canned(CANNED)
    labels = label_clusters(generator, {"cluster-0": BREAD})
    assert labels["cluster-0"] == {
        "name": "Bread Baking",
        "description": "Conversations about sourdough.",
        "labelSource": "llm",
    }
    assert generator.prompts == [label_prompt(BREAD["keywords"], BREAD["titles"])]


def test_label_clusters_keeps_keyword_description_when_the_answer_lacks_one():
    labels = label_clusters(Canned("Name: Bread Baking"), {"c": BREAD})
    assert labels["c"]["name"] == "Bread Baking" and labels["c"]["labelSource"] == "llm"
    assert labels["c"]["description"] == "Conversations about sourdough, starter and flour."


@pytest.mark.parametrize(
    "generator",
    [Broken(), Canned(""), Canned("no idea"), Canned("Name: " + "very " * 10 + "long\n")],
)
def test_label_clusters_falls_back_per_cluster(generator):
    labels = label_clusters(generator, {"cluster-0": BREAD, "cluster-1": FOOTBALL})
    assert {c: v["labelSource"] for c, v in labels.items()} == {
        "cluster-0": "keywords",
        "cluster-1": "keywords",
    }
    assert labels["cluster-1"]["name"] == FOOTBALL["name"]


# --- make_generator ------------------------------------------------------------------------


def test_make_generator_kinds(tmp_path):
    assert make_generator("none", None) is None
    local = make_generator("local", str(tmp_path))
    assert isinstance(local, LocalTransformersGenerator)
    assert make_generator("local", str(tmp_path)) is local  # one model per worker process
    assert local._model is None  # nothing loaded until the first prompt
    remote = make_generator("openai", "m", base_url="http://127.0.0.1:1/v1/", api_key="k")
    assert isinstance(remote, OpenAICompatibleGenerator)
    assert remote.base_url == "http://127.0.0.1:1/v1" and remote.api_key == "k"


@pytest.mark.parametrize(
    ("kind", "model", "base_url"),
    [
        ("local", None, None),
        ("openai", "m", None),
        ("openai", None, "http://x"),
        ("gpt", "m", None),
    ],
)
def test_make_generator_rejects_bad_settings(kind, model, base_url):
    with pytest.raises(ValueError):
        make_generator(kind, model, base_url=base_url)


# --- the local transformers path -----------------------------------------------------------


def test_local_generator_returns_only_new_text(tiny_lm_dir):
    generator = LocalTransformersGenerator(tiny_lm_dir, device="cpu")
    prompt = label_prompt(BREAD["keywords"], BREAD["titles"])  # longer than the 128 positions
    out = generator.generate(prompt, max_new_tokens=12)
    assert isinstance(out, str)
    assert not out.startswith("Here is a group") and "Keywords:" not in out[:9]
    assert out == out.strip()
    assert generator.generate(prompt, max_new_tokens=12) == out  # greedy: deterministic


def test_local_gibberish_falls_back_or_is_accepted_per_the_rules(tiny_lm_dir):
    generator = LocalTransformersGenerator(tiny_lm_dir)
    assert generator.device is None
    raw = generator.generate(label_prompt(BREAD["keywords"], BREAD["titles"]),
                             max_new_tokens=LABEL_MAX_NEW_TOKENS)
    assert generator.device == "cpu"  # no GPU here
    label = label_clusters(generator, {"c": BREAD})["c"]
    parsed = parse_label(raw)
    if parsed is None:
        assert label == label_clusters(None, {"c": BREAD})["c"]
    else:
        assert label["labelSource"] == "llm" and label["name"] == parsed[0]


def test_local_generator_end_to_end_label(trained_lm_dir):
    generator = LocalTransformersGenerator(trained_lm_dir, device="cpu")
    assert generator.generate(label_prompt(BREAD["keywords"], BREAD["titles"])) == CANNED
    assert label_clusters(generator, {"cluster-0": BREAD})["cluster-0"] == {
        "name": "Bread Baking",
        "description": "Conversations about sourdough.",
        "labelSource": "llm",
    }


def test_local_generator_wraps_prompts_in_a_chat_template(tiny_lm_dir):
    generator = LocalTransformersGenerator(tiny_lm_dir, device="cpu")
    tokenizer, _ = generator._load()
    assert LocalTransformersGenerator.prompt_text(tokenizer, "hi") == "hi"
    tokenizer.chat_template = (
        "{% for m in messages %}<user>{{ m['content'] }}</user>{% endfor %}"
        "{% if add_generation_prompt %}<bot>{% endif %}"
    )
    assert LocalTransformersGenerator.prompt_text(tokenizer, "hi") == "<user>hi</user><bot>"
    assert isinstance(generator.generate("hi", max_new_tokens=4), str)


def test_local_generator_never_reaches_for_the_hub(tmp_path):
    generator = LocalTransformersGenerator(str(tmp_path / "missing"))
    with pytest.raises(OSError):
        generator.generate("hi")
    # ...and label_clusters turns that into keyword labels rather than a failed job.
    assert label_clusters(generator, {"c": BREAD})["c"]["labelSource"] == "keywords"


# --- the OpenAI-compatible path against a real local server --------------------------------


@pytest.fixture(scope="module")
def chat_server():
    """``/v1/chat/completions`` answers CANNED; ``/fail/v1/...`` 500; ``/odd/v1/...`` ``{}``."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            if self.path == "/v1/chat/completions":
                status, reply = 200, {
                    "id": "x",
                    "object": "chat.completion",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": CANNED},
                         "finish_reason": "stop"}
                    ],
                }
            elif self.path == "/odd/v1/chat/completions":
                status, reply = 200, {}
            else:
                status, reply = 500, {"error": {"message": "model overloaded"}}
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_openai_generator_sends_a_chat_completion(chat_server):
    root, received = chat_server
    received.clear()
    generator = make_generator("openai", "tiny-chat", base_url=f"{root}/v1/", api_key="sk-test")
    assert generator.generate("Name this group", max_new_tokens=42) == CANNED
    assert received == [
        {
            "path": "/v1/chat/completions",
            "body": {
                "model": "tiny-chat",
                "messages": [{"role": "user", "content": "Name this group"}],
                "max_tokens": 42,
                "temperature": 0,
            },
            "auth": "Bearer sk-test",
        }
    ]


def test_openai_generator_labels_clusters(chat_server):
    root, received = chat_server
    received.clear()
    generator = OpenAICompatibleGenerator(f"{root}/v1", "tiny-chat")
    labels = label_clusters(generator, {"cluster-0": BREAD})
    assert labels["cluster-0"] == {
        "name": "Bread Baking",
        "description": "Conversations about sourdough.",
        "labelSource": "llm",
    }
    (request,) = received
    assert request["auth"] is None
    assert request["body"]["max_tokens"] == LABEL_MAX_NEW_TOKENS
    assert request["body"]["messages"][0]["content"] == label_prompt(
        BREAD["keywords"], BREAD["titles"]
    )


def test_openai_http_error_is_clear_and_labels_fall_back(chat_server):
    root, _ = chat_server
    generator = OpenAICompatibleGenerator(f"{root}/fail/v1", "tiny-chat")
    with pytest.raises(RuntimeError, match=r"HTTP 500.*model overloaded"):
        generator.generate("hi")
    labels = label_clusters(generator, {"cluster-0": BREAD})
    assert labels["cluster-0"]["labelSource"] == "keywords"
    assert labels["cluster-0"]["name"] == BREAD["name"]


def test_openai_odd_body_and_unreachable_server_raise_runtime_error(chat_server):
    root, _ = chat_server
    with pytest.raises(RuntimeError, match="unexpected body"):
        OpenAICompatibleGenerator(f"{root}/odd/v1", "m").generate("hi")
    with pytest.raises(RuntimeError, match="unreachable"):
        OpenAICompatibleGenerator("http://127.0.0.1:9/v1", "m", timeout=2).generate("hi")
