// Renders /openapi.json as a reference page: operations, parameters, bodies, answers and
// the component schemas they point to. No framework, nothing fetched from outside.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.flat().forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return node;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
}

function schemaText(schema) {
  if (!schema) return "";
  const name = refName(schema);
  if (name) return el("a", { href: "#schema-" + name }, name);
  if (schema.anyOf) return el("span", {}, schema.anyOf.flatMap((s, i) => (i ? [" | ", schemaText(s)] : [schemaText(s)])));
  return JSON.stringify(schema);
}

function renderOperation(path, method, op) {
  const section = el("section", { class: "op", id: op.operationId },
    el("h3", {}, el("span", { class: "method " + method }, method.toUpperCase()), " ", el("code", {}, path)),
    el("p", {}, op.summary || ""),
    el("p", { class: "muted" }, op.security && op.security.length ? "Bearer token required." : "No token needed."));
  if (op.parameters) {
    section.append(el("h4", {}, "Parameters"), el("ul", {}, op.parameters.map((p) =>
      el("li", {}, el("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""}): `, schemaText(p.schema)))));
  }
  if (op.requestBody) {
    section.append(el("h4", {}, "Body"), el("ul", {}, Object.entries(op.requestBody.content).map(([type, c]) =>
      el("li", {}, el("code", {}, type), ": ", schemaText(c.schema)))));
  }
  section.append(el("h4", {}, "Answers"), el("ul", {}, Object.entries(op.responses).map(([status, r]) =>
    el("li", {}, el("code", {}, status), " ", r.description || "",
      r.content ? el("span", {}, " — ", Object.entries(r.content).map(([t, c]) => el("span", {}, t, " ", schemaText(c.schema)))) : ""))));
  return section;
}

async function main() {
  const spec = await (await fetch("/openapi.json")).json();
  const root = document.getElementById("docs");
  root.textContent = "";
  root.append(el("p", {}, spec.info.description));
  Object.entries(spec.paths).forEach(([path, methods]) =>
    Object.entries(methods).forEach(([method, op]) => root.append(renderOperation(path, method, op))));
  root.append(el("h2", {}, "Schemas"));
  Object.entries(spec.components.schemas).forEach(([name, schema]) =>
    root.append(el("section", { class: "schema", id: "schema-" + name }, el("h3", {}, name),
      el("pre", {}, JSON.stringify(schema, null, 2)))));
}

main();
