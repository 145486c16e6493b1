"""A memory cgroup per grading kernel: a limit that counts what no process's resident memory shows.

Files in a tmpfs (the sandbox's ``/tmp`` and ``/dev/shm``) and ``memfd``\\s are RAM charged to the cgroup of the
process that wrote them, so ``memory.max`` (cgroup v2) or ``memory.limit_in_bytes`` (v1) stops a kernel that fills
them, where the watchdog (which sums resident memory) sees nothing. The kernel enters its cgroup before ``bwrap``
starts (``enter_argv``), so everything in the sandbox is inside it. The kernel OOM killer then kills inside the
cgroup only; ``oom_killed()`` tells grading why the kernel died.

Made under the grader's own cgroup (``/proc/self/cgroup``), v2 where the memory controller is delegated there,
else v1's memory hierarchy. Where neither is writable (a TA without root or delegation), ``create`` returns None
and ``unavailable_reason()`` says why; grading then relies on the tmpfs sizes and RLIMIT_FSIZE.
"""
from __future__ import annotations

import itertools
import os
import signal
import time
from functools import lru_cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()


def _own_cgroups() -> dict[str, str]:
    """{"v2": path} and/or {"memory": path} of this process, from /proc/self/cgroup."""
    out = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            out["v2"] = path
        elif "memory" in controllers.split(","):
            out["memory"] = path
    return out


def _v2_mount() -> Path | None:
    for candidate in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if (candidate / "cgroup.controllers").exists():
            return candidate
    return None


@lru_cache(maxsize=1)
def parent() -> tuple[str, Path] | tuple[None, str]:
    """("v2" | "v1", folder new cgroups are made in), or (None, Spanish reason)."""
    own = _own_cgroups()
    v2 = _v2_mount()
    if v2 is not None and "v2" in own:
        base = v2 / own["v2"].lstrip("/")
        try:
            if "memory" in (base / "cgroup.subtree_control").read_text().split() and os.access(base, os.W_OK):
                return "v2", base
        except OSError:
            pass
    if "memory" in own and (CGROUP_ROOT / "memory").is_dir():
        base = CGROUP_ROOT / "memory" / own["memory"].lstrip("/")
        if (base / "memory.limit_in_bytes").exists() and os.access(base, os.W_OK):
            return "v1", base
        return None, f"no hay permiso para crear cgroups de memoria en {base} (hace falta root o delegación)"
    return None, ("esta máquina no ofrece un cgroup de memoria utilizable (ni v2 con el controlador «memory» "
                  "delegado ni v1)")


def unavailable_reason() -> str | None:
    kind, where = parent()
    return None if kind else str(where)


class KernelCgroup:
    """One kernel's memory cgroup (``limit`` bytes, shared memory and tmpfs pages included)."""

    def __init__(self, version: str, path: Path, limit: int):
        self.version, self.path, self.limit = version, path, limit

    @classmethod
    def create(cls, limit: int, label: str = "kernel") -> "KernelCgroup | None":
        kind, base = parent()
        if kind is None:
            return None
        path = Path(base) / f"vaekit-{label}-{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
            if kind == "v2":
                (path / "memory.max").write_text(str(limit))
                (path / "memory.swap.max").exists() and (path / "memory.swap.max").write_text("0")
            else:
                (path / "memory.limit_in_bytes").write_text(str(limit))
                swap = path / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    try:
                        swap.write_text(str(limit))
                    except OSError:
                        pass
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            return None
        return cls(kind, path, limit)

    @property
    def description(self) -> str:
        knob = "memory.max" if self.version == "v2" else "memory.limit_in_bytes"
        return f"cgroup {self.version} {knob} = {self.limit / 1024**3:g} GiB"

    def enter_argv(self) -> list[str]:
        """A prefix for the kernel's command line: the process enters this cgroup, then execs the rest."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs")]

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def oom_killed(self) -> bool:
        """Whether the kernel OOM killer killed something in this cgroup (the limit was hit)."""
        text = self._read("memory.events" if self.version == "v2" else "memory.oom_control")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
                return True
        return False

    def peak(self) -> int:
        text = self._read("memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes").strip()
        return int(text) if text.isdigit() else 0

    def pids(self) -> list[int]:
        return [int(p) for p in self._read("cgroup.procs").split() if p.isdigit()]

    def kill_all(self, wait: float = 5.0) -> bool:
        """SIGKILL everything in the cgroup; True once it is empty (within ``wait`` seconds)."""
        deadline = time.monotonic() + wait
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


__all__ = ["KernelCgroup", "parent", "unavailable_reason"]
