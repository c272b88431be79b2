"""The web page in Debian's Chromium, driven by Playwright (no browser download), against the
local stack: upload the bundled sample, follow it (across a reload), explore the graph.
Screenshots go to the folder printed at the start of the session."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from graphnode.auth import mint_token
from graphnode.samples import load_sample_export

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SAMPLE_CLUSTERS = len(set(json.loads(
    (Path(__file__).parents[2] / "graphnode/samples/chatgpt_export_labels.json").read_text()
).values()))


def expected_404(message) -> bool:
    """The browser logs the API's "no graph/summary yet" 404 that the page asks for at sign
    in; anything else is an error."""
    url = message.location.get("url", "")
    return "404" in message.text and url.split("?")[0].endswith(
        ("/v1/graphs/me", "/v1/graphs/me/summary"))


@pytest.fixture(scope="module")
def screenshots():
    folder = Path(tempfile.mkdtemp(prefix="graphnode-screenshots-"))
    print(f"\nweb page screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is not installed (.ci/setup installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request, screenshots):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and not expected_404(m)
            and page.errors.append(f"{m.text} {m.location.get('url')}"))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    page.screenshot(path=str(screenshots / f"{request.node.name}.png"))
    context.close()


def test_upload_follow_across_a_reload_and_explore_the_graph(stack, api_settings, page,
                                                              tmp_path):
    sample = load_sample_export()
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(sample, ensure_ascii=False))
    token = mint_token(api_settings, "browser-user")
    page.goto(f"{stack.api_url}/#token={token}")
    page.wait_for_selector("#stream-state.live")
    assert "token=" not in page.url  # the token leaves the address bar

    page.set_input_files("#file-input", str(export))
    page.wait_for_function("Number(document.getElementById('job-progress').value) > 0",
                           timeout=120_000)
    task_id = page.inner_text("#job-id")
    before = float(page.get_attribute("#job-progress", "value") or 0)

    page.reload()  # mid-job: the page finds its job and resumes from the last event
    page.wait_for_selector("#stream-state.live")
    assert page.inner_text("#job-id") == task_id
    assert float(page.get_attribute("#job-progress", "value") or 0) >= before
    page.wait_for_function("document.getElementById('job-percent').textContent === '100 %'",
                           timeout=180_000)
    page.wait_for_function("window.graphnode.cy && window.graphnode.cy.nodes().length > 0")

    drawn = page.evaluate("""() => {
        const cy = window.graphnode.cy;
        return {nodes: cy.nodes().map(n => n.id()),
                clusters: [...new Set(cy.nodes().map(n => n.data('clusterId')))],
                legend: document.querySelectorAll('#legend li').length};
    }""")
    assert sorted(drawn["nodes"]) == sorted(c["id"] for c in sample)
    assert len(drawn["clusters"]) == SAMPLE_CLUSTERS == drawn["legend"] == 6

    # A click on the canvas where the library drew a node shows that node.
    target = page.evaluate("""() => {
        const node = window.graphnode.cy.nodes().max(n => n.degree()).ele;
        const p = node.renderedPosition();
        return {id: node.id(), x: p.x, y: p.y, title: node.data('label')};
    }""")
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_selector("#node-panel:not([hidden])")
    assert page.inner_text("#node-title") == target["title"]
    assert page.inner_text("#node-keywords").strip()
    assert page.locator("#node-neighbours li").count() >= 1

    page.fill("#search", "sourdough")
    matches = page.locator("#search-results li").all_inner_texts()
    titles = {c["title"] for c in sample if "sourdough" in c["title"].lower()}
    assert titles and titles <= set(matches)
    assert page.errors == []


def test_failed_job_shows_its_reason_and_korean_renders(stack, api_settings, page, tmp_path):
    broken = tmp_path / "내보내기.json"
    # The shape of an export (the API accepts it), a conversation the worker cannot read.
    broken.write_text(json.dumps([{"title": "대화가 아닙니다", "mapping": "트리가 아님"}],
                                 ensure_ascii=False))
    page.goto(f"{stack.api_url}/#token={mint_token(api_settings, 'browser-failed')}")
    page.wait_for_selector("#stream-state.live")
    page.set_input_files("#file-input", str(broken))
    page.wait_for_function("document.getElementById('job-status').textContent === 'FAILED'",
                           timeout=180_000)
    assert page.inner_text("#job-error").strip()
    # Hangul is drawn with a real font, not as boxes: its glyphs are not the width of the
    # box an unassigned code point gets.
    hangul, boxes = page.evaluate("""() => {
        const c = document.createElement('canvas').getContext('2d');
        c.font = '16px ' + getComputedStyle(document.body).fontFamily;
        return [c.measureText('한국어').width, c.measureText('\\u{10FFFD}'.repeat(3)).width];
    }""")
    assert hangul > 0 and abs(hangul - boxes) > 1
    assert page.errors == []
