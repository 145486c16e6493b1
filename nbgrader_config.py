"""nbgrader configuration for the Clase 157 course root (this folder): every grading setting lives here.

Plain `nbgrader` commands work from here and run the same grading pipeline as `vaekit grade`, which only
overrides these values from its command line.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets)

c.CourseDirectory.course_id = "clase157-vae"
c.CourseDirectory.root = os.environ.get("VAEKIT_COURSE_ROOT", os.path.dirname(os.path.abspath(__file__)))

# Any SQLAlchemy URL works (VAEKIT_DB_URL). The SQLite default waits up to 60 s for a lock instead of
# failing with "database is locked" when several graders write at once.
_default_db = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db") + "?timeout=60"
c.CourseDirectory.db_url = os.environ.get("VAEKIT_DB_URL", _default_db)

# Grading: each notebook runs in a bubblewrap-sandboxed kernel (autograder.sandbox); after each graded part's
# cell, the judge sends probes into the kernel, reads back raw results and scores them in this process
# (autograder.judge). Grading mode trains for seconds, never the full homework.
c.Autograde.autograde_preprocessors = [
    "autograder.preprocessors.SandboxedExecute",
    "autograder.student_output.InertStudentContent",  # no script, handler or remote request in what the TA opens
    "autograder.student_output.LimitOutputSize",  # outputs cut by characters too (LimitOutput counts lines)
    "autograder.preprocessors.JudgeGradeCells",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Before nbgrader's own sanitize steps: a pasted grade cell or an invented grade id costs at most its part.
c.Autograde.sanitize_preprocessors = [
    "autograder.preprocessors.NormaliseGradeCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.SandboxedExecute.sandbox = True  # `vaekit grade --no-sandbox` turns it off, and says so in every result
c.SandboxedExecute.max_processes = 512  # processes + threads of one grading kernel (fork bombs stop here)
c.SandboxedExecute.timeout = 180  # seconds per cell; a cell that runs longer is interrupted
c.SandboxedExecute.interrupt_on_timeout = True
# A kernel that imports TensorFlow on a loaded 2-core machine can take over nbclient's default 60 s to start.
c.SandboxedExecute.startup_timeout = 180
c.Execute.timeout = 180  # `nbgrader validate` (students' Validate button uses their own config)
c.Grading.submission_timeout = 900.0  # seconds per submission (vaekit grade's watchdog)
c.Grading.memory_gb = 6.0  # one submission: resident memory (watchdog) and the kernel's memory cgroup (tmpfs too)
c.Grading.tmp_mb = 1024  # the sandbox's private /tmp and /dev/shm (tmpfs)
c.Grading.file_mb = 1024  # largest file a grading kernel may write (RLIMIT_FSIZE)
c.Grading.max_neutralised = 2
c.Grading.workers = 2

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
