"""/openapi.json covers every route from the models the views use; presigned uploads (key,
presence, size, owner); the page and its vendored graph library are served offline."""

from __future__ import annotations

import re

import requests
from openapi_spec_validator import validate

from tests.unit.test_api import EXPORT, app, auth, client, sent, settings  # noqa: F401


def test_openapi_is_valid_3_1_and_covers_every_route(client, app):  # noqa: F811
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {rule.rule} is not in /openapi.json"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    job = spec["paths"]["/v1/jobs/{task_id}"]["get"]
    assert job["security"] == [{"bearerAuth": []}]
    assert job["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    assert set(spec["components"]["schemas"]["JobView"]["properties"]) >= {
        "attempts", "failure", "progress", "status"}
    generate = spec["paths"]["/v1/graphs/generate"]["post"]
    assert {p["name"] for p in generate["parameters"]} == {"minClusters", "maxClusters"}
    assert generate["parameters"][0]["schema"]["maximum"] == 50  # from the contract's model


def test_docs_page_and_web_page_load_nothing_from_outside(client):  # noqa: F811
    for path in ("/", "/docs"):
        page = client.get(path)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert not re.search(rb"(src|href)=\"(https?:)?//", page.data)
        for asset in re.findall(rb"(?:src|href)=\"(/static/[^\"]+)\"", page.data):
            assert client.get(asset.decode()).status_code == 200, asset
    assert client.get("/static/vendor/cytoscape/LICENSE").status_code == 200


def test_presigned_upload_then_generate(client, settings, sent):  # noqa: F811
    import json

    body = json.dumps(EXPORT).encode()
    ticket = client.post("/v1/uploads", json={"size": len(body)}, headers=auth(settings))
    assert ticket.status_code == 201, ticket.get_json()
    ticket = ticket.get_json()
    assert ticket["headers"]["Content-Length"] == str(len(body))
    missing = client.post("/v1/graphs/generate", json={"uploadKey": ticket["uploadKey"]},
                          headers=auth(settings))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "upload_not_found"
    # The PUT itself, through moto's in-process S3 (mock_aws patches botocore, not requests).
    from graphnode.api import services

    with client.application.app_context():
        payloads = services().payloads
        payloads.client.put_object(Bucket=payloads.bucket, Key=ticket["uploadKey"], Body=body,
                                   ContentType="application/json")
    other = client.post("/v1/graphs/generate", json={"uploadKey": ticket["uploadKey"]},
                        headers=auth(settings, "bob"))
    assert other.status_code == 404
    accepted = client.post("/v1/graphs/generate",
                           json={"uploadKey": ticket["uploadKey"], "maxClusters": 4},
                           headers=auth(settings))
    assert accepted.status_code == 202, accepted.get_json()
    assert sent[-1][2].maxClusters == 4


def test_upload_refuses_sizes_over_the_limit_and_other_types(client, settings):  # noqa: F811
    too_big = client.post("/v1/uploads", json={"size": settings.max_upload_bytes + 1},
                          headers=auth(settings))
    assert too_big.status_code == 413
    wrong_type = client.post("/v1/uploads", json={"size": 10, "contentType": "text/html"},
                             headers=auth(settings))
    assert wrong_type.status_code == 400
    forged = client.post("/v1/graphs/generate", json={"uploadKey": "inputs/x/y/input.json"},
                         headers=auth(settings))
    assert forged.status_code == 404


def test_upload_url_binds_size_and_type_into_the_signature(client, settings):  # noqa: F811
    url = client.post("/v1/uploads", json={"size": 123},
                      headers=auth(settings)).get_json()["url"]
    signed = requests.utils.unquote(re.search(r"X-Amz-SignedHeaders=([^&]+)", url).group(1))
    assert {"content-length", "content-type", "host"} <= set(signed.split(";"))
    assert "X-Amz-Expires=300" in url
