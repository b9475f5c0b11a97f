"""The checks as the sandbox gets them: the probing half only, every judging function a stub.

A check is a probe (runs the learner's code, in the sandbox) and a compare
(judges it, here). The compare half knows the answers: a function that builds
the expected value is as good as the reference, and learner code in the sandbox
could import and call it. So the copy of the checks that goes into the sandbox
keeps only what the probes can reach; every other module-level function keeps
its signature and docstring and raises.

What the probes reach is found on the syntax trees, by name: the module-level
statements (with the compare argument of each `register(...)` and
`visible_and_hidden(...)` call replaced by a function that does nothing) and
the public `check` and `probe` are the roots, and every function named in a
reachable function is reachable too. A name that is ambiguous is kept, so the
probes never lose anything they need.
"""
import ast
import os
import shutil
from pathlib import Path

COMPARE_ARGUMENTS = {"register": (4, "compare_fn"), "visible_and_hidden": (3, "make_compare")}
ROOTS = {"check", "probe"}
MESSAGE = "the grader's own judging is not available while grading: write the code yourself"


def _no_compare():
    return ast.parse("lambda *args, **kwargs: None", mode="eval").body


def _drop_compares(tree):
    """Replace the compare argument of every registration call in `tree` (in place)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in COMPARE_ARGUMENTS:
            continue
        index, keyword = COMPARE_ARGUMENTS[name]
        if len(node.args) > index:
            node.args[index] = _no_compare()
        for kw in node.keywords:
            if kw.arg == keyword:
                kw.value = _no_compare()


def _names(node):
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _functions(tree):
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _stub(node):
    body = []
    doc = ast.get_docstring(node, clean=False)
    if doc is not None:
        body.append(ast.Expr(ast.Constant(doc)))
    body.append(ast.Raise(exc=ast.Call(ast.Name("RuntimeError", ast.Load()), [ast.Constant(MESSAGE)], []),
                          cause=None))
    node.body = body


def probe_side_sources(sources):
    """{path: source} -> {path: source of the probing half}, and the names of the functions stubbed."""
    trees = {path: ast.parse(text) for path, text in sources.items()}
    for tree in trees.values():
        _drop_compares(tree)
    functions = {}
    reached = set(ROOTS)
    for tree in trees.values():
        defs = _functions(tree)
        for name, node in defs.items():
            functions.setdefault(name, []).append(node)
        for statement in tree.body:
            if statement not in defs.values():
                reached |= _names(statement)
    todo = [name for name in reached if name in functions]
    done = set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for node in functions.get(name, []):
            for used in _names(node) - done:
                reached.add(used)
                if used in functions:
                    todo.append(used)
    stubbed = set()
    for tree in trees.values():
        for name, node in _functions(tree).items():
            if name not in reached:
                _stub(node)
                stubbed.add(name)
    return {path: ast.unparse(ast.fix_missing_locations(tree)) + "\n" for path, tree in trees.items()}, stubbed


def write_probe_side(origin, dest, only=None):
    """Write the probing half of the package (or module) at `origin` to `dest`; return the stubbed names.

    `only` (relative paths) limits which of the package's files are copied.
    """
    origin, dest = Path(origin), Path(dest)
    if origin.is_file():
        files = {origin.name: origin}
    else:
        files = {str(p.relative_to(origin)): p for p in sorted(origin.rglob("*.py")) if "__pycache__" not in p.parts}
        if only is not None:
            files = {k: v for k, v in files.items() if any(k == o or k.startswith(o.rstrip("/") + "/") for o in only)}
    sources, stubbed = probe_side_sources({k: p.read_text(encoding="utf-8") for k, p in files.items()})
    if origin.is_dir() and dest.exists():
        shutil.rmtree(dest)
    for relative, text in sources.items():
        out = dest / relative if origin.is_dir() else dest
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        os.chmod(out, 0o644)
    return stubbed
