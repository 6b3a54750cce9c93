"""No function over 60 lines without a reason in its docstring (issue 11).

A function's length is its body including the docstring (decorators and the
signature are not counted), from the source of ``generation/``, ``analysis/``,
``formats/`` and ``platform/``; Django migrations are generated and left out,
nothing else is. A long function passes when a line of its docstring starts
with "Long because" and says why (a flat argparse table, a docstring that
documents many options).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("generation", "analysis", "formats", "platform")
MAX_LINES = 60
REASON = "Long because"


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if "migrations" not in p.relative_to(ROOT).parts)


def _functions(tree: ast.AST, prefix: str = ""):
    """``(qualified name, node)`` of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement of the body (the docstring, if any) to the last."""
    return node.end_lineno - node.body[0].lineno + 1


def has_reason(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(line.strip().startswith(REASON) for line in doc.splitlines())


def long_functions() -> dict[str, int]:
    """``{"path::qualified.name": body lines}`` of every function over the limit without a reason."""
    found = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, node in _functions(tree):
            if body_lines(node) > MAX_LINES and not has_reason(node):
                found[f"{path.relative_to(ROOT).as_posix()}::{name}"] = body_lines(node)
    return found


def test_the_checker_sees_the_packages():
    sources = _sources()
    assert {p.relative_to(ROOT).parts[0] for p in sources} == set(PACKAGES)
    assert not any("migrations" in p.relative_to(ROOT).parts for p in sources)


def test_the_checker_counts_the_body_and_reads_the_reason():
    code = "def f():\n    '''Doc.\n\n    Long because it is.\n    '''\n" + "    x = 1\n" * 60
    node = ast.parse(code).body[0]
    assert body_lines(node) == 64  # four docstring lines and sixty statements
    assert has_reason(node)
    assert not has_reason(ast.parse("def g():\n    '''Doc; long because.'''\n").body[0])


def test_no_function_is_over_60_lines_without_a_reason_in_its_docstring():
    offenders = long_functions()
    listing = "\n".join(f"  {name}: {n} lines" for name, n in sorted(offenders.items(), key=lambda x: -x[1]))
    assert not offenders, (f"functions over {MAX_LINES} lines (body with docstring) without a docstring line "
                           f"starting {REASON!r}; split them into named steps or say why:\n{listing}")

