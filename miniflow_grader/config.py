"""nbgrader's configuration, read as nbgrader's own commands read it, and what of it decides a grade.

`nbgrader autograde` reads `jupyter_config` and `nbgrader_config` (.py and .json)
from every folder of Jupyter's config path (the environment's and the system's
folders, `JUPYTER_CONFIG_DIR` or `~/.jupyter`), then the `nbgrader_config.py` of
the folder it runs in and of the course directory. `load_config` asks nbgrader's
own application to do exactly that, so a late-submission plugin, a timeout or a
preprocessor's setting put in any of those files means the same to this grader.

The fingerprints of what decides a grade come from here too: `grading_digest`
(every setting but those that only say where things are or how other commands
behave) and `late_policy_digest` (the late-submission plugin, its code and its
settings), which matters only for a submission that is late.
"""
import contextlib
import hashlib
import inspect
import json
import marshal
import os
from pathlib import Path

from traitlets.config import Config
from traitlets.utils.importstring import import_item


class ConfigProblem(RuntimeError):
    """The course's configuration cannot be read."""


@contextlib.contextmanager
def _working_directory(path):
    saved = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(saved)


def load_config(course_dir, db_url=None):
    """The configuration `nbgrader autograde` would use, run in `course_dir`.

    nbgrader's application reads it (the same files, in the same order, with its
    own handling of outdated names); like nbgrader, it puts the course directory
    on sys.path, so the configuration can import the course's own modules.
    """
    from nbgrader.apps.autogradeapp import AutogradeApp

    course_dir = Path(course_dir).resolve()
    app = AutogradeApp()
    try:
        with _working_directory(course_dir):
            app.initialize([])
    except SystemExit:
        raise ConfigProblem(f"nbgrader could not read the configuration of the course at {course_dir} "
                            "(its message is above)") from None
    config = Config(app.config)
    if "root" not in config.CourseDirectory:
        config.CourseDirectory.root = str(course_dir)
    if db_url:
        config.CourseDirectory.db_url = db_url
    config.OverwriteCells.add_missing_cells = True
    return config


# --- what decides a grade ---------------------------------------------------------------------

#: Sections that only say where things are, or how commands other than autograde behave.
NOT_GRADING = ("Exchange", "GenerateFeedback", "HTMLExporter", "FeedbackExporter", "Export", "CsvExportPlugin",
               "ExportPlugin", "ZipCollect", "FileNameCollectorPlugin", "ExtractorPlugin", "CollectApp",
               "Authenticator", "JupyterHubAuthPlugin", "NoAuthPlugin", "FormgradeExtension", "Formgrader",
               "ReleaseAssignment", "ReleaseFeedback", "FetchAssignment", "FetchFeedback", "Submit", "Collect",
               "ListApp", "NbGrader", "Application", "JupyterApp", "GenerateAssignment", "GenerateSolution",
               "CourseDirectory", "AssignLatePenalties", "LateSubmissionPlugin", "TransferApp")
#: CourseDirectory settings that change which files a graded folder holds.
COURSE_GRADING_KEYS = ("ignore", "include", "max_file_size", "source_directory", "directory_structure")


def _section_excluded(name, late_sections):
    return (name in late_sections or name in NOT_GRADING or name.endswith("App")
            or name.startswith(("Exchange", "Export", "ZipCollect")))


def _describe(value, seen=None):
    """A stable, JSON-able description of a config value: classes and functions by their code too."""
    seen = set() if seen is None else seen
    if isinstance(value, Config) or isinstance(value, dict):
        return {str(k): _describe(v, seen) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_describe(v, seen) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, type):
        return {"class": f"{value.__module__}.{value.__qualname__}", "code": _class_code(value)}
    if callable(value) and hasattr(value, "__code__"):
        return {"function": f"{value.__module__}.{value.__qualname__}", "code": _code_digest(value.__code__)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _code_digest(code):
    """The digest of a code object without where it was read from (a moved file is the same code)."""
    digest = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        digest.update(_code_digest(const).encode() if hasattr(const, "co_code") else repr(const).encode())
    digest.update(repr(code.co_names).encode())
    return digest.hexdigest()


def _class_code(cls):
    """What a class (and the classes it derives from, nbgrader's and Python's aside) does, as a digest."""
    digest = hashlib.sha256()
    for klass in cls.__mro__:
        if klass is object or klass.__module__.split(".")[0] == "traitlets":
            continue
        digest.update(f"{klass.__module__}.{klass.__qualname__}\0".encode())
        if klass.__module__.split(".")[0] == "nbgrader":
            continue          # nbgrader's own classes change with its version, which the grader pins
        try:
            digest.update(inspect.getsource(klass).encode())
            continue
        except (OSError, TypeError):
            pass
        for name, member in sorted(vars(klass).items()):
            function = getattr(member, "__func__", member)
            if hasattr(function, "__code__"):
                digest.update(name.encode() + b"\0" + marshal.dumps(function.__code__.co_code))
                digest.update(_code_digest(function.__code__).encode())
            elif not name.startswith("__"):
                digest.update(name.encode() + b"\0" + repr(member).encode())
    return digest.hexdigest()


def late_plugin(config):
    """The late-submission plugin class the configuration names (nbgrader's LateSubmissionPlugin by default)."""
    from nbgrader.plugins import LateSubmissionPlugin
    plugin = config.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
    return import_item(plugin) if isinstance(plugin, str) else plugin


def _late_sections(config):
    try:
        plugin = late_plugin(config)
        names = {klass.__name__ for klass in plugin.__mro__}
    except Exception:       # a plugin nbgrader cannot import either: the grading run says so
        names = set()
    return names | {"AssignLatePenalties", "LateSubmissionPlugin"}


def grading_digest(config):
    """A digest of every setting that may decide a grade, but the late policy (see late_policy_digest)."""
    late = _late_sections(config)
    kept = {name: section for name, section in config.items()
            if isinstance(section, (Config, dict)) and not _section_excluded(name, late)}
    course = config.get("CourseDirectory", {})
    kept["CourseDirectory"] = {key: course[key] for key in COURSE_GRADING_KEYS if key in course}
    return hashlib.sha256(json.dumps(_describe(kept), sort_keys=True).encode()).hexdigest()


def late_policy_digest(config):
    """A digest of the late-submission policy: the plugin class (its code) and every setting of its classes."""
    late = _late_sections(config)
    try:
        plugin = {"plugin": _describe(late_plugin(config))}
    except Exception as error:
        plugin = {"plugin": f"cannot be imported: {type(error).__name__}: {error}"}
    sections = {name: config[name] for name in sorted(late) if name in config}
    return hashlib.sha256(json.dumps(_describe({**plugin, **sections}), sort_keys=True).encode()).hexdigest()


def late_policy_text(config):
    """The late policy in words, for a learner: the first line of the plugin's description."""
    from nbgrader.plugins import LateSubmissionPlugin
    try:
        plugin = late_plugin(config)
    except Exception:
        return None
    if plugin is LateSubmissionPlugin:
        method = config.LateSubmissionPlugin.get("penalty_method", "none")
        return "a late submission scores zero" if method == "zero" else None
    doc = inspect.getdoc(plugin) or ""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    return first or None
