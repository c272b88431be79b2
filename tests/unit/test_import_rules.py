"""The rooms stay apart: the API never loads the AI libraries, workers/ never the pipeline."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "hdbscan", "sklearn")


def modules_loaded_by(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    import json

    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_api_process_never_imports_heavy_libraries(tmp_path):
    loaded = modules_loaded_by(
        "from graphnode.api import create_app\n"
        "from graphnode.settings import ApiSettings\n"
        f"app = create_app(ApiSettings(store_url='sqlite:///{tmp_path}/x.db',\n"
        "                              aws_endpoint_url='http://127.0.0.1:4566'))\n"
        "app.test_client().get('/healthz')\n"
        "import graphnode.ops.cli, graphnode.runtime.celery_app\n"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_registering_all_tasks_stays_light():
    """A worker loads every task module at start; the pipeline loads only inside a task."""
    loaded = modules_loaded_by(
        "import graphnode\n"
        "graphnode.celery.loader.import_default_modules()\n"
        "assert 'GRAPH_GENERATION_REQUEST' in graphnode.celery.tasks\n"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "tasks" in loaded and "workers" in loaded


def test_workers_package_does_not_import_the_pipeline():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "workers"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "tasks.pipeline" not in text and "from tasks" not in text, path


def test_the_result_worker_loads_no_request_task_and_no_numpy(tmp_path):
    """A worker started with -Q graph-res imports workers/ only (numpy stays out)."""
    loaded = modules_loaded_by(
        "import graphnode\n"
        "from celery.apps.worker import Worker\n"
        "# Celery's worker imports its includes first of all; the rest needs a broker.\n"
        "Worker.__init__ = lambda self, app=None, hostname=None, **_: (\n"
        "    (app or self.app).loader.init_worker())\n"
        "graphnode.celery.Worker(hostname='res@test', queues=['graph-res'])\n"
        "assert 'GRAPH_GENERATION_RESULT' in graphnode.celery.tasks\n"
        "assert 'GRAPH_GENERATION_REQUEST' not in graphnode.celery.tasks\n"
    )
    assert "tasks" not in loaded and "numpy" not in loaded, loaded & {"tasks", "numpy"}


def test_the_top_level_tasks_and_workers_are_ours_alone():
    """The layout's generic names: no other installed distribution claims them, and the
    packages imported under them are the ones installed beside graphnode."""
    import importlib
    from importlib.metadata import packages_distributions
    from pathlib import Path

    owners = packages_distributions()
    home = Path(importlib.import_module("graphnode").__file__).resolve().parents[1]
    for name in ("graphnode", "tasks", "workers"):
        assert set(owners.get(name, [])) == {"graphnode"}, (name, owners.get(name))
        assert Path(importlib.import_module(name).__file__).resolve().parents[1] == home, name


def import_graph() -> dict[str, set[str]]:
    """Each module of graphnode/, workers/ and tasks/ and the modules of those packages it
    imports anywhere in its body (a function's lazy import too; ``if TYPE_CHECKING`` not)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    paths = {}
    for package in ("graphnode", "workers", "tasks"):
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    class Imports(ast.NodeVisitor):
        def __init__(self) -> None:
            self.found: set[str] = set()

        def visit_If(self, node: ast.If) -> None:
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            self.found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.module and not node.level:
                # ``from graphnode.runtime import logs`` imports the module graphnode.runtime.logs.
                modules = [f"{node.module}.{a.name}" for a in node.names
                           if f"{node.module}.{a.name}" in paths]
                self.found.update(modules if len(modules) == len(node.names)
                                  else [node.module, *modules])

    graph = {}
    for name, path in paths.items():
        visitor = Imports()
        visitor.visit(ast.parse(path.read_text()))
        graph[name] = {module for module in visitor.found if module in paths} - {name}
    return graph


def test_no_module_depends_on_itself_through_others():
    """No circle, lazy imports included: a circle is two modules that belong together, or a
    piece both need that belongs in a module of its own (api/services.py, roles.py)."""
    graph = import_graph()
    circles = set()

    def walk(module: str, path: list[str]) -> None:
        for imported in graph[module]:
            if imported in path:
                circles.add(" -> ".join([*path[path.index(imported):], imported]))
            elif imported not in seen:
                seen.add(imported)
                walk(imported, [*path, imported])

    for start in graph:
        seen = {start}
        walk(start, [start])
    assert not circles, "\n".join(sorted(circles))


#: The rooms of graphnode/ and the top-level packages, and what each may import. The
#: contract is the floor every role stands on; the stores beside it; the runtime (Celery,
#: SQS, middleware) above both; the API, the operator tools and the two workers' packages on
#: top, none importing another. ``graphnode`` itself only builds the Celery app.
MAY_IMPORT = {
    "base": {"base"},
    "contract": {"base", "contract"},
    "stores": {"base", "contract", "stores"},
    "runtime": {"base", "contract", "stores", "runtime"},
    "api": {"base", "contract", "stores", "runtime", "api"},
    "ops": {"base", "contract", "stores", "runtime", "ops", "samples"},
    "workers": {"base", "contract", "stores", "runtime", "workers"},
    "tasks": {"base", "contract", "runtime", "tasks"},
    "samples": set(),
    "entry": {"runtime"},
}
#: Worker-side modules of the runtime that the API must not load (it only sends messages).
WORKER_SIDE = {"graphnode.runtime.middleware", "graphnode.runtime.worker_ops"}


def room_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "graphnode":
        return parts[0]
    if len(parts) == 1:
        return "entry"
    if module in ("graphnode.settings", "graphnode.aws"):
        return "base"
    return parts[1]


def test_every_module_lives_in_a_room():
    assert {room_of(module) for module in import_graph()} <= set(MAY_IMPORT)


def test_each_room_imports_only_the_rooms_below_it():
    broken = sorted(
        f"{module} ({room_of(module)}) imports {imported} ({room_of(imported)})"
        for module, imports in import_graph().items() for imported in imports
        if room_of(imported) not in MAY_IMPORT[room_of(module)]
        or (room_of(module) == "api" and imported in WORKER_SIDE))
    assert not broken, "\n".join(broken)
