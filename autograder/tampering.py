"""Flags for the TA ("revisar a mano"): code in a student's cells that reaches for the grader, the reference or the
machine, and sandbox refusals seen in the outputs. A flag never changes a score (the sandbox and the judge already
make such code worthless); it says where to look.

Two sources: a static scan of every code cell that is not a grade cell (``ast``: imports, names, attributes,
assignments to a module's attributes, suspicious paths), and the executed outputs (an ``[Errno 30]`` read-only
file system or ``[Errno 111]`` refused connection with the path or address the code tried).
"""
from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass

CATEGORIES = {
    "grader": "usa el evaluador o la referencia (autograder, vae_lib, checks)",
    "interpreter": "manipula el intérprete (sys.modules, builtins, frames, gc, ctypes)",
    "ipython": "manipula IPython (showtraceback, eventos, transformadores de entrada)",
    "patch": "modifica una biblioteca mientras se ejecuta",
    "system": "lanza procesos o abre conexiones de red",
    "files": "lee o escribe fuera de su carpeta",
    "escape": "intentó salir de su sandbox",
}
GRADER_MODULES = {"autograder", "vae_lib", "nbgrader"}
INTERPRETER = {"sys.modules", "sys._getframe", "builtins", "__builtins__", "gc.get_objects", "gc.get_referrers",
               "inspect.stack", "inspect.currentframe", "ctypes", "importlib.reload", "sys.settrace",
               "sys.setprofile", "sys.meta_path", "sys.path_hooks"}
IPYTHON = {"showtraceback", "events", "register", "input_transformers_cleanup", "input_transformers_post",
           "ast_transformers", "set_custom_exc", "run_cell", "displayhook", "display_pub", "kernel"}
SYSTEM_MODULES = {"subprocess", "socket", "urllib", "http", "requests", "multiprocessing", "pty", "signal",
                  "resource", "shutil", "asyncio.subprocess"}
SYSTEM_CALLS = {"os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.execv", "os.execl",
                "os.execvp", "os.spawnl", "os.spawnv", "os._exit", "os.setsid", "os.chdir"}
LIBRARY_ALIASES = {"np", "numpy", "keras", "ops", "tf", "tensorflow", "layers", "vr", "vae_runtime", "plt",
                   "matplotlib", "os", "sys", "math", "random"}
PATH_HINTS = re.compile(r"(^/(?!tmp\b)|\.\./|gradebook|source/|release/|submitted|autograded|feedback/|"
                        r"nbgrader_config|\.vaekit|/etc/|/root|/home/)")
REFUSALS = re.compile(r"\[Errno (30|13|111|101|99|11)\] ([^\n'\"]*)(?:['\"]([^'\"]+)['\"])?")


@dataclass
class Flag:
    cell: int
    category: str
    detail: str

    @property
    def text(self) -> str:
        return f"{CATEGORIES[self.category]}: {self.detail} (celda {self.cell})"

    def as_dict(self) -> dict:
        return {**asdict(self), "text": self.text}


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def scan_source(source: str, cell: int) -> list[Flag]:
    """Flags for one cell's source (magics and shell escapes stripped; a cell that does not parse gives none)."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    flags: list[Flag] = []
    if any(ln.lstrip().startswith("!") for ln in source.splitlines()):
        flags.append(Flag(cell, "system", "orden de shell (!)"))
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:  # it cannot run, but say what it reached for
        for word in sorted(GRADER_MODULES | {"sys.modules", "showtraceback", "__builtins__"}):
            if re.search(rf"\b{re.escape(word)}\b", source):
                flags.append(Flag(cell, "grader" if word in GRADER_MODULES else "interpreter", word))
        return flags

    def add(category, detail):
        if not any(f.category == category and f.detail == detail for f in flags):
            flags.append(Flag(cell, category, detail))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                if root in GRADER_MODULES:
                    add("grader", f"import {name}")
                elif root in {"ctypes", "builtins", "gc", "importlib"}:
                    add("interpreter", f"import {name}")
                elif root in {n.split(".")[0] for n in SYSTEM_MODULES}:
                    add("system", f"import {name}")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if any(dotted == d or dotted.startswith(d + ".") for d in INTERPRETER):
                add("interpreter", dotted)
            if node.attr in IPYTHON and ("get_ipython" in dotted or "ip." in dotted + "." or "shell" in dotted):
                add("ipython", dotted)
            if node.attr == "showtraceback":
                add("ipython", dotted)
            if dotted in SYSTEM_CALLS:
                add("system", dotted)
        elif isinstance(node, ast.Name):
            if node.id in GRADER_MODULES:
                add("grader", node.id)
            if node.id == "checks" and isinstance(node.ctx, ast.Store):
                add("grader", "redefine «checks»")
            if node.id in {"__builtins__", "__import__"}:
                add("interpreter", node.id)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute):
                    root = _dotted(target).split(".")[0]
                    if root in LIBRARY_ALIASES:
                        add("patch", f"{_dotted(target)} = …")
        elif isinstance(node, ast.Call):
            func = _dotted(node.func)
            if func in {"setattr", "delattr"} and node.args and _dotted(node.args[0]).split(".")[0] in LIBRARY_ALIASES:
                add("patch", f"{func}({_dotted(node.args[0])}, …)")
            if func in {"exec", "eval", "compile", "__import__"}:
                add("interpreter", f"{func}(…)")
            if func in {"open", "os.listdir", "os.scandir", "os.walk", "glob.glob", "Path", "pathlib.Path",
                        "os.remove", "os.unlink", "os.rename", "sqlite3.connect", "np.load", "np.save"}:
                for arg in node.args[:1]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and PATH_HINTS.search(arg.value):
                        add("files", f"{func}({arg.value!r})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.search(r"gradebook\.db|nbgrader_config|/source/|\.\./\.\./", node.value):
                add("files", repr(node.value[:80]))
    return flags


def scan_outputs(cell_index: int, outputs) -> list[Flag]:
    flags = []
    for out in outputs or []:
        text = out.get("text", "") if out.get("output_type") == "stream" else \
            f"{out.get('ename', '')}: {out.get('evalue', '')}" if out.get("output_type") == "error" else ""
        for errno, words, path in REFUSALS.findall(str(text)):
            what = {"30": "escribir en un sistema de solo lectura", "13": "un acceso denegado",
                    "111": "una conexión de red", "101": "una conexión de red", "99": "una conexión de red",
                    "11": "crear más procesos de los permitidos"}[errno]
            detail = f"{what}{': ' + path if path else ''}"
            if not any(f.detail == detail for f in flags):
                flags.append(Flag(cell_index, "escape", detail))
    return flags


def scan(nb) -> list[Flag]:
    """Flags over a notebook's student cells: every code cell except grade cells (restored by nbgrader)."""
    flags: list[Flag] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        flags += scan_source(cell.source, index)
        flags += scan_outputs(index, cell.get("outputs"))
    return flags
