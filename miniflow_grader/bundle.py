"""What an executing machine needs to run a sandbox, packed as one tar: the job's bundle.

- lib/python: the library the sandbox imports: `miniflow` with the assignment's
  targets stubbed, the probing half of the checks (probe_side.py), and the
  runner that executes the notebook inside (machine/sandboxed/runner.py);
- host/: the code that runs the sandbox on that machine (machine/host.py,
  sandbox.py, mounts.py).

No solution, no reference answer, no course file is in it.
"""
import importlib
import io
import tarfile
import tempfile
from pathlib import Path

from .probe_side import write_probe_side
from .stubs import write_stubbed_package

HERE = Path(__file__).resolve().parent
MACHINE = HERE / "machine"
HOST_MODULES = ("host.py", "sandbox.py", "mounts.py")


def _write_lib(python, checks_module_name, targets):
    import miniflow
    python.mkdir(parents=True)
    write_stubbed_package(Path(miniflow.__file__).resolve().parent, targets, python)
    # the checks' probing half only: the judging half knows the answers (probe_side.py)
    parts = checks_module_name.split(".")
    origin = Path(importlib.import_module(parts[0]).__file__).resolve()
    if origin.name == "__init__.py":
        inner = "/".join(parts[1:])
        only = ["__init__.py"] + [f"{'/'.join(parts[1:i])}/__init__.py" for i in range(2, len(parts))]
        only += [inner, f"{inner}.py"] if inner else [""]
        write_probe_side(origin.parent, python / parts[0], only=only if inner else None)
    else:
        write_probe_side(origin, python / origin.name)
    (python / "_miniflow_runner.py").write_bytes((MACHINE / "sandboxed" / "runner.py").read_bytes())


def write_lib(lib, checks_module_name, targets, sandboxed=True):
    """The bundle's library, written straight into the folder `lib` on this machine (for tools and tests)."""
    from .machine.host import write_kernel_spec
    lib = Path(lib)
    _write_lib(lib / "python", checks_module_name, targets)
    for path in [lib, *lib.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    write_kernel_spec(lib, sandboxed)
    return lib


def build_bundle(checks_module_name, targets):
    """The bundle's bytes (an uncompressed tar, the same bytes for the same sources)."""
    with tempfile.TemporaryDirectory(prefix="miniflow-bundle-") as folder:
        folder = Path(folder)
        _write_lib(folder / "lib" / "python", checks_module_name, targets)
        host = folder / "host"
        host.mkdir()
        (host / "__init__.py").write_text('"""The sandbox runner of a MiniFlow grading bundle."""\n')
        for name in HOST_MODULES:
            (host / name).write_bytes((MACHINE / name).read_bytes())
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w:", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(folder.rglob("*")):
                if "__pycache__" in path.parts:
                    continue
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
                info.mode = 0o755 if path.is_dir() else 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if path.is_dir():
                    tar.addfile(info)
                else:
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
        return data.getvalue()
