"""nbgrader's autograde, split so that execution happens elsewhere: the preprocessors the grader adds.

`SandboxAutograde` runs nbgrader's own sanitizing preprocessors (with
`RestoreCells` before OverwriteCells) on the way in, and on the way out puts
`InjectResults` where nbgrader's Execute stands, so that nbgrader saves the
grades itself and `generate_feedback` and `export` work unchanged.
"""
import json

import nbformat
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets.utils.importstring import import_item

from .inert import make_notebook_inert
from .judge import output_size


class InjectResults(NbGraderPreprocessor):
    """Stands where nbgrader's Execute stands: puts the sandbox's outputs and the checks' verdicts in."""

    def preprocess(self, nb, resources):
        result = resources["miniflow"]
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if meta is not None and grade_id not in result.known_ids:
                del cell.metadata["nbgrader"]     # grading metadata the source notebook does not have
                grade_id = None
            if cell.cell_type != "code":
                continue
            if grade_id in result.grade_outputs:
                cell.outputs = [nbformat.from_dict(o) for o in result.grade_outputs[grade_id]]
            else:
                cell.outputs = [nbformat.from_dict(o) for o in result.cell_outputs.get(index, [])]
            cell.execution_count = result.execution_counts.get(index)
        _cap_attachments(nb, result)
        make_notebook_inert(nb)        # before nbgrader saves it: formgrader and feedback pages show it
        return nb, resources


def _cap_attachments(nb, result):
    """Attachments count toward the output cap too: over it, every attachment is dropped."""
    used = sum(output_size(o) for cell in nb.cells for o in cell.get("outputs", []))
    attached = [cell for cell in nb.cells if cell.get("attachments")]
    if attached and used + sum(output_size(c["attachments"]) for c in attached) > result.output_cap:
        for cell in attached:
            cell["attachments"] = {}
        result.limits.append({"kind": "output", "detail": "the notebook's attachments and outputs take more than "
                                                          f"{result.output_cap} bytes: attachments dropped"})


class RestoreCells(NbGraderPreprocessor):
    """Before nbgrader's OverwriteCells: give it a notebook whose graded cells it can always restore.

    Grading metadata the source notebook does not have (a made-up grade cell, a
    notebook from another assignment) is removed; every source cell the learner
    deleted is put back where it was, a deleted solution cell as an empty one.
    (nbgrader's add_missing_cells fails on a notebook that lost a solution cell.)
    """

    def preprocess(self, nb, resources):
        source = resources["miniflow_sources"][resources["nbgrader"]["notebook"]]
        order = [(c, c.metadata["nbgrader"]["grade_id"]) for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id")]
        known = {grade_id for _, grade_id in order}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta is not None and (not isinstance(meta, dict) or meta.get("grade_id") not in known):
                del cell.metadata["nbgrader"]
        position = {}
        for index, cell in enumerate(nb.cells):
            position.setdefault(cell.metadata.get("nbgrader", {}).get("grade_id"), index)
        after = -1
        for source_cell, grade_id in order:
            if grade_id in position:
                after = max(after, position[grade_id])
                continue
            meta = json.loads(json.dumps(source_cell.metadata))
            text = "" if meta["nbgrader"].get("solution") else source_cell.source
            if source_cell.cell_type == "code":
                cell = nbformat.v4.new_code_cell(text, metadata=meta)
            else:
                cell = nbformat.v4.new_markdown_cell(text, metadata=meta)
            nb.cells.insert(after + 1, cell)
            after += 1
            position = {}
            for index, c in enumerate(nb.cells):
                position.setdefault(c.metadata.get("nbgrader", {}).get("grade_id"), index)
        return nb, resources


def _executes(pp):
    return isinstance(pp, type) and issubclass(pp, (Execute, ExecutePreprocessor))


def sandboxed_preprocessors(preprocessors):
    """Autograde's preprocessors with every step that would run the notebook here replaced by InjectResults.

    (The instructor's configuration may name them as strings, or put its own
    subclass of Execute there: none of them may run learner code in this process.)
    """
    steps = [import_item(pp) if isinstance(pp, str) else pp for pp in preprocessors]
    if not any(_executes(pp) for pp in steps):
        raise ValueError("Autograde.autograde_preprocessors has no Execute step, so nbgrader would not run the "
                         "notebooks; the sandboxed grader needs one where the results go")
    return [InjectResults if _executes(pp) else pp for pp in steps]


class SandboxAutograde(Autograde):
    """nbgrader's Autograde, split so that execution can happen elsewhere and in parallel."""

    current_result = None
    sources = None

    def _init_preprocessors(self):
        self.exporter._preprocessors = []
        if self._sanitizing:
            preprocessors = list(self.sanitize_preprocessors)
            from nbgrader.preprocessors import OverwriteCells
            if OverwriteCells in preprocessors:
                preprocessors.insert(preprocessors.index(OverwriteCells), RestoreCells)
        else:
            preprocessors = sandboxed_preprocessors(self.autograde_preprocessors)
        for pp in preprocessors:
            self.exporter.register_preprocessor(pp)

    def init_single_notebook_resources(self, notebook_filename):
        resources = super().init_single_notebook_resources(notebook_filename)
        resources["miniflow"] = self.current_result
        resources["miniflow_sources"] = self.sources
        return resources



class SharedEngines:
    """While grading, every nbgrader Gradebook of one URL shares one SQLAlchemy engine.

    nbgrader opens a new Gradebook (so a new engine) for each step of each
    notebook; a new engine starts with an empty compiled-statement cache, and
    compiling the same queries again and again was most of the grader's own time.
    """

    def __enter__(self):
        import nbgrader.api as api
        self.api, self.original, engines = api, api.create_engine, {}

        def create_engine(url, **kwargs):
            key = (str(url), tuple(sorted(kwargs.items())))
            if key not in engines:
                engines[key] = self.original(url, **kwargs)
            return engines[key]
        self.engines = engines
        api.create_engine = create_engine
        return self

    def __exit__(self, *exc):
        self.api.create_engine = self.original
        for engine in self.engines.values():
            engine.dispose()


def load_config(course_dir, db_url=None):
    """nbgrader's whole configuration for the course (config.py), as `nbgrader autograde` reads it."""
    from .config import load_config as load
    return load(course_dir, db_url)
