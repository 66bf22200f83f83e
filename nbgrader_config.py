"""nbgrader configuration of the course. Plain `nbgrader autograde` uses the trusted judge."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from graders.nbgrader_plugins import JudgeHiddenTests, RobustExecute, TolerantNotebookExporter

c = get_config()  # noqa: F821 - provided by traitlets when this file is loaded

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "dlgrade"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
# Helper files in source/<assignment>/ that students get; caches are never copied.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Autograding: the judge decides every graded test cell, after execution and before scores
# are saved. Unreadable notebooks and dead kernels fail their cells with a clear message.
c.Autograde.exporter_class = TolerantNotebookExporter
c.Autograde.autograde_preprocessors = [
    RobustExecute,
    JudgeHiddenTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# A deleted test cell is put back (from the gradebook) and run, not silently dropped.
c.OverwriteCells.add_missing_cells = True
# Seconds per cell before the kernel is interrupted and the cell fails.
c.Execute.timeout = 120
