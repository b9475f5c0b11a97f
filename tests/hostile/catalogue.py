"""The adversarial catalogue: hostile or broken ps1_nodes submissions, each with what it must earn.

Every entry starts from the released exercise. Most keep a correct `Mul` and
cheat (or break) on `Add`, so an entry earns exactly the Mul points when the
cheat fails and more if it works. `passes` names the test cells that must pass;
`message` maps a failing test cell to a phrase its feedback must contain;
`limits` names the kinds of limit the report must list for it.

The code of an entry may use {course} (the course directory), {repo} (this
repository) and {port} (a TCP server on 127.0.0.1 that hands out a correct Add).
"""
import copy
from dataclasses import dataclass, field

import nbformat

from . import course as C

ADD_IDS = {"add_forward", "add_forward_hidden"}
MUL_IDS = {"mul_forward", "mul_forward_hidden"}
ALL_IDS = ADD_IDS | MUL_IDS

CORRECT_ADD_FROM_SERVER = "class Add(Node):\n    def __init__(self, *inputs, name=None):\n        Node.__init__(self, inputs, name)\n    def forward(self):\n        self.value = sum(n.value for n in self.inbound_nodes)\n"


def add_class(forward_body, extra=""):
    body = "\n".join("        " + line for line in forward_body.strip("\n").splitlines())
    return (f"{extra}\nclass Add(Node):\n    def __init__(self, *inputs, name=None):\n"
            f"        Node.__init__(self, inputs, name)\n\n    def forward(self):\n{body}\n")


def mul_class(forward_body):
    body = "\n".join("        " + line for line in forward_body.strip("\n").splitlines())
    return (f"class Mul(Node):\n    def __init__(self, *inputs, name=None):\n"
            f"        Node.__init__(self, inputs, name)\n\n    def forward(self):\n{body}\n")


WRONG_ADD = add_class("self.value = self.inbound_nodes[0].value * 0")
ADD_WRONG = "Add(x1, x2, x3) with x1 = 4., x2 = 5., x3 = 10."   # how the visible test's message about it starts

# Defines _working_add(text): the first `class Add(Node)` in `text` that adds correctly, or None
TAKE_WORKING_ADD = """\
import re
def _working_add(text):
    for source in re.findall(r'class Add\\(Node\\):.*?(?=\\nclass |\\Z)', text.replace('\\\\n', '\\n'), re.S):
        try:
            ns = {'Node': Node, 'np': np}
            exec(source, ns)
            x = Input(); x.value = 2.0
            add = ns['Add'](x, x); add.forward()
            if add.value == 4.0:
                return ns['Add']
        except Exception:
            pass
    return None
"""

# The reference, wherever an installed copy of miniflow would be: site-packages, or what its metadata names
FIND_INSTALLED_ADD = TAKE_WORKING_ADD + """\
import glob, importlib.metadata, sys
_paths = [p + '/miniflow/nodes.py' for p in sys.path]
_paths += glob.glob('/usr/lib/python3*/*-packages/miniflow/nodes.py') + glob.glob('/tmp/**/nodes.py', recursive=True)
try:
    _dist = importlib.metadata.distribution('miniflow')
    _paths += [str(_dist.locate_file(f)) for f in (_dist.files or []) if str(f).endswith('nodes.py')]
except Exception:
    pass
for _path in _paths:
    try:
        _found = _working_add(open(_path).read())
    except Exception:
        continue
    if _found is not None:
        Add = _found
"""

# Any Add found anywhere the kernel can read (a checkout of the repository, a cache, another job) that works
FIND_ANY_ADD = TAKE_WORKING_ADD + """\
import os, time
_skip, _until = {'/proc', '/sys', '/dev', '/usr'}, time.monotonic() + 3
for _dir, _subdirs, _files in os.walk('/'):
    if time.monotonic() > _until:
        break
    _subdirs[:] = [d for d in _subdirs if os.path.join(_dir, d) not in _skip
                   and d not in ('site-packages', 'lib-dynload', 'python3.11', 'python3.12')]
    for _name in _files:
        if _name.endswith(('.py', '.ipynb')):
            try:
                _found = _working_add(open(os.path.join(_dir, _name)).read())
            except Exception:
                continue
            if _found is not None:
                Add = _found
"""


@dataclass
class Entry:
    name: str
    what: str
    passes: set
    add: str = None                 # source of the Add solution cell (None: the correct one)
    mul: str = None                 # source of the Mul solution cell
    before_tests: list = field(default_factory=list)   # learner cells inserted before the first test
    after_tests: list = field(default_factory=list)    # learner cells appended at the end
    edit: object = None             # function(notebook) -> notebook, applied last
    raw: bytes = None               # submit these bytes instead of a notebook
    file_name: str = None
    message: dict = field(default_factory=dict)
    limits: set = field(default_factory=set)

    def build(self, root, port, scratch=None):
        if self.raw is not None:
            return None
        nb = C.correct_submission(root)
        fill = {"course": str(root), "repo": str(C.REPO), "port": port, "scratch": str(scratch or "")}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id == "add_solution" and self.add is not None:
                cell.source = _fill(self.add, fill)
            if grade_id == "mul_solution" and self.mul is not None:
                cell.source = self.mul
        first_test = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
        for offset, source in enumerate(self.before_tests):
            nb.cells.insert(first_test + offset, nbformat.v4.new_code_cell(_fill(source, fill)))
        for source in self.after_tests:
            nb.cells.append(nbformat.v4.new_code_cell(_fill(source, fill)))
        if self.edit is not None:
            nb = self.edit(copy.deepcopy(nb))
        return nb


def _fill(source, fill):
    for key, value in fill.items():
        source = source.replace("{" + key + "}", str(value))
    return source


def _delete_tests(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return nb


def _edit_tests(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = 'print("all tests passed")'
    return nb


def _no_cells(nb):
    nb.cells = []
    return nb


def _big_attachment(nb):
    import base64
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 ** 2)).decode()
    cell = nbformat.v4.new_markdown_cell("![x](attachment:x.png)")
    cell["attachments"] = {"x.png": {"image/png": data}}
    nb.cells.insert(1, cell)
    return nb


def _forged_grade_cell(nb):
    nb.cells.append(nbformat.v4.new_code_cell(
        "print('bonus')", metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                  "grade_id": "bonus", "points": 100, "schema_version": 3}}))
    return nb


def _duplicate_test_id(nb):
    nb.cells.append(nbformat.v4.new_code_cell(
        CORRECT_ADD_FROM_SERVER + 'from miniflow_grader import check\ncheck("add_forward", globals())',
        metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                               "grade_id": "add_forward", "points": 1, "schema_version": 3}}))
    return nb


def _other_assignment(nb):
    other = nbformat.v4.new_notebook()
    other.cells = [
        nbformat.v4.new_code_cell("from miniflow import Node, Input\n"),
        nbformat.v4.new_code_cell(
            "def sort_nodes(start):\n    return list(start)\n",
            metadata={"nbgrader": {"grade": False, "solution": True, "locked": False,
                                   "grade_id": "sort_solution", "schema_version": 3}}),
        nbformat.v4.new_code_cell(
            'from miniflow_grader import check\ncheck("sort_nodes", globals())',
            metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                   "grade_id": "sort_nodes", "points": 2, "schema_version": 3}}),
    ]
    other.metadata = nb.metadata
    return other


CATALOGUE = [
    # --- forged equality and lying arrays ------------------------------------------------
    Entry("always_equal", "Add.forward returns an object whose __eq__ is always True", MUL_IDS,
          add=add_class("self.value = Anything()", extra=(
              "class Anything:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
              "    __hash__ = object.__hash__\n")),
          message={"add_forward": ADD_WRONG}),
    Entry("lying_ndarray", "Add.forward returns an ndarray subclass that claims to equal anything", MUL_IDS,
          add=add_class("self.value = np.zeros(np.shape(self.inbound_nodes[0].value)).view(Liar)", extra=(
              "class Liar(np.ndarray):\n    def __eq__(self, other): return np.ones(np.shape(self), bool)\n"
              "    def __array_finalize__(self, obj): pass\n    def all(self, *a, **k): return True\n"
              "    def __float__(self): return 19.0\n")),
          message={"add_forward": ADD_WRONG}),
    # --- monkeypatching the machinery ----------------------------------------------------
    Entry("patch_numpy_testing", "patches numpy.allclose, isclose and numpy.testing to always agree", MUL_IDS,
          add=WRONG_ADD + "\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *r, **k: "
              "np.ones(np.broadcast(a, b).shape, bool)\nnp.testing.assert_allclose = lambda *a, **k: None\n"
              "np.testing.assert_array_equal = lambda *a, **k: None\nnp.array_equal = lambda *a, **k: True\n",
          message={"add_forward": ADD_WRONG}),
    Entry("patch_builtins", "replaces builtins.AssertionError, abs and all", MUL_IDS,
          add=WRONG_ADD + "\nimport builtins\nbuiltins.AssertionError = type('AssertionError', (Exception,), {})\n"
              "builtins.all = lambda *a: True\nbuiltins.abs = lambda x: 0\n",
          message={"add_forward": ADD_WRONG}),
    Entry("patch_assertion_machinery", "makes the checks' CheckFailed and compare harmless in its kernel", MUL_IDS,
          add=WRONG_ADD + "\nimport miniflow_grader.checks as _c\n_c.CheckFailed = type('CheckFailed', (Warning,), {})\n"
              "_c.compare = lambda *a, **k: None\n_c._same = lambda *a, **k: None\n",
          message={"add_forward": ADD_WRONG}),
    Entry("patch_showtraceback", "silences IPython's showtraceback so failing tests print nothing", MUL_IDS,
          add=add_class("raise ValueError('not done')") +
              "\nip = get_ipython()\nip.showtraceback = lambda *a, **k: None\nip._showtraceback = lambda *a, **k: None\n"
              "ip.showsyntaxerror = lambda *a, **k: None\n",
          message={"add_forward": "not done"}),
    Entry("patch_check_noop", "replaces check() with a function that does nothing", set(),
          add=add_class("self.value = sum(n.value for n in self.inbound_nodes)") +
              "\nimport miniflow_grader, miniflow_grader.checks\n"
              "miniflow_grader.check = miniflow_grader.checks.check = lambda *a, **k: None\n",
          message={"mul_forward": "did not run"}),
    Entry("forged_probe", "replaces probe() with one that returns the lesson's printed answers", set(),
          add=WRONG_ADD + (
              "\nimport miniflow_grader.checks as _c\n"
              "_answers = {'add_forward': {'case0': np.array(19.0), 'case1': np.array([[6., 8.], [10., 12.]])},\n"
              "            'mul_forward': {'case0': np.array(200.0), 'case1': np.array([[5., 12.], [21., 32.]])}}\n"
              "_c.probe = lambda grade_id, ns, seed: _answers.get(grade_id.replace('_hidden', ''), {})\n"),
          mul=mul_class("self.value = 0"),
          message={"add_forward": "no result was recorded", "mul_forward": "no result was recorded",
                   "add_forward_hidden": "Hidden test failed"}),
    Entry("probe_files_after_tests", "a last cell overwrites every probe file with guessed values", MUL_IDS,
          add=WRONG_ADD,
          after_tests=["import os, numpy as np\nfor g in ['add_forward', 'add_forward_hidden']:\n"
                       "    np.savez(os.path.join(os.environ['MINIFLOW_PROBE_DIR'], g + '.npz'),\n"
                       "             case0=np.array(19.0), case1=np.array([[6., 8.], [10., 12.]]))\n"],
          message={"add_forward": ADD_WRONG}),
    # --- the reference implementation ----------------------------------------------------
    Entry("import_reference", "imports Add from miniflow instead of writing it", MUL_IDS,
          add="from miniflow import Add\n", message={"add_forward": "miniflow's own"}),
    Entry("subclass_reference", "subclasses miniflow's Add and adds nothing", MUL_IDS,
          add="import miniflow\n\nclass Add(miniflow.Add):\n    pass\n", message={"add_forward": "miniflow's own"}),
    Entry("read_reference_source", "reads the reference source from the repository and runs it", MUL_IDS,
          add=WRONG_ADD + (
              "\nimport glob, re\nfor _path in ['{repo}/miniflow/nodes.py'] + glob.glob('{repo}/.git/**', recursive=True)[:50]:\n"
              "    try:\n        _src = open(_path).read()\n    except Exception:\n        continue\n"
              "    if 'sum' in _src and 'class Add' in _src:\n        _ns = {}\n        exec(_src.replace('from .graph', 'from miniflow.graph'), _ns)\n"
              "        Add = _ns['Add']\n        break\n"),
          message={"add_forward": ADD_WRONG}),
    # --- other people's files ---------------------------------------------------------------
    Entry("read_solutions", "opens the instructor's solutions/ and runs the solution", MUL_IDS,
          add=WRONG_ADD,
          before_tests=["import json\nfor _p in ['{course}/solutions/ps1_nodes/ps1_nodes.ipynb', "
                        "'{repo}/solutions/ps1_nodes/ps1_nodes.ipynb']:\n"
                        "    _nb = json.load(open(_p))\n"
                        "    for _cell in _nb['cells']:\n"
                        "        if 'class Add' in ''.join(_cell['source']):\n"
                        "            exec(''.join(_cell['source']))\n"],
          message={"add_forward": ADD_WRONG}),
    Entry("read_other_learner", "copies Add from another learner's submission", MUL_IDS,
          add=WRONG_ADD,
          before_tests=["import glob, json\n_found = glob.glob('{course}/submitted/*/ps1_nodes/*.ipynb') + "
                        "glob.glob('{course}/autograded/*/ps1_nodes/*.ipynb')\n"
                        "assert _found, 'no other submissions visible'\n"
                        "for _cell in json.load(open(_found[0]))['cells']:\n"
                        "    if 'class Add' in ''.join(_cell['source']):\n"
                        "        exec(''.join(_cell['source']))\n"],
          message={"add_forward": ADD_WRONG}),
    Entry("write_gradebook", "writes full marks into the gradebook and the autograded folder", MUL_IDS,
          add=WRONG_ADD,
          before_tests=["import sqlite3\n_db = sqlite3.connect('file:{course}/gradebook.db?mode=rw', uri=True)\n"
                        "_db.execute('UPDATE grade SET auto_score = 100')\n_db.commit()\n",
                        "open('{course}/gradebook.db', 'wb').write(b'owned')\n"],
          message={"add_forward": ADD_WRONG}),     # the course does not exist in the sandbox: nothing to deny
    Entry("network", "fetches a correct Add from a server on 127.0.0.1", MUL_IDS,
          add=WRONG_ADD,
          before_tests=["import socket\n_s = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                        "exec(_s.recv(65536).decode())\n"],
          message={"add_forward": ADD_WRONG}, limits={"sandbox_violation"}),
    Entry("hardcode_visible", "hard-codes the lesson's visible answers", MUL_IDS,
          add=add_class("values = [n.value for n in self.inbound_nodes]\n"
                        "self.value = 19.0 if len(values) == 3 else np.array([[6., 8.], [10., 12.]])"),
          message={"add_forward": "rather than writing answers in", "add_forward_hidden": "Hidden test failed"}),
    # --- the host beyond the sandbox's allow-list ------------------------------------------
    Entry("search_the_machine", "walks the whole file system for any working Add (another checkout, a cache)",
          MUL_IDS, add=WRONG_ADD,
          before_tests=[FIND_ANY_ADD],
          message={"add_forward": ADD_WRONG}),
    Entry("grader_oracle", "computes Add and Mul with the checks' own function that builds the expected value",
          set(),
          add="from miniflow_grader.checks.ps1_nodes import _combine\n\nclass Add(Node):\n"
              "    def __init__(self, *inputs, name=None):\n        Node.__init__(self, inputs, name)\n"
              "    def forward(self):\n        self.value = _combine('Add', [n.value for n in self.inbound_nodes])\n",
          mul="from miniflow_grader.checks.ps1_nodes import _combine\n\nclass Mul(Node):\n"
              "    def __init__(self, *inputs, name=None):\n        Node.__init__(self, inputs, name)\n"
              "    def forward(self):\n        self.value = _combine('Mul', [n.value for n in self.inbound_nodes])\n",
          message={"add_forward": "not available while grading"}),
    Entry("installed_reference", "reads the reference Add where pip installed miniflow (site-packages, its RECORD)",
          MUL_IDS, add=WRONG_ADD, before_tests=[FIND_INSTALLED_ADD], message={"add_forward": ADD_WRONG}),
    Entry("root_only_files", "reads /etc/shadow, /proc/1/environ and the grader's gradebook", MUL_IDS,
          add=WRONG_ADD,
          before_tests=["_seen = {}\nfor _p in ['/etc/shadow', '/proc/1/environ', '/root/.bash_history', "
                        "'{course}/gradebook.db']:\n"
                        "    try:\n        _seen[_p] = open(_p, 'rb').read(200)\n    except OSError as _e:\n"
                        "        _seen[_p] = repr(_e)\nprint(_seen)\n"
                        "assert b'root:' not in _seen['/etc/shadow'] if isinstance(_seen['/etc/shadow'], bytes) "
                        "else True\n"],
          message={"add_forward": ADD_WRONG}),
    Entry("other_jobs", "looks for the other learners' jobs in the grader's scratch, wherever TMPDIR is",
          MUL_IDS, add=WRONG_ADD,
          before_tests=["import glob, json, os\n_jobs = glob.glob('{scratch}/**/*.ipynb', recursive=True) + "
                        "glob.glob('/tmp/**/jobs/**/*.ipynb', recursive=True)\n"
                        "for _path in _jobs:\n    for _cell in json.load(open(_path))['cells']:\n"
                        "        if 'class Add' in ''.join(_cell['source']) and 'sum' in ''.join(_cell['source']):\n"
                        "            exec(''.join(_cell['source']))\n"],
          message={"add_forward": ADD_WRONG}),
    Entry("fill_shared_memory", "writes gigabytes into /dev/shm and /tmp", ALL_IDS,
          before_tests=["_written = 0\nfor _folder in ['/dev/shm', '/tmp']:\n    try:\n"
                        "        with open(_folder + '/fill', 'wb') as _f:\n            for _ in range(700):\n"
                        "                _f.write(b'\\0' * (1 << 20))\n                _written += 1 << 20\n"
                        "    except OSError as _e:\n        print(_folder, _e)\n"
                        "if _written > 600 * 1024 ** 2:\n    Add = None      # the writable places were not bounded\n"
                        "import os\nfor _folder in ['/dev/shm', '/tmp']:\n    os.remove(_folder + '/fill')\n"]),
    # --- outputs of every kind count toward the cap -----------------------------------------
    Entry("update_display_bomb", "updates one display with 6 MB of data and 4.5 MB of metadata", ALL_IDS,
          before_tests=["from IPython.display import display, update_display\n"
                        "display({'text/plain': 'small'}, raw=True, display_id='d')\n"
                        "for _ in range(3):\n    update_display({'text/plain': 'x' * (2 * 10 ** 6)}, raw=True, "
                        "display_id='d', metadata={'m': 'y' * (15 * 10 ** 5)})\n"],
          limits={"output"}),
    # nbgrader's sanitizing already drops the attachment: the notebook saved stays under the cap (tested below)
    Entry("big_attachment", "a markdown cell with a 3 MiB attachment", ALL_IDS, edit=_big_attachment),
    # --- runaway code ------------------------------------------------------------------------
    Entry("infinite_loop", "Add.forward never returns", MUL_IDS,
          add=add_class("while True:\n    pass"), message={"add_forward": "ran longer than"}, limits={"timeout"}),
    Entry("uninterruptible_loop", "ignores SIGINT and loops forever before the tests", set(),
          before_tests=["import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"],
          message={"mul_forward": "went on running when it was interrupted"}, limits={"timeout"}),
    Entry("memory_bomb", "allocates far more memory than allowed", MUL_IDS,
          add=add_class("self.value = np.ones(1 << 40)"),
          before_tests=["_hog = [bytearray(1 << 30) for _ in range(64)]\n"],
          message={"add_forward": "MemoryError"}, limits={"memory"}),
    Entry("fork_bomb", "forks until the process limit, before the tests", ALL_IDS,
          before_tests=["import os\n_children = []\nwhile True:\n    _pid = os.fork()\n    if _pid == 0:\n"
                        "        import time\n        while True:\n            time.sleep(60)\n    _children.append(_pid)\n"],
          limits={"processes"}),
    Entry("fork_and_allocate", "forks copies of itself that each allocate a gigabyte, before the tests", ALL_IDS,
          before_tests=["import os, time\n_children = []\nfor _ in range(12):\n    _pid = os.fork()\n"
                        "    if _pid == 0:\n        try:\n            _hog = b'x' * (1 << 30)\n            time.sleep(60)\n"
                        "        finally:\n            os._exit(0)\n    _children.append(_pid)\ntime.sleep(3)\n"],
          limits={"processes"}),
    Entry("huge_print", "prints a gigabyte", ALL_IDS,
          before_tests=["_line = 'x' * (1 << 20)\nfor _ in range(1024):\n    print(_line)\n"],
          limits={"output", "memory"}),
    Entry("sys_exit", "Add.forward calls sys.exit(0)", MUL_IDS,
          add=add_class("import sys\nsys.exit(0)"), message={"add_forward": "SystemExit"}),
    Entry("os_exit", "Mul.forward calls os._exit(0), killing the kernel", ADD_IDS,
          mul=mul_class("import os\nos._exit(0)"), message={"mul_forward_hidden": "kernel died"},
          limits={"kernel_died"}),
    Entry("kill_runner", "Mul.forward kills the process that runs the notebook", ADD_IDS,
          mul=mul_class("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
          message={"mul_forward_hidden": "did not run"}),
    # --- broken notebooks ------------------------------------------------------------------
    Entry("syntax_error", "the Add cell does not parse", MUL_IDS,
          add="class Add(Node)\n    def forward(self):\n        self.value = 1\n",
          message={"add_forward": "not defined"}),
    Entry("corrupt_ipynb", "a truncated .ipynb file", set(), raw=b'{"cells": [{"cell_type": "code", "sou',
          message={"add_forward": "could not be read"}, limits={"unreadable"}),
    Entry("empty_ipynb", "an empty .ipynb file", set(), raw=b"", message={"add_forward": "could not be read"},
          limits={"unreadable"}),
    Entry("no_cells", "a valid notebook without a single cell", set(), edit=_no_cells,
          message={"add_forward": "not defined"}),
    Entry("wrong_file_name", "a correct notebook saved under another name", set(),
          file_name="ps1_nodes (1).ipynb", message={"add_forward": "expected name"}, limits={"missing"}),
    Entry("other_assignment", "the notebook of another assignment, saved under this one's name", set(),
          edit=_other_assignment, message={"add_forward": "not defined"}),
    # --- the test cells themselves ---------------------------------------------------------
    Entry("delete_tests", "a correct solution whose test cells were deleted", ALL_IDS, edit=_delete_tests),
    Entry("edit_tests", "a wrong Add whose test cells were replaced by a print", MUL_IDS,
          add=WRONG_ADD, edit=_edit_tests, message={"add_forward": ADD_WRONG}),
    Entry("cells_after_tests", "a wrong Add, then a last cell that defines a right one and checks again", MUL_IDS,
          add=WRONG_ADD,
          after_tests=[CORRECT_ADD_FROM_SERVER + 'from miniflow_grader import check\ncheck("add_forward", globals())\n'
                       'check("add_forward_hidden", globals())\n'],
          message={"add_forward": ADD_WRONG}),
    Entry("duplicate_test_id", "a wrong Add, then a cell claiming to be the add_forward test", MUL_IDS,
          add=WRONG_ADD, edit=_duplicate_test_id, message={"add_forward": ADD_WRONG}),
    Entry("forged_grade_cell", "a correct solution plus a made-up grade cell worth 100 points", ALL_IDS,
          edit=_forged_grade_cell),
]

CORRECT = [
    Entry("correct_reference", "the source's own solution", ALL_IDS),
    Entry("correct_builtin_sum", "sum() and np.prod()", ALL_IDS,
          add=add_class("self.value = sum(n.value for n in self.inbound_nodes)"),
          mul=mul_class("import functools, operator\n"
                        "self.value = functools.reduce(operator.mul, [n.value for n in self.inbound_nodes])")),
    Entry("correct_with_scratch", "correct, with prints and extra cells of its own", ALL_IDS,
          before_tests=["print('trying things')\nx = Input(); x.value = np.arange(3.0)\nm = Mul(x, x); m.forward(); m.value\n",
                        "import matplotlib\nmatplotlib.use('Agg')\n"]),
]


def submit_all(root, entries):
    """Submit each entry under its own name (a server on 127.0.0.1 answers those that fetch something)."""
    from .support import serving
    with serving("") as port:
        for entry in entries:
            kwargs = {"name": entry.file_name} if entry.file_name else {}
            if entry.raw is not None:
                C.submit(root, entry.name, raw=entry.raw, **kwargs)
            else:
                C.submit(root, entry.name, entry.build(root, port), **kwargs)
