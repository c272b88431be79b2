import json

from click.testing import CliRunner

from graphnode.contract.tokens import verify_token
from graphnode.ops.cli import main
from graphnode.settings import ApiSettings

SECRET = "cli-test-secret-0123456789abcdef0123"


def test_token_is_verifiable(monkeypatch):
    monkeypatch.setenv("GRAPHNODE_JWT_SECRET", SECRET)
    result = CliRunner().invoke(main, ["token", "alice"])
    assert result.exit_code == 0
    assert verify_token(ApiSettings(jwt_secret=SECRET), result.output.strip()) == "alice"


def test_bad_user_id_is_a_usage_error():
    result = CliRunner().invoke(main, ["token", "not a user!"])
    assert result.exit_code == 2 and "must match" in result.output


def test_schema_prints_every_task_type():
    result = CliRunner().invoke(main, ["schema", "messages"])
    assert result.exit_code == 0 and "GRAPH_GENERATION_REQUEST" in json.loads(result.output)


def test_schema_prints_the_graph_documents_and_by_default_the_messages_too():
    from graphnode.contract.graph_model import GraphDocument

    graph = json.loads(CliRunner().invoke(main, ["schema", "graph"]).output)
    assert graph["GraphDocument"] == GraphDocument.model_json_schema()
    assert {"SummaryDocument", "Assignments", "DocumentGraph"} <= set(graph)
    both = json.loads(CliRunner().invoke(main, ["schema"]).output)
    assert both["graph"] == graph and "Envelope" in both["messages"]
    assert CliRunner().invoke(main, ["schema", "nodes"]).exit_code == 2


def test_demo_refuses_a_file_that_is_not_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    result = CliRunner().invoke(main, ["demo", "--export", str(bad)])
    assert result.exit_code == 1 and "is not a JSON export" in result.output
