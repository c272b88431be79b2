"""The web page in Debian's Chromium, driven by Playwright (no browser download), against the
local stack: upload the bundled sample, follow it (across a reload), explore the graph; each
provider's zip as downloaded, by the file picker, by drag and drop, and over 8 MiB through
the presigned PUT to the bucket; the summary, adding items, and a workspace.
Screenshots go to the folder printed at the start of the session."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from graphnode.contract.tokens import mint_token
from graphnode.ops.client import ApiClient
from graphnode.samples import load_sample_export
from tests.integration.test_provider_exports import CONVERSATIONS, ZIPS
from tests.support.export_shapes import (
    chatgpt_export,
    chatgpt_zip,
    claude_export,
    conversations_without_text,
)

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SAMPLE_CLUSTERS = len(set(json.loads(
    (Path(__file__).parents[2] / "graphnode/samples/chatgpt_export_labels.json").read_text()
).values()))


def expected_404(message) -> bool:
    """The browser logs the API's "no graph/summary yet" 404 that the page asks for at sign
    in, and that of a workspace opened before its first document; anything else is an error."""
    url = message.location.get("url", "").split("?")[0]
    return "404" in message.text and (url.endswith(("/v1/graphs/me", "/v1/graphs/me/summary"))
                                      or "/v1/workspaces/" in url)


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


# --- exports as downloaded, the presigned path, summary, add items, workspace ---------------

PROVIDER_LABELS = {"chatgpt": "ChatGPT", "claude": "Claude", "gemini": "Gemini"}
#: Every wait for a job in the page: a graph job on this 2-core machine takes 10-40 s.
JOB_SECONDS = 180


def signed_in(page, stack, api_settings, user: str):
    token = mint_token(api_settings, user)
    page.goto(f"{stack.api_url}/#token={token}")
    page.wait_for_selector("#stream-state.live")
    return token


def wait_until_completed(page) -> None:
    page.wait_for_function("['COMPLETED', 'FAILED'].includes("
                           "document.getElementById('job-status').textContent)",
                           timeout=JOB_SECONDS * 1000)
    assert page.inner_text("#job-status") == "COMPLETED", page.inner_text("#job-error")
    page.wait_for_function("window.graphnode.cy && window.graphnode.cy.nodes().length > 0")


def drawn_sources(page) -> list[str]:
    return page.evaluate("() => window.graphnode.cy.nodes().map(n => n.data('source'))")


def click_a_node(page) -> None:
    """Click where the library drew the best-connected node; the panel shows that node."""
    target = page.evaluate("""() => {
        const p = window.graphnode.cy.nodes().max(n => n.degree()).ele.renderedPosition();
        return {x: p.x, y: p.y};
    }""")
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_selector("#node-panel:not([hidden])")


@pytest.mark.parametrize("source_type", sorted(ZIPS))
def test_each_providers_zip_through_the_file_picker(stack, api_settings, page, source_type):
    signed_in(page, stack, api_settings, f"page-zip-{source_type}")
    page.set_input_files("#file-input", files=[{
        "name": f"{source_type}-export.zip", "mimeType": "application/zip",
        "buffer": ZIPS[source_type]()}])
    wait_until_completed(page)
    empty = conversations_without_text(source_type, CONVERSATIONS)
    label = PROVIDER_LABELS[source_type]
    assert drawn_sources(page) == [label] * (CONVERSATIONS - empty)
    # The conversations that gave no node are named, not silently dropped.
    assert ("without text" in page.inner_text("#job-stage")) is (empty > 0)
    click_a_node(page)
    assert page.inner_text("#node-source") == label
    assert page.errors == []


def test_an_export_dropped_on_the_drop_zone(stack, api_settings, page):
    signed_in(page, stack, api_settings, "page-drop")
    export = json.dumps(chatgpt_export(24, seed=3), ensure_ascii=False)
    transfer = page.evaluate_handle("""(text) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], 'conversations.json', {type: 'application/json'}));
        return transfer;
    }""", export)
    page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": transfer})
    assert "over" in (page.get_attribute("#drop-zone", "class") or "")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    wait_until_completed(page)
    assert len(drawn_sources(page)) == 24 - conversations_without_text("chatgpt", 24, seed=3)
    assert "over" not in (page.get_attribute("#drop-zone", "class") or "")
    assert page.errors == []


def test_a_zip_over_8_mib_goes_to_the_bucket_by_presigned_put(stack, api_settings, page):
    """As a heavy user's export does: its photos make it large. The browser PUTs it to the
    bucket (cross-origin: the bucket's CORS rule lets the page's origin, and only it, in)."""
    signed_in(page, stack, api_settings, "page-presigned")
    archive = chatgpt_zip(CONVERSATIONS, image_bytes=3 * 1024 * 1024)
    assert len(archive) > 8 * 1024 * 1024
    sent: list[tuple[str, str]] = []
    page.on("request", lambda r: sent.append((r.method, r.url)))
    page.set_input_files("#file-input", files=[{
        "name": "chatgpt-export.zip", "mimeType": "application/zip", "buffer": archive}])
    wait_until_completed(page)
    assert len(drawn_sources(page)) == CONVERSATIONS - conversations_without_text(
        "chatgpt", CONVERSATIONS)
    emulator = stack.env["GRAPHNODE_AWS_ENDPOINT_URL"]
    [put_url] = [url for method, url in sent if method == "PUT" and url.startswith(emulator)]
    assert ("POST", f"{stack.api_url}/v1/uploads") in sent
    assert not any(url.startswith(f"{stack.api_url}/v1/graphs/generate?") for _, url in sent)
    # The preflight is the bucket's rule: the page's origin is let in, another is not.
    preflight = {"Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "content-type"}
    ours = requests.options(put_url, headers={**preflight, "Origin": stack.api_url}, timeout=10)
    theirs = requests.options(put_url, headers={**preflight, "Origin": "https://elsewhere.example"},
                              timeout=10)
    assert ours.status_code == 200 and ours.headers["Access-Control-Max-Age"] == "3600"
    assert theirs.status_code == 403
    assert page.errors == []


def test_summary_and_added_items_on_a_graph(stack, api_settings, page):
    token = signed_in(page, stack, api_settings, "page-summary")
    client = ApiClient(stack.api_url, token)
    page.set_input_files("#file-input", files=[{
        "name": "conversations.json", "mimeType": "application/json",
        "buffer": json.dumps(chatgpt_export(30, seed=5), ensure_ascii=False).encode()}])
    wait_until_completed(page)
    before = len(drawn_sources(page))

    page.click("#summary-request")
    page.wait_for_selector("#summary h3", timeout=JOB_SECONDS * 1000)
    headings = page.locator("#summary h3").all_inner_texts()
    assert {"overview", "clusters", "recommendations"} <= set(headings)
    cluster_names = {c["name"] for c in client.my_graph()["metadata"]["clusters"].values()}
    assert any(name in page.inner_text("#summary") for name in cluster_names)

    added = claude_export(6, seed=9)
    page.set_input_files("#add-input", files=[{
        "name": "claude.json", "mimeType": "application/json",
        "buffer": json.dumps(added, ensure_ascii=False).encode()}])
    expected = 6 - conversations_without_text("claude", 6, seed=9)
    page.wait_for_function("document.getElementById('add-status').textContent.startsWith("
                           "'Added ')", timeout=JOB_SECONDS * 1000)
    assert page.inner_text("#add-status") == f"Added {expected} items."
    page.wait_for_function(f"window.graphnode.cy.nodes().length === {before + expected}")
    assert drawn_sources(page).count("Claude") == expected
    assert page.locator("#graph").is_visible()
    assert page.errors == []


def test_a_workspace_document_is_listed_and_drawn(stack, api_settings, page):
    signed_in(page, stack, api_settings, "page-workspace")
    page.fill("#ws-group", "reading-notes")
    page.click("#ws-open")
    page.wait_for_function("document.getElementById('ws-documents').textContent"
                           ".startsWith('No documents yet')")
    document = ("# 마리 퀴리\n\nMarie Curie studied radioactivity at the Sorbonne in Paris. "
                "Marie Curie and Pierre Curie discovered polonium and radium.\n\n"
                "마리 퀴리는 파리에서 방사능을 연구했다.")
    page.set_input_files("#ws-input", files=[{
        "name": "curie.md", "mimeType": "text/markdown", "buffer": document.encode()}])
    page.wait_for_function("document.getElementById('ws-documents').textContent"
                           ".includes('curie.md: COMPLETED')", timeout=JOB_SECONDS * 1000)
    entities = page.evaluate("() => window.graphnode.wsCy.nodes().map(n => n.data('label'))")
    assert any("curie" in name.lower() for name in entities), entities
    assert page.errors == []

