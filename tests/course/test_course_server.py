"""The course where courses run (issue 18): the student bundle, grade on submit, grades into Moodle, a quiet console.

One course (vae_clase), graded once for the whole module, the way a course server runs it:
1. ``vaekit release vae_clase`` with ``c.Exchange.root`` set: checks, generates, builds the student bundle (the
   vae-runtime wheel beside the notebook) and publishes both to a real nbgrader exchange;
2. ``vaekit watch`` (a subprocess, a real Dask LocalCluster of 2 workers): alu_a submits a corrupt file, alu_c a
   hostile notebook; the watcher is stopped (SIGTERM) as soon as alu_a's feedback is out, while alu_c is still being
   graded; alu_a re-submits the solution, the due date passes, alu_b submits late; the watcher is restarted for one
   round. nbgrader's late penalty is ``zero`` in this course (``c.LateSubmissionPlugin.penalty_method``);
3. ``vaekit collect / grade / feedback / export / report`` and ``export --format moodle`` on the result.
Every console of the demo path is read for warnings; the Moodle CSV is checked against a roster that lacks alu_c
and has one extra student; each student fetches their feedback; a fresh virtualenv with nothing but the bundle
runs the filled-in release to its visible tests.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import venv
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder import bundle, exchange as ex, notebooks
from autograder.course import new_course
from autograder.feedback import page_text
from autograder.notebooks import REPO_ROOT
from autograder.results import load_results
from nbgrader.utils import parse_utc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # one course, graded once for the module (~11 min on 2 loaded cores)

A = "vae_clase"
EXAMPLES = REPO_ROOT / "examples" / "submitted"
CORRECT, CORRUPT, HOSTILE = (EXAMPLES / s / A / f"{A}.ipynb" for s in
                             ("alu01_correcta", "alu52_json_corrupto", "alu53_hostil_libro_de_notas"))
CONSOLES: dict[str, str] = {}  # command -> what it printed (stdout + stderr)
COMMENT = "Buena intuición sobre β."

def read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))



def vaekit(course, *args, name: str | None = None, timeout: int = 900) -> str:
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(course.root), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=cli_env())
    out = proc.stdout + proc.stderr
    CONSOLES[name or " ".join(map(str, args[:2]))] = out
    assert proc.returncode == 0, out[-4000:]
    return out


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}


def submit(course, exchange, student: str, notebook: Path) -> ex.StudentFolder:
    """The student fetches the assignment, puts their notebook in place and submits (nbgrader's exchange)."""
    me = ex.StudentFolder.create(course.root.parent / "alumnos" / student, exchange, course.course_id,
                                 student_id=student)
    folder = me.fetch(A) if not me.assignment(A).exists() else me.assignment(A)
    shutil.copyfile(notebook, folder / f"{A}.ipynb")
    me.submit(A)
    return me


def start_watch(course, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder.cli", "--course", str(course.root), "watch", A,
                             "--workers", "2", "--interval", "1", "--cell-timeout", "60", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_env())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("servidor")
    exchange = root / "exchange"
    course = new_course(root / "curso", (A,))
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.Exchange.root = {str(exchange)!r}\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    course.__dict__.pop("config", None)
    timings = {}

    t = time.monotonic()
    out = vaekit(course, "release", A, "--cell-timeout", "60", name="release")
    timings["vaekit release (checks, bundle, publish)"] = time.monotonic() - t
    assert "publicada en el intercambio" in out and bundle.wheel_name() in out

    # phase 1: alu_a (corrupt) and alu_c (hostile) submit; the watcher is stopped once alu_a has its feedback
    submit(course, exchange, "alu_a", CORRUPT)
    students = {"alu_c": submit(course, exchange, "alu_c", HOSTILE)}
    watcher = start_watch(course)
    lines, t = [], time.monotonic()
    for line in watcher.stdout:
        lines.append(line)
        if line.split(" ")[1:2] == ["alu_a:"]:
            break
    timings["watch run 1: start → alu_a's feedback out"] = time.monotonic() - t
    assert not (course.results / A / "alu_c.json").exists(), "alu_c should still be in flight"
    watcher.send_signal(signal.SIGTERM)
    rest, _ = watcher.communicate(timeout=120)
    CONSOLES["watch (run 1, stopped)"] = "".join(lines) + rest
    assert watcher.returncode == 0, CONSOLES["watch (run 1, stopped)"]

    # phase 2: alu_a re-submits the solution; the due date passes; alu_b submits late; the watcher restarts
    students["alu_a"] = submit(course, exchange, "alu_a", CORRECT)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(A, duedate=datetime.now(timezone.utc).replace(tzinfo=None))
    time.sleep(1.0)
    students["alu_b"] = submit(course, exchange, "alu_b", CORRECT)
    t = time.monotonic()
    watcher = start_watch(course, "--max-rounds", "1")
    out, _ = watcher.communicate(timeout=900)
    timings["watch run 2: 1 round, 3 submissions"] = time.monotonic() - t
    CONSOLES["watch (run 2)"] = out
    assert watcher.returncode == 0, out
    yield course, exchange, students, timings
    print("\n" + CONSOLES["watch (run 1, stopped)"] + CONSOLES["watch (run 2)"])
    print("\n".join(f"{v:6.1f} s  {k}" for k, v in timings.items()))


def summary_lines(student: str) -> list[str]:
    """The watcher's summary lines for ``student`` over both runs."""
    text = CONSOLES["watch (run 1, stopped)"] + CONSOLES["watch (run 2)"]
    return [ln for ln in text.splitlines() if re.match(rf"\d\d:\d\d:\d\d {student}: ", ln)]


def test_watch_grades_each_submission_once_and_releases_it(server):
    course, exchange, students, timings = server
    assert "Vigilancia detenida" in CONSOLES["watch (run 1, stopped)"]
    first, second = summary_lines("alu_a")  # one line per submission, each graded once
    assert "0/16 (sin calificar: 0)" in first and "retroalimentación devuelta" in first
    assert "12/16 (calificada)" in second and "retroalimentación devuelta" in second
    (late,) = summary_lines("alu_b")
    assert "0/16 (calificada), fuera de plazo" in late and "−12 de penalización" in late
    (hostile,) = summary_lines("alu_c")  # stopped in flight on run 1, graded once on run 2
    assert "revisar a mano" in hostile and "retroalimentación devuelta" in hostile
    assert "↻ alu_a: entrega más reciente" in CONSOLES["watch (run 2)"]
    # nbgrader's owner check (every student here is this Unix user) is said once per submission that came in
    owner = [ln for ln in CONSOLES["watch (run 2)"].splitlines() if "claims to be submitted by" in ln]
    assert sorted(re.search(r"submitted by (\w+) ", ln).group(1) for ln in owner) == ["alu_a", "alu_b"]
    waits = {s: float(re.search(r"devuelta (\d+) s después", summary_lines(s)[-1]).group(1))
             for s in ("alu_a", "alu_b", "alu_c")}
    timings.update({f"submit → feedback released, {s}": w for s, w in waits.items()})
    assert all(w < 900 for w in waits.values())


def test_gradebook_keeps_the_latest_submission_with_the_late_penalty(server):
    course, _, students, _ = server
    results = load_results(course.results, A)
    with course.gradebook() as gb:
        subs = {s.student.id: s for s in gb.find_assignment(A).submissions}
        assert set(subs) == {"alu_a", "alu_b", "alu_c"}  # the hostile notebook did not erase the gradebook
        stamp = (course.submitted / "alu_a" / A / "timestamp.txt").read_text().strip()
        assert subs["alu_a"].timestamp == parse_utc(stamp)  # the re-submission, not the corrupt first one
        assert subs["alu_a"].score == 12 and subs["alu_a"].late_submission_penalty in (None, 0)
        assert subs["alu_b"].score == 12 and subs["alu_b"].late_submission_penalty == 12
        assert subs["alu_b"].total_seconds_late > 0 and subs["alu_a"].total_seconds_late == 0
    assert results["alu_a"].score == 12 and results["alu_c"].flags
    assert not list((course.submitted / "alu_a" / A).glob("*.whl")), "the course's own wheel came back with submit"


def test_each_student_fetches_their_own_feedback(server):
    course, _, students, _ = server
    pages = {s: me.fetch_feedback(A) for s, me in students.items()}
    assert len(pages["alu_a"]) == 2  # one page per submission: the corrupt one and the solution
    first, latest = (page_text(p.read_text(encoding="utf-8")) for p in pages["alu_a"])
    assert "no se pudo calificar" in first and "12 / 16" not in first
    assert "12 / 16" in latest
    assert len(pages["alu_b"]) == 1 and len(pages["alu_c"]) == 1
    for student in ("alu_b", "alu_c"):
        assert pages[student][0].read_bytes() == course.feedback_html(student, A).read_bytes()


def test_demo_path_commands_and_the_moodle_export(server, tmp_path):
    course, exchange, _, _ = server
    with course.gradebook() as gb:  # the TA grades a written answer in Formgrader
        grade = gb.find_grade("respuesta_beta", A, A, "alu_a")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.find_comment("respuesta_beta", A, A, "alu_a").manual_comment = COMMENT
        gb.db.commit()
    vaekit(course, "collect", A, name="collect")
    vaekit(course, "grade", A, "--workers", "1", name="grade")
    vaekit(course, "feedback", A, name="feedback")
    vaekit(course, "export", "--to", tmp_path / "notas.csv", name="export")
    vaekit(course, "report", A, name="report")
    roster = tmp_path / "participantes.csv"
    roster.write_text("\ufeffNombre;Apellido(s);Número de ID;Dirección de correo;Roles;Grupos\n"
                      "Ana;Alonso;alu_a;ana.alonso@alumnos.upm.es;Estudiante;\n"
                      "Bea;Blanco;55512345B;alu_b@alumnos.upm.es;Estudiante;\n"
                      "Elena;Extra;66612345E;elena.extra@alumnos.upm.es;Estudiante;\n", encoding="utf-8")
    out = vaekit(course, "export", "--format", "moodle", "--roster", roster, "--to", tmp_path / "moodle.csv",
                 name="export --format moodle")
    assert "en el libro de notas pero NO en la lista de Moodle (no van en el CSV): alu_c" in out
    assert "en la lista de Moodle sin entrega de vae_clase: Elena Extra (elena.extra@alumnos.upm.es)" in out
    rows = list(read_csv(tmp_path / "moodle.csv"))
    assert rows[0] == ["Nombre", "Apellido(s)", "Número de ID", "Dirección de correo", A,
                       f"{A} - Retroalimentación"]
    by_email = {r[3]: r for r in rows[1:]}
    assert list(by_email) == ["ana.alonso@alumnos.upm.es", "alu_b@alumnos.upm.es", "elena.extra@alumnos.upm.es"]
    ana, bea, elena = by_email.values()
    assert ana[4] == "13.5" and bea[4] == "0" and elena[4:] == ["-", ""]
    assert ana[5].startswith("vae_clase: 13.5 / 16 puntos (calificada).")
    assert f"Comentario (respuesta_beta): {COMMENT}" in ana[5]
    assert "\n- Sampling (truco de reparametrización): 2/2 (completa)\n" in ana[5]
    assert "\n- Pregunta «respuesta_beta» (calificación a mano): 1.5/2 (parcial)\n" in ana[5]
    assert re.search(r"^- .*respuesta_colapso.*: —/2 \(pendiente\) — pendiente de calificación a mano$", ana[5],
                     re.M)
    assert "Entrega fuera de plazo: −12 puntos de penalización (nota sin penalizar: 12)." in bea[5]
    vaekit(course, "export", "--format", "moodle", "--roster", roster, "--to", tmp_path / "ceros.csv",
           "--missing-as-zero", name="export --missing-as-zero")
    zeros = {r[3]: r for r in read_csv(tmp_path / "ceros.csv")}
    assert zeros["elena.extra@alumnos.upm.es"][4] == "0"


def test_no_warning_on_any_console(server):
    assert {"release", "watch (run 1, stopped)", "watch (run 2)"} <= set(CONSOLES)
    for command, out in CONSOLES.items():
        noisy = [ln for ln in out.splitlines() if re.search(r"warn", ln, re.I)]
        assert noisy == [], f"`vaekit {command}` printed: {noisy[:3]}"


# the student bundle ------------------------------------------------------------------------------------------------
RUN_NOTEBOOK = r"""
import json, sys, traceback
nb = json.load(open(sys.argv[1], encoding="utf-8"))
scope = {"__name__": "__main__"}
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] == "code":
        exec(compile("".join(cell["source"]), f"celda {i}", "exec"), scope)
print("CUADERNO COMPLETO")
"""


def test_the_bundle_alone_runs_the_release_in_a_fresh_virtualenv(server, tmp_path):
    course, exchange, _, timings = server
    published = ex.outbound(exchange, course, A)
    assert sorted(p.name for p in published.iterdir()) == sorted([f"{A}.ipynb", bundle.wheel_name()])
    me = ex.StudentFolder.create(tmp_path / "alu_bundle", exchange, course.course_id, student_id="alu_bundle")
    fetched = me.fetch(A)
    wheel = fetched / bundle.wheel_name()
    assert wheel.read_bytes() == (course.root / "release" / A / bundle.wheel_name()).read_bytes()
    # by content: only vae_runtime, no solution line, hidden test, answer, judge or reference code
    assert bundle.bundle_leaks(wheel) == []
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("vae_runtime/", "vae_runtime-")) for n in names)
    texts = "\n".join(zipfile.ZipFile(wheel).read(n).decode("utf-8", "replace") for n in names if n.endswith(".py"))
    for solution in notebooks.solutions_of(A, course.root).values():
        for line in solution.splitlines():
            assert len(line.strip()) < 30 or line.strip() not in texts, line
    assert "HIDDEN TESTS" not in texts and "autograder" not in texts and "import vae_lib" not in texts
    # the released notebook's first cell says how to install the bundle
    release = notebooks.read(fetched / f"{A}.ipynb")
    assert bundle.install_line()[1:] in release.cells[0].source

    # a fresh virtualenv: no repository, no vae_lib, no autograder; the bundle's wheel and its dependencies
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "VAE_DATA_DIR": os.environ.get("VAE_DATA_DIR", ""), "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3",
           **{k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.endswith("_CA_BUNDLE")
              or k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}}
    t = time.monotonic()
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile",
                              f"{wheel.name}[cpu]"], cwd=fetched, env=env, capture_output=True, text=True,
                             timeout=900)
    timings["fresh venv: pip install the bundle's wheel[cpu] (TensorFlow included)"] = time.monotonic() - t
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    missing = subprocess.run([str(python), "-c", "import vae_lib"], cwd=fetched, env=env, capture_output=True)
    assert missing.returncode != 0
    missing = subprocess.run([str(python), "-c", "import autograder"], cwd=fetched, env=env, capture_output=True)
    assert missing.returncode != 0
    notebooks.write(notebooks.filled_release(A, course.root), fetched / f"{A}.ipynb")  # a student's finished work
    (tmp_path / "run.py").write_text(RUN_NOTEBOOK)
    t = time.monotonic()
    run = subprocess.run([str(python), str(tmp_path / "run.py"), f"{A}.ipynb"], cwd=fetched,
                         env={**env, "VAEKIT_QUICK": "1"}, capture_output=True, text=True, timeout=900)
    timings["fresh venv: the filled-in release, VAEKIT_QUICK=1"] = time.monotonic() - t
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("Pruebas visibles superadas") == 6 and "CUADERNO COMPLETO" in run.stdout
