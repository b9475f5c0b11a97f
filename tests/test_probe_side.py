"""The checks the sandbox gets: the probes work as before, and nothing that judges (so knows answers) runs."""
import json
import subprocess
import sys
from pathlib import Path

from miniflow_grader.probe_side import MESSAGE, write_probe_side

REPO = Path(__file__).resolve().parents[1]

PROBE_ALL = r"""
import json, sys
import miniflow_grader
print(miniflow_grader.__file__, file=sys.stderr)
import numpy as np
from miniflow import Node, Input
import miniflow_grader.checks as checks
namespace = {"Node": Node, "Input": Input, "np": np}
exec(sys.argv[1], namespace)
print(json.dumps({g: {k: v.tolist() for k, v in checks.probe(g, namespace, 7).items()}
                  for g in sorted(checks.CHECKS) if checks.CHECKS[g].assignment == "ps1_nodes"}))
"""

SOLUTION = """
class Add(Node):
    def __init__(self, *inputs, name=None):
        Node.__init__(self, inputs, name)
    def forward(self):
        self.value = sum(n.value for n in self.inbound_nodes)

class Mul(Node):
    def __init__(self, *inputs, name=None):
        Node.__init__(self, inputs, name)
    def forward(self):
        value = 1
        for n in self.inbound_nodes:
            value = value * n.value
        self.value = value
"""


def _probe_outputs(python_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": python_path}
    done = subprocess.run([sys.executable, "-c", PROBE_ALL, SOLUTION], capture_output=True, text=True, env=env,
                          cwd="/", check=True, timeout=300)
    return done.stderr.strip().splitlines()[-1], json.loads(done.stdout)


def test_the_probing_half_probes_as_the_whole_checks_do(tmp_path):
    write_probe_side(REPO / "miniflow_grader", tmp_path / "miniflow_grader", only=["__init__.py", "checks"])
    assert not (tmp_path / "miniflow_grader" / "grade.py").exists()
    where, probed = _probe_outputs(f"{tmp_path}:{REPO}")
    assert where.startswith(str(tmp_path))
    assert probed == _probe_outputs(str(REPO))[1]


def test_what_judges_is_a_stub_in_the_sandbox(tmp_path):
    stubbed = write_probe_side(REPO / "miniflow_grader", tmp_path / "miniflow_grader", only=["__init__.py", "checks"])
    assert {"_combine", "_reference_backward", "same", "_compare_combine", "_visible_answers"} <= stubbed
    code = ("import miniflow_grader.checks.ps1_nodes as m\ntry:\n    m._combine('Add', [1.0, 2.0])\n"
            "except RuntimeError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{REPO}"}, cwd="/")
    assert MESSAGE in done.stdout
