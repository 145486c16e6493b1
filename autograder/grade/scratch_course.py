"""A course's scratch copy for grading away from the course: its config and one assignment's source, with what
``nbgrader generate_assignment`` makes of them (the release and a gradebook of that assignment's notebooks and grade
cells, and no student). The coordinator makes it once (``generated``) and it travels in the ``CourseBundle``; each
worker only writes the files (``worker.WorkerCourse``), instead of paying nbgrader's generation (~1 CPU-s) at its first
submission.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_generated: dict[str, dict[str, bytes]] = {}  # inputs' digest -> generated files: once per process (`vaekit watch`)


def course_config(root: Path, assignment: str):
    """The scratch course's config: the course's ``nbgrader_config.py`` with its own root and gradebook."""
    from autograder.settings import load_config, sqlite_url

    config = load_config(root)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = sqlite_url(root)
    config.CourseDirectory.assignment_id = assignment
    return config


def generated(assignment: str, files: dict[str, bytes], digest: str) -> dict[str, bytes]:
    """What ``nbgrader generate_assignment`` adds to a course made of ``files`` (config and source; ``digest``
    names them): relative path -> bytes of the release and of a new gradebook. Made in a private temporary folder
    (the course's own gradebook, with its students, is never read) and kept for this process."""
    with _lock:
        if digest not in _generated:
            _generated[digest] = _generate(assignment, files)
        return _generated[digest]


def _generate(assignment: str, files: dict[str, bytes]) -> dict[str, bytes]:
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    from autograder import gate
    from autograder.course import run_in_process, stamp_new_gradebook
    from autograder.errors import VaekitError
    from autograder.settings import gradebook_path

    root = Path(tempfile.mkdtemp(prefix=f"vaekit-scratch-{assignment}-"))  # 0700: it holds the solutions
    try:
        gate.write_tree(root, files)
        stamp_new_gradebook(gradebook_path(root))
        config = course_config(root, assignment)
        config.GenerateAssignment.force = True
        log, error = run_in_process(GenerateAssignment(coursedir=CourseDirectory(config=config), config=config))
        if error:
            raise VaekitError(f"no se pudo preparar la tarea {assignment} para los trabajadores: {error}\n"
                              f"{log[-1500:]}")
        made = (p for p in sorted(root.rglob("*")) if p.is_file())
        return {name: p.read_bytes() for p in made if (name := str(p.relative_to(root))) not in files}
    finally:
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["course_config", "generated"]
