"""The round trip with an LMS through nbgrader's own plugin points.

    nbgrader zip_collect ps4_backprop --collector=miniflow_grader.lms.LMSCollector
    nbgrader export --exporter=miniflow_grader.lms.CanvasExport --to canvas.csv
    nbgrader export --exporter=miniflow_grader.lms.MoodleExport --to moodle.csv

collect.py reads Canvas's and Moodle's submission file names; export.py writes
the gradebook CSVs they import; ids.py reads the id map both use.
"""
from .collect import LMSCollector
from .export import CanvasExport, MoodleExport
from .ids import LMSIds

__all__ = ["LMSCollector", "CanvasExport", "MoodleExport", "LMSIds"]
