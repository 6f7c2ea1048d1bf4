"""Data flows one way (DESIGN.md): no module under engines/ imports the Gradio side."""

import ast

from conftest import ROOT

FORBIDDEN = ("gradio", "gradio_client", "app", "playground")


def imported_modules(path) -> set[str]:
    """Top-level names of every module a file imports, at any depth of its code (lazy imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_engine_module_imports_gradio_the_app_or_the_playground():
    files = sorted((ROOT / "engines").rglob("*.py"))
    assert len(files) > 30  # the whole tree was walked
    offenders = {str(f.relative_to(ROOT)): sorted(imported_modules(f) & set(FORBIDDEN)) for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_the_check_sees_a_lazy_import(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from gradio_client import Client\n    import app\n")
    assert imported_modules(f) >= {"gradio_client", "app"}
