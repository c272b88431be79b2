// GraphNode's page: sign in with a bearer token, upload an export, follow the job over
// Server-Sent Events (resumable with Last-Event-ID), draw and explore the graph.
// State lives in `window.graphnode` so that tests read the drawn graph, not pixels.
"use strict";

const STORAGE = { token: "graphnode.token", lastEvent: "graphnode.lastEventId", job: "graphnode.job" };
// How the page names a node's provider (its sourceType).
const SOURCE_LABELS = { chatgpt: "ChatGPT", claude: "Claude", gemini: "Gemini", chat: "chat", note: "note",
  pdf: "PDF", docx: "Word", pptx: "PowerPoint", markdown: "Markdown", text: "text" };
// Exports larger than this go straight to S3 through a presigned PUT (?presignAbove= overrides).
const PRESIGN_ABOVE = Number(new URLSearchParams(location.search).get("presignAbove") || 8 * 1024 * 1024);
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
  "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#17becf"];

const $ = (id) => document.getElementById(id);
const state = { token: null, cy: null, wsCy: null, graph: null, events: null, jobs: {}, clusterColour: {} };
window.graphnode = state;

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error || { code: "http_" + response.status, message: response.statusText };
    if (response.status === 401) signOut(`Signed out: ${error.message}`);
    throw new ApiError(response.status, error.code, error.message);
  }
  return body;
}

// ---------------------------------------------------------------- sign in
function tokenFromUrl() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token") || new URLSearchParams(location.search).get("token");
  if (token) history.replaceState(null, "", location.pathname + location.search.replace(/([?&])token=[^&]*&?/, "$1"));
  return token;
}

function subjectOf(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub;
  } catch (_) { return null; }
}

function signIn(token) {
  state.token = token;
  sessionStorage.setItem(STORAGE.token, token);
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("whoami").textContent = subjectOf(token) || "";
  openEvents();
  loadGraph().catch(() => {});
  loadSummary().catch(() => {});
  resumeJob();
}

function signOut(reason) {
  sessionStorage.removeItem(STORAGE.token);
  state.token = null;
  if (state.events) state.events.close();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = reason || "";
}

// ---------------------------------------------------------------- events
function openEvents() {
  if (state.events) state.events.close();
  const last = sessionStorage.getItem(STORAGE.lastEvent);
  let url = `/v1/events?access_token=${encodeURIComponent(state.token)}`;
  if (last) url += `&lastEventId=${encodeURIComponent(last)}`;
  const source = new EventSource(url);
  state.events = source;
  source.onopen = () => { $("stream-state").textContent = "live"; $("stream-state").classList.add("live"); };
  source.onerror = () => {
    $("stream-state").classList.remove("live");
    // The browser reconnects by itself (sending Last-Event-ID) unless the answer was an
    // error status (a 503 while Redis is down): then open a new stream, resuming by id.
    if (source.readyState === EventSource.CLOSED) {
      $("stream-state").textContent = "reconnecting";
      setTimeout(() => { if (state.events === source && state.token) openEvents(); }, 3000);
    } else {
      $("stream-state").textContent = "reconnecting";
    }
  };
  for (const type of ["progress", "completed", "failed", "workspace.completed"]) {
    source.addEventListener(type, (event) => {
      if (event.lastEventId) sessionStorage.setItem(STORAGE.lastEvent, event.lastEventId);
      onEvent(type, JSON.parse(event.data));
    });
  }
}

function onEvent(type, data) {
  if (type === "workspace.completed") { loadWorkspace(data.groupId); return; }
  const job = state.jobs[data.taskId];
  if (type === "progress") {
    if (job && job.kind === "generate") showProgress(data.progress, data.stage, "RUNNING", data.attempt);
    return;
  }
  if (!job) return;
  if (type === "failed") { jobFailed(job, data.error); return; }
  if (job.kind === "generate") { showProgress(1, doneStage(data.stats), "COMPLETED"); sessionStorage.removeItem(STORAGE.job); loadGraph(); }
  if (job.kind === "add") { $("add-status").textContent = `Added ${(data.stats || {}).added ?? "the"} items.`; loadGraph({ highlightNew: true }); }
  if (job.kind === "summary") loadSummary();
  if (job.kind === "document") loadWorkspace(job.groupId);
}

// What a finished job says: conversations without text (images only) give no node, and
// the person should hear of them rather than wonder where they went.
function doneStage(stats) {
  const empty = (stats || {}).withoutText;
  return empty ? `done · ${empty} without text, left out` : "done";
}

function jobFailed(job, error) {
  const reason = error || "the job failed";
  if (job.kind === "generate") {
    showProgress(null, null, "FAILED");
    $("job-error").textContent = reason;
    sessionStorage.removeItem(STORAGE.job);
  } else if (job.kind === "add") $("add-status").textContent = "Failed: " + reason;
  else if (job.kind === "summary") $("summary").textContent = "Failed: " + reason;
  else if (job.kind === "document") loadWorkspace(job.groupId);
}

// ---------------------------------------------------------------- jobs
function track(taskId, kind, extra = {}) {
  state.jobs[taskId] = { kind, ...extra };
  if (kind === "generate") {
    sessionStorage.setItem(STORAGE.job, taskId);
    $("job-panel").hidden = false;
    $("job-id").textContent = taskId;
    $("job-error").textContent = "";
    showProgress(0, "queued", "PENDING");
  }
}

function showProgress(fraction, stage, status, attempt) {
  if (fraction !== null) {
    const percent = Math.round(fraction * 100);
    $("job-progress").value = percent;
    $("job-percent").textContent = `${percent} %`;
  }
  if (stage !== null) $("job-stage").textContent = stage + (attempt > 1 ? ` (attempt ${attempt})` : "");
  $("job-status").textContent = status;
}

async function resumeJob() {
  const taskId = sessionStorage.getItem(STORAGE.job);
  if (!taskId) return;
  track(taskId, "generate");
  try {
    const job = await api(`/v1/jobs/${encodeURIComponent(taskId)}`);
    if (job.status === "COMPLETED") { showProgress(1, "done", "COMPLETED"); sessionStorage.removeItem(STORAGE.job); }
    else if (job.status === "FAILED") jobFailed(state.jobs[taskId], job.error);
    else showProgress(job.progress, job.stage || "queued", job.status, job.attempts);
  } catch (_) { sessionStorage.removeItem(STORAGE.job); }
}

function clusterOptions() {
  return { minClusters: Number($("min-clusters").value), maxClusters: Number($("max-clusters").value) };
}

async function submitExport(file) {
  $("upload-error").textContent = "";
  try {
    const options = clusterOptions();
    let accepted;
    if (file.size > PRESIGN_ABOVE) {
      const ticket = await api("/v1/uploads", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ size: file.size, contentType: /\.zip$/i.test(file.name) ? "application/zip" : "application/json", fileName: file.name }) });
      const put = await fetch(ticket.url, { method: "PUT", headers: { "Content-Type": ticket.headers["Content-Type"] }, body: file });
      if (!put.ok) throw new Error(`the upload to storage failed (${put.status})`);
      accepted = await api("/v1/graphs/generate", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ uploadKey: ticket.uploadKey, ...options }) });
    } else {
      const form = new FormData();
      form.append("file", file, file.name);
      accepted = await api(`/v1/graphs/generate?minClusters=${options.minClusters}&maxClusters=${options.maxClusters}`,
        { method: "POST", body: form });
    }
    track(accepted.taskId, "generate");
  } catch (error) {
    $("upload-error").textContent = error.message;
  }
}

// ---------------------------------------------------------------- the graph
function colourOf(clusterId) {
  if (!(clusterId in state.clusterColour)) {
    state.clusterColour[clusterId] = PALETTE[Object.keys(state.clusterColour).length % PALETTE.length];
  }
  return state.clusterColour[clusterId];
}

async function loadGraph({ highlightNew = false } = {}) {
  let graph;
  try { graph = await api("/v1/graphs/me"); } catch (error) { if (error.status === 404) return; throw error; }
  const before = new Set(state.graph ? state.graph.nodes.map((n) => n.id) : []);
  state.graph = graph;
  drawGraph(graph, highlightNew ? before : null);
  drawLegend(graph);
}

function drawGraph(graph, previousIds) {
  $("graph-empty").hidden = graph.nodes.length > 0;
  const ids = new Set(graph.nodes.map((n) => n.id));
  const degree = {};
  graph.edges.forEach((e) => { degree[e.source] = (degree[e.source] || 0) + 1; degree[e.target] = (degree[e.target] || 0) + 1; });
  const elements = [
    ...graph.nodes.map((n) => ({ group: "nodes", data: {
      id: n.id, label: n.title || n.id, clusterId: n.clusterId, clusterName: n.clusterName,
      keywords: (n.keywords || []).map(String), degree: degree[n.id] || 0, colour: colourOf(n.clusterId),
      source: SOURCE_LABELS[n.sourceType] || n.sourceType || "" },
      classes: previousIds && !previousIds.has(n.id) ? "new" : "" })),
    ...graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map((e, i) => ({ group: "edges", data: {
      id: `e${i}`, source: e.source, target: e.target, weight: e.weight || 0, confidence: e.confidence || "medium" } })),
  ];
  if (state.cy) state.cy.destroy();
  state.cy = cytoscape({
    container: $("graph"),
    elements,
    layout: { name: "cose", animate: false, randomize: true, nodeRepulsion: () => 9000, idealEdgeLength: () => 60 },
    style: [
      { selector: "node", style: { "background-color": "data(colour)", label: "data(label)", "font-size": 8,
        "text-wrap": "ellipsis", "text-max-width": 110, color: "#333",
        width: "mapData(degree, 0, 12, 10, 34)", height: "mapData(degree, 0, 12, 10, 34)" } },
      { selector: "edge", style: { "curve-style": "haystack", "line-color": "#9aa5b1", width: "mapData(weight, 0.3, 1, 0.5, 3)" } },
      { selector: 'edge[confidence = "high"]', style: { "line-style": "solid", opacity: 0.9 } },
      { selector: 'edge[confidence = "medium"]', style: { "line-style": "dashed", opacity: 0.6 } },
      { selector: 'edge[confidence = "low"]', style: { "line-style": "dotted", opacity: 0.35 } },
      { selector: "node.new", style: { "border-width": 3, "border-color": "#111" } },
      { selector: ".faded", style: { opacity: 0.12 } },
      { selector: "node.match, node:selected", style: { "border-width": 3, "border-color": "#d62728", "font-size": 11, "z-index": 9 } },
    ],
  });
  state.cy.on("tap", "node", (event) => showNode(event.target.id()));
}

function drawLegend(graph) {
  const clusters = (graph.metadata && graph.metadata.clusters) || {};
  const legend = $("legend");
  legend.textContent = "";
  Object.entries(clusters).sort((a, b) => b[1].size - a[1].size).forEach(([id, cluster]) => {
    const item = document.createElement("li");
    item.dataset.clusterId = id;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colourOf(id);
    const themes = document.createElement("div");
    themes.className = "themes";
    themes.textContent = (cluster.keyThemes || []).slice(0, 5).join(", ");
    item.append(swatch, ` ${cluster.name} (${cluster.size})`, themes);
    item.addEventListener("click", () => highlight(state.cy.nodes().filter((n) => n.data("clusterId") === id)));
    legend.append(item);
  });
}

function highlight(nodes) {
  state.cy.elements().removeClass("faded match");
  if (!nodes || nodes.empty()) return;
  state.cy.elements().not(nodes).not(nodes.edgesWith(nodes)).addClass("faded");
  nodes.addClass("match");
}

function showNode(id) {
  const node = state.cy.getElementById(id);
  if (node.empty()) return;
  state.cy.elements().unselect();
  node.select();
  $("node-panel").hidden = false;
  $("node-title").textContent = node.data("label");
  $("node-swatch").style.background = node.data("colour");
  $("node-cluster").textContent = node.data("clusterName") || node.data("clusterId");
  $("node-source").textContent = node.data("source");
  $("node-keywords").textContent = node.data("keywords").join(", ");
  const list = $("node-neighbours");
  list.textContent = "";
  node.neighborhood("node").forEach((neighbour) => {
    const item = document.createElement("li");
    item.textContent = neighbour.data("label");
    item.addEventListener("click", () => showNode(neighbour.id()));
    list.append(item);
  });
}

function search(query) {
  const results = $("search-results");
  results.textContent = "";
  if (!state.cy) return;
  const needle = query.trim().toLocaleLowerCase();
  if (!needle) { highlight(null); return; }
  const found = state.cy.nodes().filter((n) => n.data("label").toLocaleLowerCase().includes(needle)
    || n.data("keywords").some((k) => k.toLocaleLowerCase().includes(needle)));
  highlight(found);
  found.slice(0, 30).forEach((n) => {
    const item = document.createElement("li");
    item.textContent = n.data("label");
    item.addEventListener("click", () => showNode(n.id()));
    results.append(item);
  });
}

// ---------------------------------------------------------------- summary, add items
async function requestSummary() {
  try {
    const accepted = await api("/v1/graphs/me/summary", { method: "POST" });
    track(accepted.taskId, "summary");
    $("summary").textContent = "Summarising…";
  } catch (error) { $("summary").textContent = error.message; }
}

async function loadSummary() {
  let summary;
  try { summary = await api("/v1/graphs/me/summary"); } catch (error) { if (error.status === 404) return; throw error; }
  const root = $("summary");
  root.textContent = "";
  for (const [key, value] of Object.entries(summary)) {
    if (key === "taskId" || key === "createdAt") continue;
    const heading = document.createElement("h3");
    heading.textContent = key;
    root.append(heading);
    const body = document.createElement(Array.isArray(value) ? "ul" : "p");
    if (Array.isArray(value)) {
      value.forEach((entry) => { const li = document.createElement("li"); li.textContent = textOf(entry); body.append(li); });
    } else body.textContent = textOf(value);
    root.append(body);
  }
}

function textOf(value) {
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return value.map(textOf).join(", ");
  const text = value.text || value.summary || value.insight || value.description || value.name;
  return typeof text === "string" ? text : Object.entries(value).map(([k, v]) => `${k}: ${textOf(v)}`).join("; ");
}

async function addItems(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const accepted = await api("/v1/graphs/me/nodes", { method: "POST", body: form });
    track(accepted.taskId, "add");
    $("add-status").textContent = `Adding ${file.name}…`;
  } catch (error) { $("add-status").textContent = error.message; }
}

// ---------------------------------------------------------------- workspace
async function addDocument(file) {
  const group = $("ws-group").value.trim();
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const accepted = await api(`/v1/workspaces/${encodeURIComponent(group)}/documents`, { method: "POST", body: form });
    track(accepted.taskId, "document", { groupId: group });
    loadWorkspace(group);
  } catch (error) { $("ws-documents").textContent = error.message; }
}

async function loadWorkspace(group) {
  let workspace;
  try { workspace = await api(`/v1/workspaces/${encodeURIComponent(group)}`); } catch (error) {
    // A workspace exists once its first document is added: until then it is empty, not an error.
    if (error.status === 404) workspace = { groupId: group, documents: [], graph: {} };
    else { $("ws-documents").textContent = error.message; return; }
  }
  const list = $("ws-documents");
  list.textContent = "";
  if (!workspace.documents.length) list.textContent = "No documents yet: add one.";
  workspace.documents.forEach((doc) => {
    const item = document.createElement("li");
    item.textContent = `${doc.fileName}: ${doc.status}` + (doc.error ? ` (${doc.error})` : "");
    list.append(item);
  });
  const graph = workspace.graph || {};
  const entities = graph.entities || [];
  const known = new Set(entities.map((e) => e.id));
  if (state.wsCy) state.wsCy.destroy();
  state.wsCy = cytoscape({
    container: $("ws-graph"),
    elements: [
      ...entities.map((e) => ({ group: "nodes", data: { id: e.id, label: e.name, mentions: e.mentions || 1 } })),
      ...(graph.relations || []).filter((r) => known.has(r.source) && known.has(r.target))
        .map((r, i) => ({ group: "edges", data: { id: `r${i}`, source: r.source, target: r.target } })),
    ],
    layout: { name: "cose", animate: false },
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 7, "background-color": "#76b7b2",
        width: "mapData(mentions, 1, 20, 8, 24)", height: "mapData(mentions, 1, 20, 8, 24)" } },
      { selector: "edge", style: { "line-color": "#c4cbd2", width: 1 } },
    ],
  });
}

// ---------------------------------------------------------------- wiring
function wire() {
  $("sign-in-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("token-input").value.trim()); });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("file-input").addEventListener("change", (event) => { if (event.target.files[0]) submitExport(event.target.files[0]); event.target.value = ""; });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files[0]) submitExport(event.dataTransfer.files[0]);
  });
  $("search").addEventListener("input", (event) => search(event.target.value));
  $("summary-request").addEventListener("click", requestSummary);
  $("add-input").addEventListener("change", (event) => { if (event.target.files[0]) addItems(event.target.files[0]); event.target.value = ""; });
  $("ws-open").addEventListener("click", () => loadWorkspace($("ws-group").value.trim()));
  $("ws-input").addEventListener("change", (event) => { if (event.target.files[0]) addDocument(event.target.files[0]); event.target.value = ""; });
  const token = tokenFromUrl() || sessionStorage.getItem(STORAGE.token);
  if (token) signIn(token); else signOut("");
}

wire();
