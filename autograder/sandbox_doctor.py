"""Why bubblewrap cannot make a sandbox on this machine, and the fix that applies here (Spanish, for the TA).

``sandbox.check_available`` runs a trivial ``bwrap`` probe; when it fails, ``explain(bwrap, stderr)`` reads the
machine (``MachineState.read``) and names one cause:

- ``no-bwrap``: bubblewrap is not installed;
- ``container``: this process runs in a container or inside another user namespace (Docker, Podman, Kubernetes,
  LXC, a nested sandbox) that forbids what bwrap needs (namespaces, mounting ``/proc``): the container's options;
- ``apparmor``: Ubuntu ≥ 23.10 restricts unprivileged user namespaces with AppArmor
  (``kernel.apparmor_restrict_unprivileged_userns = 1``): the AppArmor profile vaekit ships, or the sysctl;
- ``debian-sysctl``: Debian's ``kernel.unprivileged_userns_clone = 0``;
- ``userns-limit``: ``user.max_user_namespaces = 0`` (RHEL and hardened kernels);
- ``unknown``: bwrap's own message, and how to try the probe by hand.

Only the reading of a failed probe is classified: a container marker alone means nothing (bwrap works in many
containers, e.g. one run with ``--privileged``). ``python -m autograder.sandbox_doctor`` prints the diagnosis.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.notebooks import REPO_ROOT

APPARMOR_PROFILE = REPO_ROOT / "deploy" / "apparmor" / "vaekit-bwrap"
PROBE = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--unshare-net",
         "--die-with-parent", "true"]
NO_SANDBOX = ("Para calificar sin aislamiento (no recomendado), usa `--no-sandbox`: las notas quedarán marcadas "
              "como calificadas sin sandbox.")
FULL_UID_MAP = ("0", "0", "4294967295")  # the initial user namespace: every uid maps to itself


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


@dataclass(frozen=True)
class MachineState:
    """What decides whether bwrap can make namespaces here (None: the file does not exist on this kernel)."""

    uid: int
    userns_clone: str | None = None  # /proc/sys/kernel/unprivileged_userns_clone (Debian)
    apparmor_restrict: str | None = None  # /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu ≥ 23.10)
    max_user_namespaces: str | None = None  # /proc/sys/user/max_user_namespaces
    apparmor_active: bool = False  # /sys/kernel/security/apparmor exists
    container: tuple[str, ...] = field(default_factory=tuple)  # the markers seen, e.g. ("/.dockerenv",)

    @classmethod
    def read(cls, root: str = "/", environ=None) -> "MachineState":
        """This machine's state; ``root`` prefixes every path (for reading another tree)."""
        environ = os.environ if environ is None else environ
        at = lambda p: Path(root) / p.lstrip("/")  # noqa: E731
        markers = [p for p in ("/.dockerenv", "/run/.containerenv") if at(p).exists()]
        if environ.get("KUBERNETES_SERVICE_HOST"):
            markers.append("KUBERNETES_SERVICE_HOST")
        if environ.get("container"):  # systemd's convention: podman, lxc, systemd-nspawn set it
            markers.append(f"container={environ['container']}")
        cgroup = _read(at("/proc/1/cgroup")) or ""
        for word in ("kubepods", "docker", "containerd", "libpod", "lxc"):
            if word in cgroup:
                markers.append(f"/proc/1/cgroup: {word}")
                break
        uid_map = (_read(at("/proc/self/uid_map")) or "").split()
        if uid_map and tuple(uid_map[:3]) != FULL_UID_MAP:  # inside a user namespace: a container or a sandbox
            markers.append("uid_map: " + " ".join(uid_map[:3]))
        return cls(uid=os.geteuid(), userns_clone=_read(at("/proc/sys/kernel/unprivileged_userns_clone")),
                   apparmor_restrict=_read(at("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")),
                   max_user_namespaces=_read(at("/proc/sys/user/max_user_namespaces")),
                   apparmor_active=at("/sys/kernel/security/apparmor").is_dir(), container=tuple(markers))

    @property
    def nested_userns(self) -> bool:
        return any(m.startswith("uid_map:") for m in self.container)


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # no-bwrap, container, apparmor, debian-sysctl, userns-limit, unknown
    text: str  # Spanish: the cause, what to do here, then the --no-sandbox note


def _container_text(state: MachineState, detail: str) -> str:
    seen = ", ".join(state.container)
    nested = (" Este proceso ya está en un espacio de nombres de usuario propio (un contenedor sin root o un sandbox "
              "como `bwrap --disable-userns`): tiene que permitir anidar otro, o califica fuera de él."
              if state.nested_userns else "")
    return (f"bubblewrap no puede crear un sandbox: este proceso corre dentro de un contenedor o de otro espacio de "
            f"nombres de usuario ({seen}) que no le deja crear espacios de nombres ni montar /proc ({detail}).{nested} "
            "El contenedor necesita: en Docker, `docker run --security-opt seccomp=unconfined --security-opt "
            "apparmor=unconfined --cap-add SYS_ADMIN …` (o `--privileged`); en Podman, además "
            "`--security-opt label=disable` si hay SELinux; en Kubernetes, en el securityContext del contenedor "
            "`seccompProfile: {type: Unconfined}`, `appArmorProfile: {type: Unconfined}` y `procMount: Unmasked` "
            "(con `hostUsers: false` en el pod), o `privileged: true`. También puedes calificar fuera del "
            "contenedor: arranca los trabajadores de Dask (`dask worker`) en una máquina o VM con bubblewrap y usa "
            "`--scheduler`.")


def classify(stderr: str, state: MachineState, bwrap: str | None = "bwrap") -> Diagnosis:
    """The cause of a failed bwrap probe (``stderr``: bwrap's message) on a machine in ``state``."""
    if bwrap is None:
        return Diagnosis("no-bwrap", "No se encontró bubblewrap (`bwrap`), necesario para aislar las entregas. "
                                     "Instálalo: `sudo apt-get install bubblewrap` (Debian/Ubuntu), "
                                     f"`sudo dnf install bubblewrap` (Fedora/RHEL) o `make sandbox`. {NO_SANDBOX}")
    lines = [ln.strip() for ln in (stderr or "").strip().splitlines() if ln.strip()]
    detail = lines[-1] if lines else "sin mensaje"
    unprivileged = state.uid != 0
    if state.container:
        return Diagnosis("container", f"{_container_text(state, detail)} {NO_SANDBOX}")
    if unprivileged and state.apparmor_restrict == "1":
        return Diagnosis("apparmor", (
            f"bubblewrap no puede crear un sandbox ({detail}): este sistema (Ubuntu 23.10 o posterior) restringe con "
            "AppArmor los espacios de nombres de usuario sin privilegios "
            "(kernel.apparmor_restrict_unprivileged_userns = 1) y bwrap no tiene un perfil que se lo permita. "
            f"Dos salidas: (1) el perfil de AppArmor para bwrap que trae vaekit, `make sandbox` lo instala "
            f"(o a mano: `sudo install -m 644 {APPARMOR_PROFILE} /etc/apparmor.d/vaekit-bwrap && sudo "
            "apparmor_parser -r /etc/apparmor.d/vaekit-bwrap`); (2) quitar la restricción en todo el sistema: "
            "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (y, para que dure, esa línea en "
            f"/etc/sysctl.d/60-userns.conf). {NO_SANDBOX}"))
    if unprivileged and state.userns_clone == "0":
        return Diagnosis("debian-sysctl", (
            f"bubblewrap no puede crear un sandbox ({detail}): el núcleo no permite espacios de nombres de usuario "
            "sin privilegios (kernel.unprivileged_userns_clone = 0). Actívalos: `sudo sysctl -w "
            "kernel.unprivileged_userns_clone=1` (y, para que dure, esa línea en /etc/sysctl.d/60-userns.conf). "
            f"{NO_SANDBOX}"))
    if state.max_user_namespaces == "0":
        return Diagnosis("userns-limit", (
            f"bubblewrap no puede crear un sandbox ({detail}): los espacios de nombres de usuario están desactivados "
            "(user.max_user_namespaces = 0). Actívalos: `sudo sysctl -w user.max_user_namespaces=15000` (y, para que "
            f"dure, esa línea en /etc/sysctl.d/60-userns.conf). {NO_SANDBOX}"))
    return Diagnosis("unknown", (
        f"bubblewrap no puede crear un sandbox en esta máquina ({detail}). Prueba a mano `bwrap "
        f"{' '.join(PROBE)}` para ver el error completo; `python -m autograder.sandbox_doctor` repite este "
        f"diagnóstico. {NO_SANDBOX}"))


def probe(bwrap: str) -> subprocess.CompletedProcess:
    """The trivial sandbox ``check_available`` runs: read-only system, own /dev, /proc, PID and network namespace."""
    return subprocess.run([bwrap, *PROBE], capture_output=True, text=True)


def explain(bwrap: str | None, stderr: str = "") -> str:
    """The Spanish message for a failed probe on this machine (``bwrap`` None: not installed)."""
    return classify(stderr, MachineState.read(), bwrap).text


def main() -> int:
    bwrap = shutil.which("bwrap")
    result = probe(bwrap) if bwrap else None
    if result is not None and result.returncode == 0:
        print(f"bubblewrap funciona aquí ({bwrap}): las entregas se califican en un sandbox.")
        return 0
    state = MachineState.read()
    diagnosis = classify(result.stderr if result else "", state, bwrap)
    print(f"[{diagnosis.kind}] {diagnosis.text}")
    print(f"(estado leído: {state})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
