"""The second line of containment, piece by piece, for real: the intake gate on a folder with links, a named pipe,
a device and oversized files; nbgrader's exchange collect through the gate; student HTML made inert (rendered by
nbconvert); outputs cut by characters; pasted grade cells; a bubblewrap sandbox whose /tmp writes and memfds are
stopped by a real memory cgroup (the host's Shmem measured). The whole path (Dask, nbgrader, kernels) is in
test_workflow.py (the committed ``leaves`` examples) and below for the cgroup's reason in a graded result.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder import gate
from autograder.authoring import examples as ex_mod
from autograder.grade.cgroup import KernelCgroup, unavailable_reason
from autograder.grade.notebook_checks import normalise_grade_cells
from autograder.notebooks import REPO_ROOT, grade_id
from autograder.student_output import InertStudentContent, LimitOutputSize, clean_html

GIB = 1024**3


def _hostile_folder(tmp_path: Path) -> tuple[Path, Path]:
    course = tmp_path / "curso"
    (course / "source" / "a").mkdir(parents=True)
    (course / "source" / "a" / "a.ipynb").write_text("SOLUCION SECRETA")
    (course / "gradebook.db").write_text("LIBRO DE NOTAS")
    folder = course / "submitted" / "ana" / "a"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.ipynb").write_text("{}")
    (folder / "sub" / "datos.txt").write_text("hola")
    (folder / "grande.bin").write_bytes(b"x" * 3000)
    (folder / "solucion.ipynb").symlink_to("../../../source/a/a.ipynb")
    (folder / "libro.db").symlink_to("../../../gradebook.db")
    (folder / "entorno").symlink_to("/proc/self/environ")
    (folder / "memoria").symlink_to("/proc/self/mem")
    (folder / "enlace_carpeta").symlink_to("../../../source")
    os.mkfifo(folder / "tuberia")
    if os.geteuid() == 0:
        os.mknod(folder / "dispositivo", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    return course, folder


def test_intake_gate_reads_regular_files_only_and_never_blocks(tmp_path):
    _, folder = _hostile_folder(tmp_path)
    done = {}
    reader = threading.Thread(target=lambda: done.update(intake=gate.read_tree(folder, gate.Caps(file_bytes=2000))))
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "the gate blocked (a named pipe was opened for reading)"
    intake = done["intake"]
    assert set(intake.files) == {"a.ipynb", "sub/datos.txt"}
    refused = {r.path: r.why for r in intake.refused}
    for name in ("solucion.ipynb", "libro.db", "entorno", "memoria", "enlace_carpeta"):
        assert refused[name].startswith("enlace simbólico"), refused
    assert "tubería" in refused["tuberia"] and "MiB" in refused["grande.bin"]
    if os.geteuid() == 0:
        assert refused["dispositivo"] == "archivo de dispositivo"
    text = " ".join(intake.flags)
    assert "SOLUCION SECRETA" not in text and "LIBRO DE NOTAS" not in text
    assert gate.read_tree(folder / "solucion.ipynb").files == {}  # a linked root is refused whole
    total = gate.read_tree(folder, gate.Caps(total_bytes=4, files=1))
    assert len(total.files) <= 1 and any("en total" in r.why or "archivos" in r.why for r in total.refused)


def test_gate_writes_never_follow_a_link(tmp_path):
    victim = tmp_path / "victima.txt"
    victim.write_text("intacto")
    out = tmp_path / "salida"
    out.mkdir()
    (out / "a.ipynb").symlink_to(victim)
    with pytest.raises(OSError):
        gate.write_tree(out, {"a.ipynb": b"sobrescrito"})
    with pytest.raises(gate.Refused):
        gate.write_tree(out, {"../fuera.txt": b"x"})
    assert victim.read_text() == "intacto" and not (tmp_path / "fuera.txt").exists()


def test_collect_from_the_exchange_goes_through_the_gate(tmp_path):
    """nbgrader collect (GatedExchangeCollect) copies no link target, however the inbound folder was made."""
    from autograder import exchange
    from autograder.course import new_course

    course = new_course(tmp_path / "curso", ("vae_clase",))
    secret = tmp_path / "secreto.txt"
    secret.write_text("CLAVE DEL PROFESOR")
    root = tmp_path / "intercambio"
    inbound = root / course.course_id / "inbound" / "ana+vae_clase+2026-12-01 10:00:00.000000 UTC+abc123"
    inbound.mkdir(parents=True)
    (inbound / "vae_clase.ipynb").write_text("{}")
    (inbound / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (inbound / "robado.txt").symlink_to(secret)
    os.mkfifo(inbound / "tuberia")
    got = exchange.collect(course, "vae_clase", root, check_owner=False)
    assert got.new == ["ana"]
    folder = course.submitted / "ana" / "vae_clase"
    assert sorted(p.name for p in folder.iterdir()) == ["timestamp.txt", "vae_clase.ipynb"]
    assert not any(p.is_symlink() for p in folder.rglob("*"))
    from autograder.grade.coordinator import intake_flags

    flags = intake_flags(course, "vae_clase", "ana")
    assert any("robado.txt" in f and "enlace" in f for f in flags) and any("tuberia" in f for f in flags)
    assert "CLAVE" not in " ".join(flags)


# ---------------------------------------------------------------------------------------------------------
def _injector_notebook():
    from autograder.notebooks import filled_release

    nb = filled_release("vae_clase")
    build = ex_mod._leaves("hostil_html")
    return nbformat.reads(build("vae_clase", REPO_ROOT), as_version=4), nb


def _html_outputs(nb):
    nb.cells.append(nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={
            "text/html": '<b>ok</b><img src=x onerror="fetch(1)"><iframe src="http://127.0.0.1:8765/"></iframe>',
            "application/javascript": "fetch('http://127.0.0.1:8765/js')",
            "image/svg+xml": '<svg onload="fetch(1)"></svg>',
            "text/plain": "<IPython.core.display.HTML object>"}),
        nbformat.v4.new_output("display_data", data={"image/png": 'x" onerror="fetch(1)'},
                               metadata={"image/png": {"width": '1" onload="fetch(1)'}}),
        nbformat.v4.new_output("stream", name="stdout", text="### BEGIN HIDDEN TESTS\nassert True\n")]))
    raw = nbformat.v4.new_raw_cell("<script>fetch('http://127.0.0.1:8765/raw')</script>")
    nb.cells.append(raw)
    nb.cells.append(nbformat.v4.new_markdown_cell("![x](http://127.0.0.1:8765/md.png) $\\href{javascript:1}{x}$",
                                                  attachments={"a.svg": {"image/svg+xml": "PHN2Zz4="}}))
    nb.metadata["titulo"] = '"><script>fetch(1)</script>'
    return nb


def active_parts(page: str) -> dict[str, list[str]]:
    """What a browser would act on in ``page``: event-handler attributes, URL attributes, inline script text and
    embedding elements (iframe, object, embed, svg), as parsed, not as text."""
    from html.parser import HTMLParser

    found: dict[str, list[str]] = {"handlers": [], "urls": [], "scripts": [], "embeds": []}

    class Parser(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name.startswith("on"):
                    found["handlers"].append(f"<{tag} {name}>")
                if name in ("src", "href", "action", "data", "formaction", "xlink:href") and value:
                    found["urls"].append(value.strip())
            if tag in ("iframe", "object", "embed", "svg", "frame"):
                found["embeds"].append(tag)
            self.in_script = tag == "script"

        def handle_endtag(self, tag):
            self.in_script = False

        def handle_data(self, data):
            if self.in_script:
                found["scripts"].append(data)

    Parser().feed(page)
    return found


@pytest.mark.parametrize("exporter", ["nbconvert", "feedback"])
def test_student_html_is_inert_in_nbconverts_pages(exporter):
    """After InertStudentContent, the page nbconvert makes (Formgrader's kind, and vaekit's feedback exporter) has
    no script from the student, no event handler, no javascript: URL and nothing that fetches from 127.0.0.1."""
    from nbconvert import HTMLExporter

    from autograder.offline_math import OfflineMathHTMLExporter

    nb, _ = _injector_notebook()
    nb = _html_outputs(nb)
    resources = {"nbgrader": {}, "vaekit": {}}
    nb, resources = LimitOutputSize().preprocess(*InertStudentContent().preprocess(nb, resources))
    assert any("contenido activo" in f for f in resources["vaekit"]["flags"])
    page, _ = (HTMLExporter() if exporter == "nbconvert" else OfflineMathHTMLExporter()).from_notebook_node(nb)
    tags = active_parts(page)
    assert not tags["handlers"], tags["handlers"]
    assert not [u for u in tags["urls"] if u.lower().startswith("javascript:") or "127.0.0.1" in u or "/api/" in u]
    assert not tags["embeds"], tags["embeds"]
    assert not [js for js in tags["scripts"] if "fetch(" in js or "127.0.0.1" in js], tags["scripts"]
    student = [c.source for c in nb.cells] + [str(o) for c in nb.cells for o in c.get("outputs", [])]
    assert not any("<script" in s.lower() for s in student)
    assert "HIDDEN TESTS" not in page.replace("\u200d", "+")  # delimiters broken, the text still shown
    assert "Mi respuesta" in page and "<b>ok</b>" in page  # harmless content stays


def test_clean_html_allow_list():
    assert clean_html('<a href="javascript:alert(1)">x</a>') == '<a rel="noopener noreferrer nofollow">x</a>'
    assert clean_html('<p style="background:url(http://127.0.0.1/)">x</p>') == "<p>x</p>"
    assert clean_html('<img src="http://127.0.0.1/x.png" alt="a">') == '<img alt="a">'
    assert clean_html("<form action=/api><input name=a></form><math><mi>x</mi></math>") == "<math><mi>x</mi></math>"


def test_outputs_are_cut_by_characters_not_only_lines():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=("x" * 10_000_000 + "\n") * 4),
        nbformat.v4.new_output("execute_result", data={"text/plain": "y" * 5_000_000}, execution_count=1)])])
    nb, _ = LimitOutputSize().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert len(text) < 100_000 and "salida recortada por vaekit" in text


def test_pasted_and_unknown_grade_cells_cost_only_a_flag():
    from autograder.notebooks import filled_release
    import copy

    nb = filled_release("vae_clase")
    known = {grade_id(c) for c in nb.cells if grade_id(c)}
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "test_kl_divergence")
    nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
    nb.cells.append(nbformat.v4.new_code_cell("1", metadata={"nbgrader": {"grade": True, "points": 99,
                                                                           "grade_id": "inventada"}}))
    nb.cells.append(nbformat.v4.new_code_cell("2", metadata={"nbgrader": "no es un dict"}))
    flags = normalise_grade_cells(nb, known)
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert len(ids) == len(set(ids)) and set(ids) == known
    assert len(flags) == 3 and "duplicada" in flags[0] and grade_id(nb.cells[index]) == "test_kl_divergence"


# ---------------------------------------------------------------------------------------------------------
def shmem() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    return 0


class ShmemPeak:
    """Samples the host's Shmem (tmpfs, shared memory, memfd) every 20 ms while the block runs; ``growth`` is the
    peak over the value before (bytes)."""

    def __enter__(self):
        self.before = self.peak = shmem()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, shmem())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


WRITERS = {
    "tmp": "f = open('/tmp/relleno', 'wb')\nfor _ in range(64):\n    f.write(bytes(64 * 1024**2))\n",
    "memfd": ("import os\nfds = []\nfor _ in range(64):\n    fd = os.memfd_create('r')\n"
              "    os.write(fd, bytes(64 * 1024**2))\n    fds.append(fd)\n"),
}


@pytest.mark.skipif(unavailable_reason() is not None, reason="no memory cgroup can be made here")
@pytest.mark.parametrize("where", sorted(WRITERS))
def test_a_memory_cgroup_stops_memory_no_process_shows(where, tmp_path):
    """A sandboxed process writing 4 GiB into the sandbox's /tmp (or memfds) is OOM-killed at the cgroup's 512 MiB
    limit; the host's Shmem never grows past the limit plus a margin and is back where it was afterwards."""
    from autograder.grade.sandbox import SandboxSpec, bwrap_command

    limit = 512 * 1024**2
    cgroup = KernelCgroup.create(limit, label="test")
    assert cgroup is not None
    spec = SandboxSpec(writable=[tmp_path], cwd=tmp_path, tmp_bytes=8 * GIB, prefix=cgroup.enter_argv())
    try:
        with ShmemPeak() as shm:
            proc = subprocess.run(bwrap_command(spec, [sys.executable, "-c", WRITERS[where]]), capture_output=True,
                                  timeout=120)
    finally:
        killed = cgroup.oom_killed()
        cgroup.remove()
    time.sleep(0.5)
    assert proc.returncode != 0 and killed, proc.stderr[-500:]
    assert shm.growth < limit + 256 * 1024**2, shm.growth / GIB
    assert shmem() - shm.before < 64 * 1024**2  # the tmpfs went with the sandbox


@pytest.mark.slow
@pytest.mark.skipif(unavailable_reason() is not None, reason="no memory cgroup can be made here")
def test_graded_kernels_filling_tmp_or_memfd_are_stopped_and_the_next_submission_is_unaffected(tmp_path):
    """`vaekit grade` on one Dask worker with a 3 GiB memory limit, a 6 GiB /tmp and 8 GiB files: the /tmp and memfd
    filler are each stopped by the kernel's cgroup (Shmem measured), neutralised with their reason, and the rest of
    each notebook (a correct solution) graded in full; the second one, on the same worker, is unaffected by the first."""
    from autograder.cli import submit
    from autograder.course import new_course
    from autograder.grade.coordinator import grade
    from autograder.results import Status

    course = new_course(tmp_path / "curso", ("vae_clase",))
    course.nbgrader("generate_assignment", "vae_clase", "--force")
    students = submit(course, "vae_clase", REPO_ROOT / "examples" / "submitted",
                      ["alu68_hostil_tmpfs", "alu69_hostil_memfd"])
    assert len(students) == 2
    with ShmemPeak() as shm:
        results = {r.student: r for r in grade(course, "vae_clase", workers=1, limits=course.limits(
            memory_gb=3, tmp_mb=6144, file_mb=8192, cell_timeout=60, submission_timeout=420))}
    for student in ("alu68_hostil_tmpfs", "alu69_hostil_memfd"):  # one after the other on the same worker
        r = results[student]
        assert r.status == Status.NEUTRALISED and "archivos en memoria" in r.message, (student, r.message)
        assert all(v[0] == v[1] for g, v in r.grades.items() if g not in r.manual), r.grades  # the rest: correct
        assert r.limits["cgroup"].endswith("3 GiB")
    assert shm.growth < 3.5 * GIB, shm.growth / GIB
    assert shmem() - shm.before < 0.25 * GIB


def test_plain_nbgraders_copy_of_a_submission_follows_no_link(tmp_path):
    """nbgrader's converter copy (used by plain `nbgrader autograde`) goes through the gate once the course config
    is loaded: a link and a pipe are skipped, a regular file is copied."""
    from nbgrader.converters import base

    from autograder.settings import load_config

    load_config(REPO_ROOT)  # executes nbgrader_config.py, as nbgrader does
    _, folder = _hostile_folder(tmp_path)
    out = tmp_path / "copia"
    out.mkdir()
    for name in ("sub/datos.txt", "libro.db", "entorno", "tuberia"):
        base.shutil.copy(str(folder / name), str(out))
    assert sorted(p.name for p in out.iterdir()) == ["datos.txt"]
