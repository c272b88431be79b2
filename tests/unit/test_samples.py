"""The bundled sample exports are what their generators write, byte for byte: edit the
generator (tests/support/samples/), never the JSON."""

from __future__ import annotations

import json

import pytest

from tests.support.samples import build_chatgpt_sample, build_korean_sample


@pytest.mark.parametrize("generator", [build_chatgpt_sample, build_korean_sample],
                         ids=["chatgpt", "korean"])
def test_the_checked_in_sample_is_what_its_generator_writes(generator):
    conversations, labels = generator.build()
    exported = build_chatgpt_sample.dumps_export(conversations)  # both write one way
    assert exported == generator.EXPORT_PATH.read_text("utf-8")
    assert json.dumps(labels, indent=1) + "\n" == generator.LABELS_PATH.read_text("utf-8")
