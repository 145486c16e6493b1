"""The bubblewrap sandbox every grading kernel runs in.

Inside it the student's code sees only: the system's programs and libraries (read-only), the Python installation
and virtualenv (read-only), the student runtime ``vae_runtime`` (read-only), the data folder (read-only), its own
submission folder (writable), the kernel's runtime folder (writable: connection file, ipc sockets, evidence files)
and a private, empty ``/tmp``. The course (``source/``, ``release/``, the gradebook, other submissions, the
config), ``vae_lib`` and ``autograder`` are not mounted at all. No network (its own empty network namespace; the
kernel talks to nbclient over ipc sockets), its own PID namespace (everything inside dies with the kernel), a
cleared environment, and a process limit (``RLIMIT_NPROC``) against fork bombs. Run as root (a grading server),
the kernel also drops to an unprivileged uid of its own, so the process limit holds and nothing outside its
folders is writable even where permissions would allow root.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from autograder import sandbox_doctor
from autograder.errors import VaekitError
from autograder.settings import KERNEL_ENV, trait_default

INSTALL_HINT = ("Instala bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; o `make sandbox`) y "
                "comprueba que los espacios de nombres de usuario están activos "
                "(`sysctl kernel.unprivileged_userns_clone=1`). Para calificar sin aislamiento (no recomendado), "
                "usa `--no-sandbox`: las notas quedarán marcadas como calificadas sin sandbox.")

# Environment variables the kernel may see (everything else, e.g. a PostgreSQL URL, stays outside).
PASSED_ENV = ("LANG", "LC_ALL", "TZ", "VAE_DATA_DIR", "NBGRADER_EXECUTION", "PYTHONUNBUFFERED",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_FORCE_GPU_ALLOW_GROWTH",
              "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
              "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES", "VAEKIT_QUICK")
SYSTEM_DIRS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}
SANDBOX_UID_BASE = 60000  # root graders run each kernel as uid SANDBOX_UID_BASE + (grader pid mod 30000)


class SandboxUnavailable(VaekitError):
    pass


def default_max_processes() -> int:
    """The process limit where no course sets one: ``SandboxedExecute.max_processes``'s default."""
    from autograder.grade.pipeline import SandboxedExecute

    return trait_default(SandboxedExecute, "max_processes")


@dataclass
class SandboxSpec:
    """What one kernel's sandbox mounts. ``writable``: the submission folder and the kernel's runtime folder."""
    writable: list[Path]
    readable: list[Path] = field(default_factory=list)
    cwd: Path | None = None
    max_processes: int = field(default_factory=default_max_processes)  # processes + threads of the kernel's uid
    env: dict[str, str] = field(default_factory=dict)
    devices: list[str] = field(default_factory=list)  # e.g. /dev/nvidia0 on a GPU worker
    tmp_bytes: int = 0  # size of the private /tmp and /dev/shm tmpfs (0: bubblewrap's default, half the RAM)
    file_bytes: int = 0  # RLIMIT_FSIZE: the largest file the kernel may write (0: no limit)
    prefix: list[str] = field(default_factory=list)  # runs before bwrap (e.g. entering the kernel's cgroup)


@lru_cache(maxsize=1)
def check_available() -> str:
    """The path of ``bwrap`` once a trivial sandbox ran here; raises SandboxUnavailable (Spanish) otherwise."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(sandbox_doctor.explain(None))
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
                            "--unshare-net", "--die-with-parent", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(sandbox_doctor.explain(bwrap, probe.stderr or probe.stdout))  # the cause found here
    return bwrap


def python_dirs() -> list[Path]:
    """The Python installation and virtualenv the kernel runs from, and where ``vae_runtime`` lives."""
    dirs = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent.parent}
    spec = importlib.util.find_spec("vae_runtime")
    if spec is not None and spec.origin:
        package = Path(spec.origin).resolve().parent
        if not any(_inside(package, d) for d in dirs):  # an editable install: mount the package folder only
            dirs.add(package)
    return sorted(dirs)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def sandbox_uid() -> int | None:
    """The unprivileged uid a root grader runs its kernels as (None when not root: the kernel keeps the TA's uid)."""
    return SANDBOX_UID_BASE + os.getpid() % 30000 if os.geteuid() == 0 else None


def _parents(paths) -> list[str]:
    """Every ancestor folder of ``paths`` below /, shallowest first (bwrap would create them 0700)."""
    out: set[str] = set()
    for p in paths:
        for parent in Path(p).parents:
            if str(parent) != "/":
                out.add(str(parent))
    return sorted(out, key=lambda s: (s.count("/"), s))


def bwrap_command(spec: SandboxSpec, command: list[str]) -> list[str]:
    """The bwrap command line that runs ``command`` inside ``spec``'s sandbox."""
    bwrap = check_available()
    writable = [Path(p).resolve() for p in spec.writable]
    readable = [Path(p).resolve() for p in [*python_dirs(), *spec.readable] if Path(p).exists()]
    mounts = [p for p in readable + writable if not any(str(p).startswith(d) for d in SYSTEM_DIRS)]
    size = ["--size", str(spec.tmp_bytes)] if spec.tmp_bytes else []
    argv = [*spec.prefix, bwrap, "--perms", "1777", *size, "--tmpfs", "/tmp"]
    for parent in _parents(mounts):
        if not any(parent == d or parent.startswith(d + "/") for d in SYSTEM_DIRS):
            argv += ["--perms", "0755", "--dir", parent]
    for d in SYSTEM_DIRS:
        if os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    for link, target in SYSTEM_LINKS.items():
        if os.path.islink(link):
            argv += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
        else:
            argv += ["--symlink", target, link]
    for p in readable:
        argv += ["--ro-bind", str(p), str(p)]
    for p in writable:
        argv += ["--bind", str(p), str(p)]
    argv += ["--dev", "/dev", "--perms", "1777", *size, "--tmpfs", "/dev/shm", "--proc", "/proc"]
    for dev in spec.devices:
        argv += ["--dev-bind", dev, dev]
    argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent", "--new-session", "--hostname", "vaekit-sandbox", "--clearenv"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
           "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython", "KERAS_HOME": "/tmp/keras",
           **KERNEL_ENV,
           **{k: os.environ[k] for k in PASSED_ENV if k in os.environ}, **spec.env}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    if spec.cwd is not None:
        argv += ["--chdir", str(Path(spec.cwd).resolve())]
    uid = sandbox_uid()
    limit = spec.max_processes
    if uid is not None:
        for p in writable:
            _chown_tree(p, uid)
        argv += ["--cap-add", "CAP_SETUID,CAP_SETGID", "--", "setpriv", f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
    else:  # the TA's own uid: the limit counts their other processes too
        limit += _processes_of_current_user()
        argv += ["--"]
    fsize = [f"--fsize={spec.file_bytes}:{spec.file_bytes}"] if spec.file_bytes else []
    return argv + ["prlimit", f"--nproc={limit}:{limit}", "--core=0", *fsize, *command]


def gpu_devices() -> list[str]:
    """NVIDIA device files of a GPU worker (none on a CPU machine), so its kernels can use the GPU."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*") if not p.is_dir())


def _chown_tree(folder: Path, uid: int) -> None:
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), uid, uid)
    os.lchown(folder, uid, uid)


def restore_owner(folder: Path) -> None:
    """Give a folder the sandbox wrote in back to the grader's uid (root graders only)."""
    if os.geteuid() == 0 and Path(folder).exists():
        _chown_tree(Path(folder), os.getuid())


def _processes_of_current_user() -> int:
    import psutil

    me = psutil.Process().username()
    total = 0
    for p in psutil.process_iter(["username", "num_threads"]):
        if p.info["username"] == me:
            total += p.info["num_threads"] or 1
    return total


# --------------------------------------------------------------------------------------------------------
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from traitlets import Integer, List as TList, Unicode, default  # noqa: E402


class PrivateKernelManager(AsyncKernelManager):
    """A grading kernel over ipc sockets in a fresh runtime folder of its own (connection file, sockets), removed
    with the kernel; the kernel's own stdout/stderr (banners, C++ logs, ipykernel's warnings) are not the TA's: cell
    outputs travel over ZMQ. With ``--no-sandbox`` grading kernels are these; sandboxed ones add ``bwrap``. Its
    client is ready as soon as the kernel is (``kernel_client.PromptKernelClient``), and a killed kernel is waited
    for every 10 ms rather than jupyter_client's 100 ms: neither wait is spent idle on every submission."""

    def __init__(self, **kwargs):
        import tempfile

        from autograder.grade.kernel_client import PromptKernelClient

        super().__init__(**kwargs)
        self.client_factory = PromptKernelClient
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="vaekit-kernel-"))
        self.runtime_dir.chmod(0o755)
        self.transport = "ipc"
        self.ip = str(self.runtime_dir / "kipc")
        self.connection_file = str(self.runtime_dir / "kernel.json")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        """Until the killed kernel's process is gone (jupyter_client polls, by default every 0.1 s)."""
        await super()._async_wait(pollinterval)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    # jupyter_client binds AsyncKernelManager.cleanup_resources to the base class's coroutine, and nbclient calls
    # it directly when the kernel is already dead: route it through the cleanup above.
    cleanup_resources = _async_cleanup_resources


class SandboxedKernelManager(PrivateKernelManager):
    """A kernel manager whose kernels start inside ``bwrap`` (see the module docstring), over ipc sockets.

    The kernel's runtime folder (connection file, ipc sockets) is a fresh temporary folder per kernel; the
    writable working folder is the kernel's working directory (nbclient's ``cwd``); ``writable`` and ``readable``
    add folders (the judge's evidence outbox, its probe inbox). Each kernel runs in a memory cgroup of its own
    (``autograder.grade.cgroup``) when the machine allows one. ``events`` records, once the kernel is gone, the limits
    that were in force and whether the cgroup's limit killed it.
    """

    max_processes = Integer(help="RLIMIT_NPROC of the kernel's uid (processes and threads); SandboxedExecute sets "
                            "it from its own max_processes").tag(config=True)
    readable = TList(Unicode(), help="extra read-only folders mounted in the sandbox").tag(config=True)
    writable = TList(Unicode(), help="extra writable folders mounted in the sandbox").tag(config=True)
    devices = TList(Unicode(), help="device files bound into the sandbox (e.g. /dev/nvidia0)").tag(config=True)
    memory_bytes = Integer(0, help="memory cgroup limit of the kernel, tmpfs and shared memory included (0: none)")
    tmp_bytes = Integer(0, help="size of the sandbox's /tmp and /dev/shm (0: bubblewrap's default)")
    file_bytes = Integer(0, help="RLIMIT_FSIZE of the kernel (0: none)")

    @default("max_processes")
    def _default_max_processes(self) -> int:
        return default_max_processes()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cgroup = None
        self.events: dict = {}

    def limits_in_force(self) -> dict:
        """The limits this kernel runs under, for the result (which ones the machine allowed)."""
        from autograder.grade import cgroup

        return {"cgroup": self.cgroup.description if self.cgroup else None,
                "cgroup_unavailable": None if self.cgroup else (cgroup.unavailable_reason() if self.memory_bytes
                                                               else "sin límite de memoria configurado"),
                "tmp_mb": self.tmp_bytes // 1024**2, "file_mb": self.file_bytes // 1024**2,
                "max_processes": self.max_processes}

    def format_kernel_cmd(self, extra_arguments=None):
        from autograder.grade.cgroup import KernelCgroup

        command = super().format_kernel_cmd(extra_arguments)
        cwd = Path(self._launch_args.get("cwd") or os.getcwd())
        # the data folder is bound, and named to the kernel, at its resolved path: one reached through a link (or
        # under the host's /tmp, which the sandbox replaces) is found there
        data = os.environ.get("VAE_DATA_DIR") and str(Path(os.environ["VAE_DATA_DIR"]).resolve())
        if self.cgroup is None and self.memory_bytes:
            self.cgroup = KernelCgroup.create(self.memory_bytes)
        spec = SandboxSpec(writable=[cwd, self.runtime_dir, *self.writable],
                           readable=[*(p for p in [data] if p), *self.readable],
                           env={"VAE_DATA_DIR": data} if data else {},
                           cwd=cwd, max_processes=self.max_processes, devices=list(self.devices) or gpu_devices(),
                           tmp_bytes=self.tmp_bytes, file_bytes=self.file_bytes,
                           prefix=self.cgroup.enter_argv() if self.cgroup else [])
        return bwrap_command(spec, command)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and not self.events:  # once: after a shutdown, or when nbclient found the kernel dead
            self.events = {"limits": self.limits_in_force(), "oom_killed": False}
            if self.cgroup is not None:
                self.cgroup.kill_all()  # nothing of the kernel outlives it (the PID namespace does the same)
                self.events.update(oom_killed=self.cgroup.oom_killed(), peak_mb=self.cgroup.peak() // 1024**2)
                self.cgroup.remove()
                self.cgroup = None
            cwd = self._launch_args.get("cwd") if isinstance(self._launch_args, dict) else None
            if cwd:
                restore_owner(Path(cwd))  # lchown only: the kernel is gone, its links are not followed

    cleanup_resources = _async_cleanup_resources
