"""The grading sandbox on real bubblewrap and real Jupyter kernels (no TensorFlow: each kernel starts in ~2 s).

A tiny "course" folder holds a gradebook, a source notebook, other students' folders and one staged submission;
a kernel started by ``SandboxedKernelManager`` (as nbgrader's Execute starts it, through nbclient) runs hostile
cells. Each test asserts what the student's code could not do, and that the TA's side is unchanged afterwards.
"""
from __future__ import annotations

import re
import socket
import sqlite3
import threading

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from autograder.grade.sandbox import PrivateKernelManager, SandboxedKernelManager, check_available


@pytest.fixture(scope="module", autouse=True)
def bwrap():
    return check_available()


@pytest.fixture()
def course(tmp_path):
    root = tmp_path / "curso"
    (root / "source" / "vae_clase").mkdir(parents=True)
    (root / "source" / "vae_clase" / "vae_clase.ipynb").write_text("SOLUCION_SECRETA ### BEGIN HIDDEN TESTS")
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    (root / "submitted" / "otra_alumna" / "vae_clase").mkdir(parents=True)
    db = sqlite3.connect(root / "gradebook.db")
    db.execute("CREATE TABLE grade (id INTEGER, score REAL)")
    db.execute("INSERT INTO grade VALUES (1, 2.0)")
    db.commit()
    db.close()
    folder = root / "autograded" / "alu" / "vae_clase"
    folder.mkdir(parents=True)
    return root, folder


def run_cells(folder, *sources, timeout=60, manager=SandboxedKernelManager, shutdown="graceful"):
    """Execute ``sources`` as cells in a ``manager`` kernel (sandboxed unless told) with cwd ``folder``, then end it
    (``shutdown``: nbclient's graceful or immediate); returns each cell's text output."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, kernel_manager_class=manager, timeout=timeout, allow_errors=True,
                            shutdown_kernel=shutdown, resources={"metadata": {"path": str(folder)}})
    client.execute()
    texts = []
    for cell in nb.cells:
        parts = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
        parts += [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        parts += [o.get("data", {}).get("text/plain", "") for o in cell.outputs if o.output_type == "execute_result"]
        texts.append("".join(parts))
    return texts


def test_the_course_is_not_there_and_the_gradebook_survives(course):
    root, folder = course
    out = run_cells(folder, f"""
import os, glob, sqlite3
found = []
d = os.getcwd()
for _ in range(10):
    found += glob.glob(os.path.join(d, "gradebook.db")) + glob.glob(os.path.join(d, "*", "gradebook.db"))
    d = os.path.dirname(d)
for p in found + [{str(root / 'gradebook.db')!r}]:
    try:
        con = sqlite3.connect(p); con.execute("DELETE FROM grade"); con.commit(); print("BORRADO", p)
    except Exception as e:
        print("no", type(e).__name__)
print("source:", glob.glob({str(root)!r} + "/source/*/*.ipynb"), glob.glob("../../../source/*/*"))
print("submitted:", os.path.exists({str(root / 'submitted')!r}), glob.glob("../../../submitted/*"))
""")[0]
    assert "BORRADO" not in out and "source: [] []" in out and "submitted: False []" in out, out
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM grade").fetchone()[0] == 1


def test_writes_land_only_in_the_submission_folder(course, tmp_path):
    root, folder = course
    import autograder

    package = str(__import__("pathlib").Path(autograder.__file__).parent)
    out = run_cells(folder, f"""
import os, sys
targets = [{str(root / 'planted.py')!r}, {package + '/planted.py'!r}, os.path.join(os.path.dirname(os.__file__), 'planted.py'),
           '/etc/planted', os.path.expanduser('~/planted'), '../../../planted.py', 'mine.txt', '/tmp/scratch.txt']
for t in targets:
    try:
        open(t, 'w').write('x'); print('OK', t)
    except OSError as e:
        print('NO', t, e.errno)
""")[0]
    assert (folder / "mine.txt").exists()
    assert not (root / "planted.py").exists() and not (__import__("pathlib").Path(package) / "planted.py").exists()
    assert not list(root.rglob("planted*"))
    assert "NO /etc/planted" in out
    assert "OK mine.txt" in out and "OK /tmp/scratch.txt" in out


def test_no_reference_no_grader_no_secrets_in_the_environment(course, monkeypatch):
    _, folder = course
    monkeypatch.setenv("VAEKIT_DB_URL", "postgresql://ta:secreto@db/curso")
    out = run_cells(folder, """
import os, importlib.util
print({m: importlib.util.find_spec(m) is not None for m in ("vae_lib", "autograder", "vae_runtime", "numpy")})
print(sorted(k for k in os.environ if "DB" in k or "VAEKIT_COURSE" in k), os.environ.get("HOME"))
""")[0]
    assert "'vae_lib': False" in out and "'autograder': False" in out and "'vae_runtime': True" in out, out
    assert "[] /tmp" in out and "secreto" not in out


def test_no_network_even_to_loopback(course):
    _, folder = course
    hits = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    done = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not done.is_set():
            try:
                conn, _ = server.accept()
                hits.append(conn.recv(100))
            except OSError:
                pass

    listener = threading.Thread(target=accept)
    listener.start()
    out = run_cells(folder, f"""
import socket, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:{port}/robar", timeout=3); print("CONECTADO")
except Exception as e:
    print("sin red:", type(e).__name__)
try:
    socket.getaddrinfo("pypi.org", 443); print("DNS")
except Exception as e:
    print("sin DNS")
""")[0]
    done.set()
    listener.join()
    server.close()
    assert hits == [] and "CONECTADO" not in out and "sin red" in out and "sin DNS" in out, out


def test_fork_bomb_is_held_by_the_process_limit(course):
    _, folder = course
    out = run_cells(folder, """
import subprocess, time, os
bomb = subprocess.Popen(["bash", "-c", "b(){ b | b & }; b"], stderr=subprocess.DEVNULL)
time.sleep(4)
print("procesos en el sandbox:", len([p for p in os.listdir('/proc') if p.isdigit()]))
""", timeout=120)[0]
    count = int(re.search(r"procesos en el sandbox: (\d+)", out).group(1))
    assert 100 < count <= 520, out  # the bomb ran, and RLIMIT_NPROC (512 tasks of the sandbox uid) held it


@pytest.mark.parametrize("shutdown", ["graceful", "immediate"])  # grading kills its kernels (SandboxedExecute)
def test_own_pid_namespace_and_nothing_outlives_the_kernel(course, shutdown):
    _, folder = course
    out = run_cells(folder, """
import os, subprocess
detached = subprocess.Popen(["sleep", "300"], start_new_session=True)
print("procesos:", sorted(int(p) for p in os.listdir('/proc') if p.isdigit())[:3], "pid", os.getpid())
""", shutdown=shutdown)[0]
    assert "procesos: [1, 2" in out, out  # the sandbox's own PID namespace: the host's processes are not there
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "300"]]
    assert psutil.wait_procs(leftovers, timeout=10)[1] == [], "a process outlived its sandboxed kernel"


def test_refuses_with_a_spanish_hint_when_bwrap_is_missing(monkeypatch):
    from autograder.grade import sandbox

    sandbox.check_available.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*--no-sandbox"):
        sandbox.check_available()
    sandbox.check_available.cache_clear()


def test_without_the_sandbox_the_kernel_still_talks_over_ipc_and_says_nothing_on_the_console(tmp_path, capfd):
    """--no-sandbox: no TCP port for the student's kernel (ipykernel warns about unencrypted TCP on the TA's
    console), its own stderr is not the TA's, and its runtime folder goes with it."""
    made = []

    class Recorded(PrivateKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            made.append(self)

    texts = run_cells(tmp_path, "import os\nos.write(2, b'ruido del proceso del nucleo\\n')\nprint(os.getcwd())",
                      manager=Recorded)
    assert texts == [f"{tmp_path}\n"], texts
    console = capfd.readouterr()
    assert "ruido del proceso del nucleo" not in console.err + console.out
    assert not re.search("warn", console.err + console.out, re.I), console.err[-500:]
    (km,) = made
    assert km.transport == "ipc" and km.ip.startswith(str(km.runtime_dir))  # the shell, iopub, … channels
    assert not km.runtime_dir.exists()


def test_a_data_folder_reached_through_a_link_under_tmp_is_found_in_the_sandbox(course, tmp_path, monkeypatch):
    """VAE_DATA_DIR given through a symlink that lives under the host's /tmp (hidden by the sandbox's private /tmp):
    the kernel still reads the data, at the folder's real path."""
    _, folder = course
    real = tmp_path.parent / f"{tmp_path.name}-datos-reales"
    real.mkdir()
    (real / "marca.txt").write_text("datos del curso")
    link = tmp_path / "enlace"
    link.symlink_to(real)
    monkeypatch.setenv("VAE_DATA_DIR", str(link))
    out = run_cells(folder, "import os, pathlib\n"
                            "print(pathlib.Path(os.environ['VAE_DATA_DIR'], 'marca.txt').read_text())")[0]
    assert out.strip() == "datos del curso", out
