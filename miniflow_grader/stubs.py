"""A copy of the `miniflow` package in which the parts a learner must write are stubs.

Learner code runs against this copy, so the reference implementation of an
assignment's targets is nowhere the learner's code can read it. The transform
works on the syntax tree: each target function or method keeps its signature and
docstring, and its body becomes `raise NotImplementedError(...)`; the rest of the
library is unchanged, so everything the exercise imports still works.
"""
import ast
import os
import shutil
from pathlib import Path


class StubError(ValueError):
    """A target named in TARGETS does not exist in the library."""


def _stub_body(node, dotted):
    body = []
    doc = ast.get_docstring(node, clean=False)
    if doc is not None:
        body.append(ast.Expr(ast.Constant(doc)))
    message = f"{dotted} is yours to write: miniflow's own version is not available while grading"
    body.append(ast.Raise(exc=ast.Call(ast.Name("NotImplementedError", ast.Load()),
                                       [ast.Constant(message)], []), cause=None))
    node.body = body
    node.decorator_list = [d for d in node.decorator_list
                           if isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")]


def stub_source(source, targets):
    """Return `source` with each dotted target (`func` or `Class.method`) defined there stubbed.

    Returns (new_source, set of targets found in this source).
    """
    tree = ast.parse(source)
    found = set()
    wanted = set(targets)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in wanted:
            _stub_body(node, node.name)
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                dotted = f"{node.name}.{getattr(item, 'name', '')}"
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and dotted in wanted:
                    _stub_body(item, dotted)
                    found.add(dotted)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n", found


def write_stubbed_package(package_dir, targets, dest_parent):
    """Copy the package at `package_dir` into `dest_parent`/<name> with `targets` stubbed.

    Only `.py` sources are copied (never bytecode caches, which would carry the
    reference code). Raises StubError if a target is not defined anywhere.
    """
    package_dir = Path(package_dir)
    dest = Path(dest_parent) / package_dir.name
    if dest.exists():
        shutil.rmtree(dest)
    found = set()
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        out = dest / path.relative_to(package_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        text, here = stub_source(path.read_text(encoding="utf-8"), targets)
        found |= here
        out.write_text(text, encoding="utf-8")
    missing = set(targets) - found
    if missing:
        raise StubError(f"targets not found in {package_dir}: {', '.join(sorted(missing))}")
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return dest
