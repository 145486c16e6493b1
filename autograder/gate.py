"""The one gate for files that cross from a student's side to the grader's: submissions coming in (``submitted/``,
the exchange, an unzipped LMS download) and whatever a grading kernel left behind (its folder, its evidence).

Only regular files pass, each opened without following links (``O_NOFOLLOW``, directories walked by descriptor,
``O_NONBLOCK`` so a named pipe never blocks) and its type checked on the opened descriptor, never on the path;
under a per-file and a per-tree size cap and a file-count cap. Links, pipes, sockets, devices, and anything too
large are never read: they become ``Refusal``\\s, which grading turns into "revisar a mano" flags naming the path.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from autograder.settings import Grading, trait_default

MIB = 1024**2
SKIPPED_DIRS = (".ipynb_checkpoints", "__pycache__")
NAME_CHARS = 120  # a student's file name is cut to this many characters in any message


def shown(name: str, width: int = NAME_CHARS) -> str:
    """A student-made path or link target, printable and bounded (for flags and messages)."""
    text = name.encode("utf-8", "backslashreplace").decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _intake(name: str, unit: int = 1):
    return lambda: trait_default(Grading, name) * unit


@dataclass(frozen=True)
class Caps:
    """Size caps of one tree: bytes per file, bytes in all, number of files, folder depth. A course's are
    ``Grading(config=…).caps()``; these defaults are ``settings.Grading``'s ``intake_*`` traits'."""
    file_bytes: int = field(default_factory=_intake("intake_file_mb", MIB))
    total_bytes: int = field(default_factory=_intake("intake_total_mb", MIB))
    files: int = field(default_factory=_intake("intake_files"))
    depth: int = 16


@dataclass
class Refusal:
    path: str  # relative to the tree's root, cut with ``shown``
    why: str  # Spanish

    @property
    def text(self) -> str:
        return f"archivo rechazado sin leerlo: {self.path} ({self.why})"


@dataclass
class Intake:
    """What passed the gate (relative path -> bytes) and what was refused."""
    files: dict[str, bytes] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        return [r.text for r in self.refused]


class Refused(OSError):
    """A path the gate will not read; ``str()`` is the Spanish reason."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "enlace simbólico"
    if stat.S_ISFIFO(mode):
        return "tubería con nombre (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "archivo de dispositivo"
    if stat.S_ISDIR(mode):
        return "carpeta"
    return "archivo especial"


def read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes of the regular file open at ``fd`` (raises Refused when it is not regular or larger)."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise Refused(_kind(info.st_mode))
    if info.st_size > limit:
        raise Refused(f"{info.st_size / MIB:.0f} MiB, más que el máximo de {limit / MIB:.0f} MiB")
    chunks, total = [], 0
    while True:
        chunk = os.read(fd, min(4 * MIB, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:  # it grew while being read
            raise Refused(f"más que el máximo de {limit / MIB:.0f} MiB")
    return b"".join(chunks)


def _open_nofollow(name: str, dir_fd: int | None, directory: bool = False) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    if directory:
        flags |= os.O_DIRECTORY
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EMLINK):
            raise Refused("enlace simbólico") from None
        if error.errno == errno.ENOTDIR:
            raise Refused("no es una carpeta") from None
        if error.errno == errno.ENXIO:  # a socket or a FIFO without writer on some systems
            raise Refused("archivo especial") from None
        raise Refused(f"no se pudo abrir ({errno.errorcode.get(error.errno, error.errno)})") from None


def read_file(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """One regular file's bytes, read through the gate (the last component must not be a link); ``limit``: bytes
    (None: ``Caps().file_bytes``)."""
    limit = Caps().file_bytes if limit is None else limit
    fd = _open_nofollow(str(path), None)
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def read_tree(folder: str | os.PathLike, caps: Caps | None = None, skip_dirs=SKIPPED_DIRS) -> Intake:
    """Every regular file under ``folder`` (relative path -> bytes) and every refusal; never follows a link.

    ``folder`` itself must be a real folder (a link there is refused as a whole)."""
    caps = Caps() if caps is None else caps
    intake = Intake()
    total = [0]
    try:
        root_fd = _open_nofollow(str(folder), None, directory=True)
    except Refused as why:
        intake.refused.append(Refusal(".", str(why)))
        return intake
    try:
        _walk(root_fd, "", 0, caps, skip_dirs, intake, total)
    finally:
        os.close(root_fd)
    return intake


def _walk(dir_fd: int, prefix: str, depth: int, caps: Caps, skip_dirs, intake: Intake, total: list[int]) -> None:
    try:
        names = sorted(os.listdir(dir_fd))
    except OSError as error:
        intake.refused.append(Refusal(shown(prefix or "."), f"carpeta ilegible ({error.strerror})"))
        return
    for name in names:
        rel = prefix + name
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue  # gone while listing
        if stat.S_ISDIR(info.st_mode):
            if name in skip_dirs:
                continue
            if depth + 1 > caps.depth:
                intake.refused.append(Refusal(shown(rel + "/"), "demasiadas carpetas anidadas"))
                continue
            try:
                sub = _open_nofollow(name, dir_fd, directory=True)
            except Refused as why:
                intake.refused.append(Refusal(shown(rel + "/"), str(why)))
                continue
            try:
                _walk(sub, rel + "/", depth + 1, caps, skip_dirs, intake, total)
            finally:
                os.close(sub)
            continue
        if not stat.S_ISREG(info.st_mode):
            why = _kind(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                try:
                    why += f" a {shown(os.readlink(name, dir_fd=dir_fd), 80)}"
                except OSError:
                    pass
            intake.refused.append(Refusal(shown(rel), why))
            continue
        if len(intake.files) >= caps.files:
            intake.refused.append(Refusal(shown(rel), f"más de {caps.files} archivos en la entrega"))
            continue
        left = caps.total_bytes - total[0]
        try:
            fd = _open_nofollow(name, dir_fd)
            try:
                data = read_fd(fd, min(caps.file_bytes, left))
            finally:
                os.close(fd)
        except Refused as why:
            reason = str(why)
            if left < caps.file_bytes and "MiB" in reason:
                reason = f"la entrega supera el máximo de {caps.total_bytes / MIB:.0f} MiB en total"
            intake.refused.append(Refusal(shown(rel), reason))
            continue
        total[0] += len(data)
        intake.files[rel] = data


def write_tree(folder: str | os.PathLike, files: dict[str, bytes], mode: int = 0o644) -> None:
    """Write ``files`` (relative path -> bytes) under a folder that only the grader has had: refuses paths that
    leave it ('..', absolute) and never writes through an existing link."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts:
            raise Refused(f"ruta no válida: {shown(rel)}")
        path = root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Refused(f"{shown(rel)} no es un archivo normal")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


__all__ = ["Caps", "Intake", "Refusal", "Refused", "read_tree", "read_file", "read_fd", "write_tree", "shown"]
