"""vaekit's own grading settings, as traitlets set in the course's ``nbgrader_config.py`` (the ``vaekit`` CLI only
overrides them). Each default is written once, in its trait's declaration (with its ``help``): the watchdog's and the
sandbox's in ``Grading`` here, the kernel's (cell timeout, process limit, sandbox on/off) in
``autograder.grade.pipeline.SandboxedExecute``. Everything else takes values from those traits: ``Limits.from_config``
builds them with ``config=``, and a default outside a course reads ``trait_default``.
"""
from __future__ import annotations

from pathlib import Path

from traitlets import Float, Integer
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader


# TensorFlow's C++ start-up logs (absl, oneDNN) stay out of every output: kernels, the judge, the TA's console.
TF_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "GRPC_VERBOSITY": "ERROR",
                "ABSL_MIN_LOG_LEVEL": "3"}
# The environment of every notebook kernel vaekit starts (sandboxed or by an nbgrader command): figures become cell
# outputs (feedback images), and TensorFlow stays quiet.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", **TF_QUIET_ENV}


def gradebook_path(root) -> Path:
    """A course's default gradebook file, ``<root>/gradebook.db``."""
    return Path(root) / "gradebook.db"


def sqlite_url(root) -> str:
    """The default gradebook's URL (``gradebook_path``): it waits up to 60 s for a lock instead of failing with
    "database is locked" when several graders write at once."""
    return f"sqlite:///{gradebook_path(root)}?timeout=60"


def trait_default(cls, name: str):
    """The default declared by ``cls``'s trait ``name`` (where no course config is at hand)."""
    return cls.class_traits()[name].default_value


class Grading(Configurable):
    """Limits that vaekit's watchdog enforces around each submission's grading process."""

    submission_timeout = Float(900.0, help="wall-clock seconds for one submission, all attempts").tag(config=True)
    memory_gb = Float(6.0, help="resident memory cap (GiB) over the grading process tree").tag(config=True)
    max_neutralised = Integer(2, help="cells that may be neutralised before a submission gets 0").tag(config=True)
    workers = Integer(2, help="submissions graded at once (Dask LocalCluster workers)").tag(config=True)
    tmp_mb = Integer(1024, help="size (MiB) of a grading kernel's private /tmp and of its /dev/shm (tmpfs)"
                     ).tag(config=True)
    file_mb = Integer(1024, help="largest file (MiB) a grading kernel may write (RLIMIT_FSIZE)").tag(config=True)
    intake_file_mb = Integer(256, help="largest file (MiB) read from a submission folder").tag(config=True)
    intake_total_mb = Integer(512, help="most bytes (MiB) read from one submission folder").tag(config=True)
    intake_files = Integer(2000, help="most files read from one submission folder").tag(config=True)

    def caps(self):
        """The intake gate's caps (``autograder.gate.Caps``) for one submission folder."""
        from autograder.gate import MIB, Caps

        return Caps(file_bytes=self.intake_file_mb * MIB, total_bytes=self.intake_total_mb * MIB,
                    files=self.intake_files)


def load_config(root: Path) -> Config:
    """The course's ``nbgrader_config.py`` as a traitlets Config (the same object nbgrader builds)."""
    import os

    previous = os.environ.get("VAEKIT_COURSE_ROOT")
    os.environ["VAEKIT_COURSE_ROOT"] = str(root)
    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    finally:
        if previous is None:
            os.environ.pop("VAEKIT_COURSE_ROOT", None)
        else:
            os.environ["VAEKIT_COURSE_ROOT"] = previous
