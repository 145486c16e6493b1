"""nbgrader configuration for the Clase 157 course root (this folder): what the course wires and every setting it
changes (each default is declared once, with its help, in its traitlets class: see "Grading limits" below).

Plain `nbgrader` commands work from here and run the same grading pipeline as `vaekit grade`, which only
overrides these values from its command line.
"""
import os

from autograder.grade.pipeline import SandboxedExecute
from autograder.settings import sqlite_url, trait_default

c = get_config()  # noqa: F821 (provided by traitlets)

c.CourseDirectory.course_id = "clase157-vae"
c.CourseDirectory.root = os.environ.get("VAEKIT_COURSE_ROOT", os.path.dirname(os.path.abspath(__file__)))

# Any SQLAlchemy URL works (VAEKIT_DB_URL); the default is the course's SQLite file (autograder.settings.sqlite_url).
c.CourseDirectory.db_url = os.environ.get("VAEKIT_DB_URL", sqlite_url(c.CourseDirectory.root))

# Grading: each notebook runs in a bubblewrap-sandboxed kernel (autograder.grade.sandbox); after each graded part's
# cell, the judge sends probes into the kernel, reads back raw results and scores them in this process
# (autograder.judge). Grading mode does not train (it loads the full run's weights when submitted).
c.Autograde.autograde_preprocessors = [
    "autograder.grade.pipeline.SandboxedExecute",
    "autograder.student_output.InertStudentContent",  # no script, handler or remote request in what the TA opens
    "autograder.student_output.LimitOutputSize",  # outputs cut by characters too (LimitOutput counts lines)
    "autograder.grade.pipeline.JudgeGradeCells",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Before nbgrader's own sanitize steps: a pasted grade cell or an invented grade id costs at most its part.
c.Autograde.sanitize_preprocessors = [
    "autograder.grade.pipeline.NormaliseGradeCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Grading limits: each has its default, with its help, in one declaration, and only a course that wants another
# value sets it here (e.g. `c.Grading.memory_gb = 8.0`); `vaekit grade`'s options override them for one run.
# - the kernel's, autograder.grade.pipeline.SandboxedExecute: sandbox (`vaekit grade --no-sandbox` turns it off and
#   says so in every result), max_processes, timeout (per cell), startup_timeout;
# - the submission's, autograder.settings.Grading: submission_timeout, memory_gb, tmp_mb, file_mb, max_neutralised,
#   workers, and the intake caps intake_file_mb, intake_total_mb, intake_files.
# `nbgrader validate` here runs nbgrader's own Execute: it gets the grading cell timeout too (students' Validate
# button uses their own config, autograder.exchange.student_config).
c.Execute.timeout = trait_default(SandboxedExecute, "timeout")

# Student stubs, in Spanish.
c.ClearSolutions.code_stub = {"python": "# TU CÓDIGO AQUÍ\nraise NotImplementedError(\"Completa esta función\")"}
c.ClearSolutions.text_stub = "ESCRIBE AQUÍ TU RESPUESTA"

# A deleted grade cell is restored (and graded) instead of silently becoming "needs manual grade".
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden tests (nbgrader shows them verbatim by default): ClearHiddenTests clears the
# cells' sources, ShortenHiddenTestTracebacks cuts a failing hidden test's traceback down to its diagnosis.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.ShortenHiddenTestTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "autograder.feedback_page.FeedbackReport",  # the part table, scores and the judge's figures, for the template
    "autograder.feedback_page.ImageAltText",  # a Spanish alt text on every figure the notebook drew
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The page: nbgrader's feedback template extended by vaekit's (lang="es", the report on top, phone and print
# layouts, one rounding for every score); math renders without internet (LaTeX becomes MathML, no MathJax CDN).
c.GenerateFeedback.exporter_class = "autograder.feedback_page.FeedbackHTMLExporter"

# Collecting from the exchange goes through vaekit's intake gate: regular files only, no link ever followed
# (nbgrader's own copy follows links), size caps from c.Grading.intake_*; refusals are flagged "revisar a mano".
c.ExchangeFactory.collect = "autograder.exchange_gate.GatedExchangeCollect"
# Plain `nbgrader autograde` copies a submission's other files through the same gate (nbgrader's copy follows links).
import autograder.nbgrader_intake  # noqa: E402,F401
# nbgrader's cell-metadata check validates its JSON schema once per process, not once per cell (~0.25 CPU-s a notebook).
import autograder.nbgrader_metadata_check  # noqa: E402,F401
