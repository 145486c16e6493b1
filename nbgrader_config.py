"""nbgrader configuration for the Clase 157 course root (this folder).

Plain `nbgrader` commands work from here; `vaekit` uses the same settings.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets)

c.CourseDirectory.course_id = "clase157-vae"
c.CourseDirectory.root = os.environ.get("VAEKIT_COURSE_ROOT", os.getcwd())

# Any SQLAlchemy URL works (VAEKIT_DB_URL). The SQLite default waits up to 60 s for a lock instead of
# failing with "database is locked" when several graders write at once.
_default_db = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db") + "?timeout=60"
c.CourseDirectory.db_url = os.environ.get("VAEKIT_DB_URL", _default_db)

# Grading mode trains for seconds, never the full homework; a cell that runs longer is interrupted.
c.Execute.timeout = int(os.environ.get("VAEKIT_CELL_TIMEOUT", "180"))
c.Execute.interrupt_on_timeout = True
# A kernel that imports TensorFlow on a loaded 2-core machine can take over nbclient's default 60 s to start.
c.Execute.startup_timeout = int(os.environ.get("VAEKIT_STARTUP_TIMEOUT", "180"))

# Student stubs, in Spanish.
c.ClearSolutions.code_stub = {"python": "# TU CÓDIGO AQUÍ\nraise NotImplementedError(\"Completa esta función\")"}
c.ClearSolutions.text_stub = "ESCRIBE AQUÍ TU RESPUESTA"

# A deleted grade cell is restored (and graded) instead of silently becoming "needs manual grade".
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden tests (nbgrader shows them verbatim by default): ClearHiddenTests clears the
# cells' sources, ShortenHiddenTestTracebacks cuts a failing hidden test's traceback (which quotes its lines)
# down to the Spanish diagnosis.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.ShortenHiddenTestTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
