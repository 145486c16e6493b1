"""Example submissions: ``examples/submitted/<student>/<A>/<A>.ipynb`` plus ``examples/manifest.json``.

For each assignment: a correct one, the blank release, one per canonical mistake (``autograder.authoring.mistakes``),
and broken ones (kernel killed, infinite loop, memory hog, ``sys.exit()``, syntax error, deleted grade cell,
edited grade cell, corrupt JSON). They drive ``make demo`` and the workflow tests.
``python -m autograder.authoring.examples`` rewrites them from ``release/`` and ``source/`` (deterministic).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from autograder import notebooks
from autograder.authoring import mistakes
from autograder.notebooks import ASSIGNMENTS, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"

# The grade cell used by the grade-cell examples (present in both assignments).
KL_TEST = "test_kl_divergence"
KL_SOLUTION = "kl_divergence"


@dataclass(frozen=True)
class Example:
    student: str
    assignment: str
    kind: str  # "correct" | "blank" | "mistake" | "broken" | "hostile"
    case: str  # mistake id, broken case id, or "correcta" / "en_blanco"
    description: str  # Spanish, for the TA
    expect_check: str | None = None  # grade cell that must lose points (mistakes, syntax error, edited cell)
    expect_message: str | None = None  # text that cell must show (hostile: what the TA's flag must say)


def added_cell(source: str):
    """A code cell a student added (no nbgrader metadata); a fixed cell id keeps the examples reproducible."""
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "celda-del-alumno"
    return cell


def insert_after_data(nb, cell) -> None:
    index = next((i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == "data"), 1)
    nb.cells.insert(index + 1, cell)


# Broken cases: id -> (description, builder(assignment, root) -> notebook JSON text)
def _with_added_cell(source):
    def build(assignment, root):
        nb = notebooks.filled_release(assignment, root)
        insert_after_data(nb, added_cell(source))
        return nbformat.writes(nb)
    return build


def _syntax_error(assignment, root):
    nb = notebooks.filled_release(assignment, root)
    cell = notebooks.cells_by_grade_id(nb)[KL_SOLUTION]
    header = "def kl_divergence(z_mean, z_log_var):"
    if header not in cell.source:
        raise ValueError(f"{assignment}: {header!r} not in the {KL_SOLUTION} cell")
    cell.source = cell.source.replace(header, header[:-1], 1)
    return nbformat.writes(nb)


def _deleted_grade_cell(assignment, root):
    nb = notebooks.filled_release(assignment, root)
    nb.cells = [c for c in nb.cells if notebooks.grade_id(c) != KL_TEST]
    return nbformat.writes(nb)


def _edited_grade_cell(assignment, root):
    # A wrong KL, and the grade cell replaced by one that claims full marks: nbgrader must restore the cell.
    nb = notebooks.filled_release(assignment, root, edits=mistakes.by_id("kl_sign_flipped").edits())
    cell = notebooks.cells_by_grade_id(nb)[KL_TEST]
    cell.source = f"{float(cell.metadata['nbgrader'].get('points', 1)):g}"
    return nbformat.writes(nb)


def _corrupt_json(assignment, root):
    text = nbformat.writes(notebooks.filled_release(assignment, root))
    return text[: len(text) // 2]


BROKEN = {
    "kernel_muerto": ("una celda añadida termina el proceso con os._exit(1)",
                      _with_added_cell("import os\nos._exit(1)")),
    "bucle_infinito": ("una celda añadida con un bucle infinito",
                       _with_added_cell("while True:\n    pass")),
    "bucle_sin_interrupcion": ("una celda añadida ignora la interrupción (SIGINT) y no termina nunca",
                               _with_added_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                "while True:\n    pass")),
    "memoria": ("una celda añadida que reserva memoria sin límite",
                _with_added_cell("reservas = []\nwhile True:\n    reservas.append(bytearray(256 * 1024**2))")),
    "sys_exit": ("una celda añadida llama a sys.exit()", _with_added_cell("import sys\nsys.exit()")),
    "error_sintaxis": ("error de sintaxis en kl_divergence (falta ':')", _syntax_error),
    "celda_borrada": ("borró la celda de pruebas de la KL", _deleted_grade_cell),
    "celda_editada": ("KL con el signo cambiado y la celda de pruebas editada para darse los puntos",
                      _edited_grade_cell),
    "json_corrupto": ("el archivo .ipynb está cortado (JSON inválido)", _corrupt_json),
}


# Hostile cases: a correct submission plus one cell that tries to reach outside its folder or to forge its
# points. The sandbox and the judge must make each worthless (full marks as the correct one, no more), and the
# TA's summary must flag it. id -> (description, added cell, what the flag says)
HOSTILE = {
    "hostil_libro_de_notas": ("busca gradebook.db subiendo desde su carpeta y borra las notas", """
import os, glob, sqlite3
encontrados, d = [], os.getcwd()
for _ in range(8):
    encontrados += glob.glob(os.path.join(d, "gradebook.db")) + glob.glob(os.path.join(d, "*", "gradebook.db"))
    d = os.path.dirname(d)
for ruta in encontrados + ["/work/main/gradebook.db", "/work/main/demo/gradebook.db"]:
    try:
        con = sqlite3.connect(ruta)
        con.execute("DELETE FROM grade")
        con.commit()
        print("borrado", ruta)
    except Exception as error:
        print("no pude con", ruta, error)
""", "gradebook"),
    "hostil_escribe_curso": ("escribe en la raíz del curso y planta código en los paquetes instalados", """
import os, keras
for ruta in ["../../../nbgrader_config.py", "../../../autograder/checks/__init__.py",
             os.path.join(os.path.dirname(keras.__file__), "planted.py")]:
    try:
        with open(ruta, "w") as f:
            f.write("print('código plantado')\\n")
        print("escrito", ruta)
    except OSError as error:
        print("no pude escribir", ruta, error)
""", "solo lectura"),
    "hostil_lee_soluciones": ("lee las soluciones y los tests ocultos del instructor y las entregas de otros", """
import glob
for patron in ["../../../source/*/*.ipynb", "../../../../source/*/*.ipynb", "/work/main/source/*/*.ipynb",
               "../../../submitted/*", "../../*"]:
    for ruta in glob.glob(patron):
        print("==", ruta)
        try:
            print(open(ruta).read()[:2000])
        except OSError:
            pass
""", "source/"),
    "hostil_red": ("abre conexiones: al planificador de Dask y a Jupyter en 127.0.0.1, y a internet", """
import socket, urllib.request
for puerto in (8786, 8888, 8000):
    try:
        socket.create_connection(("127.0.0.1", puerto), timeout=2).sendall(b"hola")
        print("conectado a", puerto)
    except OSError as error:
        print("sin conexión con", puerto, error)
try:
    urllib.request.urlopen("https://pypi.org", timeout=3)
except Exception as error:
    print("sin internet", error)
""", "conexión"),
    "hostil_bomba_fork": ("lanza una bomba fork", """
import subprocess, time
subprocess.Popen(["bash", "-c", "b(){ b | b & }; b"], stderr=subprocess.DEVNULL)
time.sleep(20)
""", "procesos"),
}

# A wrong KL plus every in-process trick against the old in-kernel checks: it must score what the wrong KL
# alone scores (the judge runs outside the kernel) and be flagged.
TRICKS = """
import sys, types, builtins
import numpy as np
class _Siempre:
    def __getattr__(self, name):
        return lambda *a, **k: k.get("points", 2.0)
checks = _Siempre()
sys.modules["autograder.checks"] = checks
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: np.True_
get_ipython().showtraceback = lambda *a, **k: None
builtins.AssertionError = type("AssertionError", (Exception,), {})
try:
    import vae_lib
    kl_divergence = vae_lib.kl_divergence
except ImportError as error:
    print("sin la referencia:", error)
def _dar_puntos(result):
    print("Puntuación: 2 / 2")
get_ipython().events.register("post_run_cell", _dar_puntos)
"""


def _tricks(assignment, root):
    nb = notebooks.filled_release(assignment, root, edits=mistakes.by_id("kl_sign_flipped").edits())
    insert_after_data(nb, added_cell(TRICKS))
    return nbformat.writes(nb)


def examples_for(assignment: str) -> list[Example]:
    """Student ids are numbered over all assignments, so one id means one case in every assignment."""
    out = [Example("alu01_correcta", assignment, "correct", "correcta", "la solución completa"),
           Example("alu02_en_blanco", assignment, "blank", "en_blanco", "el cuaderno sin tocar")]
    for number, m in enumerate(mistakes.MISTAKES, start=3):
        if assignment in m.assignments:
            out.append(Example(f"alu{number:02d}_{m.id}", assignment, "mistake", m.id, m.description,
                               m.check_grade_id, m.message_fragment))
    expectations = {"error_sintaxis": (KL_TEST, "SyntaxError"), "celda_editada": (KL_TEST, None)}
    for number, (case, (description, _)) in enumerate(BROKEN.items(), start=3 + len(mistakes.MISTAKES)):
        out.append(Example(f"alu{number:02d}_{case}", assignment, "broken", case, description,
                           *expectations.get(case, (None, None))))
    start = 3 + len(mistakes.MISTAKES) + len(BROKEN)
    for number, (case, (description, _, flag)) in enumerate(HOSTILE.items(), start=start):
        out.append(Example(f"alu{number:02d}_{case}", assignment, "hostile", case, description, None, flag))
    out.append(Example(f"alu{start + len(HOSTILE):02d}_trampas", assignment, "hostile", "trampas",
                       "KL con el signo cambiado y trucos contra el evaluador (checks, sys.modules, numpy, IPython)",
                       KL_TEST, "redefine «checks»"))
    return out


def demo_selection(assignment: str, folder: Path = EXAMPLES) -> list[str]:
    """The students `make demo` grades: correct, blank, every broken and hostile case, one mistake per graded part
    (all mistakes are graded by the tests; `vaekit demo --student ...` picks others)."""
    chosen, parts = [], set()
    for e in load_manifest(folder):
        if e.assignment != assignment:
            continue
        if e.kind != "mistake" or e.expect_check not in parts:
            chosen.append(e.student)
            parts.add(e.expect_check if e.kind == "mistake" else None)
    return chosen


def notebook_text(example: Example, root: Path = REPO_ROOT) -> str:
    a = example.assignment
    if example.kind == "correct":
        return nbformat.writes(notebooks.filled_release(a, root))
    if example.kind == "blank":
        return nbformat.writes(notebooks.read(notebooks.release_path(a, root)))
    if example.kind == "mistake":
        return nbformat.writes(notebooks.filled_release(a, root, edits=mistakes.by_id(example.case).edits()))
    if example.kind == "hostile":
        if example.case == "trampas":
            return _tricks(a, root)
        return _with_added_cell(HOSTILE[example.case][1])(a, root)
    return BROKEN[example.case][1](a, root)


def write_submission(example: Example, submitted: Path, root: Path = REPO_ROOT) -> Path:
    path = Path(submitted) / example.student / example.assignment / f"{example.assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = notebook_text(example, root)
    path.write_text(text if text.endswith("\n") or example.case == "json_corrupto" else text + "\n", encoding="utf-8")
    return path


def write_examples(folder: Path = EXAMPLES, assignments=ASSIGNMENTS, root: Path = REPO_ROOT) -> list[Example]:
    """Rewrite ``folder/submitted`` and ``folder/manifest.json`` for ``assignments``."""
    folder = Path(folder)
    submitted = folder / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    written = []
    for a in assignments:
        if not notebooks.release_path(a, root).exists():
            continue
        for ex in examples_for(a):
            write_submission(ex, submitted, root)
            written.append(ex)
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps([asdict(e) for e in written], ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    return written


def load_manifest(folder: Path = EXAMPLES) -> list[Example]:
    return [Example(**e) for e in json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))]


def main() -> None:
    written = write_examples()
    for a in ASSIGNMENTS:
        n = sum(e.assignment == a for e in written)
        print(f"{a}: {n} entregas de ejemplo en {EXAMPLES / 'submitted'}")


if __name__ == "__main__":
    main()
