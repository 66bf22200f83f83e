"""nbgrader configuration of the course. Plain `nbgrader autograde` uses the trusted judge,
and runs every student's kernel in the sandbox (bubblewrap), within the limits below."""

import os
import warnings

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from graders import sandbox, submissions
from graders.exchange import GuardedCollect
from graders.feedback import RedactFeedback
from graders.intake import RepairGradingMetadata
from graders.late import LatePolicy
from graders.nbgrader_plugins import (
    JudgeHiddenTests,
    RobustExecute,
    TolerantNotebookExporter,
    check_metadata_with_one_validator,
)

c = get_config()  # noqa: F821 - provided by traitlets when this file is loaded

# nbgrader 0.9 builds a new submission's rows through relationships that SQLAlchemy 2 no
# longer cascades into the session, warns, and then adds them itself: nothing is lost, and the
# warning ("Object of type <SubmittedAssignment> not in session") is not the instructor's to
# act on.
warnings.filterwarnings(
    "ignore", message=r"Object of type <Submitted\w+> not in session", module="nbgrader"
)

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "dlgrade"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
# The exchange (JupyterHub): a folder of mode 1777 shared by every account. Students' hand-ins
# are collected as data: only regular files, each hand-in owned by its student, its time the
# one the file system recorded (graders/exchange.py).
# Its folder comes from the machine's Jupyter configuration (the course's hub writes it, see
# deploy/jupyterhub), from DLGRADE_EXCHANGE, or is nbgrader's /usr/local/share/nbgrader/exchange.
if os.environ.get("DLGRADE_EXCHANGE"):
    c.Exchange.root = os.environ["DLGRADE_EXCHANGE"]
c.ExchangeFactory.collect = GuardedCollect
# Helper files in source/<assignment>/ that students get; caches are never copied.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Autograding: the judge decides every graded test cell, after execution and before scores
# are saved. Unreadable notebooks and dead kernels fail their cells with a clear message.
c.Autograde.exporter_class = TolerantNotebookExporter
# Grading metadata a student broke (duplicated, stripped, edited) is repaired from the
# gradebook before nbgrader's own checks, with a note in the feedback.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    RepairGradingMetadata,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
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
# Late hand-ins (after the due date set by `dlgrade release A --publish --due ...`) lose
# 10 % of their earned points per started day, and all of them from the 7th day on.
c.AssignLatePenalties.plugin_class = LatePolicy
c.LatePolicy.per_day = 0.1
c.LatePolicy.grace_minutes = 0
c.LatePolicy.max_days = 7
# A deleted test cell is put back (from the gradebook) and run, not silently dropped.
c.OverwriteCells.add_missing_cells = True

# The sandbox: students' kernels run in bubblewrap with no network, seeing only the Python
# environment, the graders package and their own folder. Grading stops with a message saying
# how to fix it when the sandbox cannot start here; `c.Sandbox.enabled = False` (or
# `--Sandbox.enabled=False`) grades without it, with a warning for every notebook.
c.Autograde.pre_convert_hook = sandbox.SandboxCheck(c)
c.Sandbox.enabled = True
c.Sandbox.memory_mb = 6144  # per kernel (all its processes) and per process (MemoryError)
c.Sandbox.max_processes = 256  # processes and threads per kernel
c.Sandbox.disk_mb = 512  # size of each writable folder (working folder, /tmp)
# Warm kernels (forks of a sandboxed server that imported TensorFlow once; graders/warm.py):
# dlgrade's parallel workers use them unless this is set; True here for plain nbgrader too.
# c.Sandbox.warm_kernels = False
# Time and output: the cell or notebook over its limit fails, the rest is graded.
c.RobustExecute.timeout = 120  # seconds per cell
c.RobustExecute.notebook_timeout = 900  # seconds per notebook
c.RobustExecute.max_output_bytes = 16 * 1024 * 1024  # output kept per cell
c.RobustExecute.max_message_bytes = 64 * 1024 * 1024  # one message, refused unread past it
c.RobustExecute.max_notebook_output_bytes = 64 * 1024 * 1024  # output kept per notebook
# A submission's files other than its notebooks: only regular files reach the kernel (links,
# pipes, devices and sockets are left out, also from nbgrader's own copy), within these sizes
# (the total at most half of c.Sandbox.disk_mb); each file left out is named in a note at the
# top of the graded notebook, and the rest is graded.
submissions.guard_nbgrader_copies()
# nbgrader's check of each cell's grading metadata builds its schema validator once.
check_metadata_with_one_validator()
c.SubmittedFiles.max_file_mb = 64  # per file
c.SubmittedFiles.max_total_mb = 128  # per submission
c.JudgeHiddenTests.timeout = 300  # seconds the trusted judge may spend per notebook

# Feedback (`nbgrader generate_feedback`, `dlgrade feedback`): hidden tests are removed, and a
# failed hidden check shows "values" (its property, hint and the values of the student's own
# inputs), "hints" (property and hint) or "none" (only that it failed).
c.GenerateFeedback.preprocessors = [RedactFeedback, GetGrades, CSSHTMLHeaderPreprocessor]
c.RedactFeedback.show = "values"
