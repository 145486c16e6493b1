"""Why bubblewrap refuses, and the fix named for it (autograder/sandbox_doctor.py).

Real conditions made here: grading's refusal path (``sandbox.check_available``) runs inside an outer bubblewrap
sandbox that forbids nested user namespaces (``bwrap --unshare-user --disable-userns``), as root and as an
ordinary uid inside it (bwrap fails there with two different messages), and with no ``bwrap`` on the PATH. The
classifier is also checked on the readings of machines we cannot be (Ubuntu 24.04's AppArmor restriction, Debian's
sysctl, ``max_user_namespaces = 0``, Docker, Kubernetes), with the messages bwrap prints there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from autograder import sandbox_doctor as doctor
from autograder.notebooks import REPO_ROOT

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason="bubblewrap not installed (make sandbox)")

REFUSAL = """
from autograder.grade.sandbox import SandboxUnavailable, check_available
try:
    check_available()
    print("SANDBOX OK")
except SandboxUnavailable as error:
    print(error)
"""


def refusal_inside_nested_sandbox(uid: int) -> str:
    """check_available() run inside ``bwrap --unshare-user --disable-userns`` as ``uid``: what it says."""
    outer = [BWRAP, "--unshare-user", "--uid", str(uid), "--gid", str(uid), "--disable-userns",
             "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
             "--ro-bind", str(REPO_ROOT), str(REPO_ROOT), "--chdir", str(REPO_ROOT),  # a checkout under /tmp too
             "--", sys.executable, "-c", REFUSAL]
    proc = subprocess.run(outer, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@needs_bwrap
def test_the_sandbox_works_on_this_machine():
    assert doctor.probe(BWRAP).returncode == 0
    assert not doctor.MachineState.read().nested_userns


@needs_bwrap
@pytest.mark.parametrize("uid, bwrap_says", [(0, "Can't mount proc"), (1000, "Creating new namespace failed")])
def test_refusal_inside_a_sandbox_that_forbids_nested_user_namespaces(uid, bwrap_says):
    out = refusal_inside_nested_sandbox(uid)
    assert "SANDBOX OK" not in out
    assert bwrap_says in out  # bwrap's own message, quoted
    assert f"uid_map: {uid} 0 1" in out  # the marker that names the cause: an outer user namespace
    assert "contenedor" in out and "permitir anidar" in out
    assert "seccomp=unconfined" in out and "procMount: Unmasked" in out and "--scheduler" in out
    assert out.strip().endswith("calificadas sin sandbox.")
    assert "unprivileged_userns_clone" not in out  # not the Debian sysctl: that would be the wrong fix here


def test_refusal_without_bwrap_on_the_path():
    env = {**os.environ, "PATH": "/nonexistent"}
    proc = subprocess.run([sys.executable, "-c", REFUSAL], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          timeout=120)
    assert "No se encontró bubblewrap" in proc.stdout and "apt-get install bubblewrap" in proc.stdout
    assert "make sandbox" in proc.stdout and "--no-sandbox" in proc.stdout


@needs_bwrap
def test_doctor_command_inside_the_nested_sandbox():
    proc = subprocess.run([BWRAP, "--unshare-user", "--uid", "1000", "--disable-userns", "--ro-bind", "/", "/",
                           "--dev", "/dev", "--proc", "/proc", "--chdir", str(REPO_ROOT), "--",
                           sys.executable, "-m", "autograder.sandbox_doctor"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and proc.stdout.startswith("[container]"), proc.stdout + proc.stderr
    outside = subprocess.run([sys.executable, "-m", "autograder.sandbox_doctor"], capture_output=True, text=True,
                             cwd=REPO_ROOT, timeout=120)
    assert outside.returncode == 0 and "bubblewrap funciona aquí" in outside.stdout


# readings of machines we cannot be ------------------------------------------------------------------------------------
HOST = dict(uid=1000, userns_clone=None, apparmor_restrict=None, max_user_namespaces="63704", apparmor_active=False,
            container=())
UBUNTU_2404 = {**HOST, "apparmor_restrict": "1", "apparmor_active": True}
UID_MAP_DENIED = "bwrap: setting up uid map: Permission denied\n"
DEBIAN_DENIED = ("bwrap: No permissions to creating new namespace, likely because the kernel does not allow "
                 "non-privileged user namespaces. On e.g. debian this can be enabled with "
                 "'sysctl kernel.unprivileged_userns_clone=1'.\n")
SECCOMP_DENIED = "bwrap: Creating new namespace failed: Operation not permitted\n"


def test_ubuntu_apparmor_restriction_names_the_profile_and_the_sysctl():
    d = doctor.classify(UID_MAP_DENIED, doctor.MachineState(**UBUNTU_2404))
    assert d.kind == "apparmor"
    assert "setting up uid map: Permission denied" in d.text
    assert str(doctor.APPARMOR_PROFILE) in d.text and "apparmor_parser -r" in d.text and "make sandbox" in d.text
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in d.text
    assert "unprivileged_userns_clone" not in d.text


def test_debian_sysctl():
    d = doctor.classify(DEBIAN_DENIED, doctor.MachineState(**{**HOST, "userns_clone": "0"}))
    assert d.kind == "debian-sysctl" and "sysctl -w kernel.unprivileged_userns_clone=1" in d.text
    assert "apparmor" not in d.text.lower()


def test_user_namespaces_limited_to_zero():
    d = doctor.classify("bwrap: Creating new namespace failed: No space left on device\n",
                        doctor.MachineState(**{**HOST, "max_user_namespaces": "0"}))
    assert d.kind == "userns-limit" and "user.max_user_namespaces=15000" in d.text


@pytest.mark.parametrize("markers", [("/.dockerenv",), ("KUBERNETES_SERVICE_HOST", "/proc/1/cgroup: kubepods"),
                                     ("/run/.containerenv", "container=podman")])
def test_containers_say_what_the_container_needs(markers):
    # Docker on an Ubuntu 24.04 host: the host's restriction shows through /proc, but the container's options decide
    d = doctor.classify(SECCOMP_DENIED, doctor.MachineState(**{**UBUNTU_2404, "uid": 0, "container": markers}))
    assert d.kind == "container"
    for needed in ("seccomp=unconfined", "apparmor=unconfined", "procMount: Unmasked", "privileged: true",
                   "label=disable", "dask worker"):
        assert needed in d.text
    assert markers[0] in d.text


def test_root_is_not_told_about_unprivileged_namespaces():
    d = doctor.classify("bwrap: something else\n", doctor.MachineState(**{**UBUNTU_2404, "uid": 0}))
    assert d.kind == "unknown" and "bwrap: something else" in d.text and "sandbox_doctor" in d.text


def test_machine_state_reads_the_files_and_the_environment(tmp_path):
    for path, text in {"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n",
                       "proc/sys/user/max_user_namespaces": "0\n", "proc/1/cgroup": "0::/kubepods/burstable/pod1\n",
                       "proc/self/uid_map": "         0     100000      65536\n", ".dockerenv": ""}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "sys/kernel/security/apparmor").mkdir(parents=True)
    state = doctor.MachineState.read(str(tmp_path), environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert (state.apparmor_restrict, state.max_user_namespaces, state.userns_clone) == ("1", "0", None)
    assert state.apparmor_active and state.nested_userns
    assert state.container == ("/.dockerenv", "KUBERNETES_SERVICE_HOST", "/proc/1/cgroup: kubepods",
                               "uid_map: 0 100000 65536")


def test_apparmor_profile_and_its_installer():
    profile = doctor.APPARMOR_PROFILE.read_text()
    assert "abi <abi/4.0>," in profile and "profile vaekit-bwrap /usr/bin/bwrap flags=(unconfined) {" in profile
    assert "\n  userns,\n" in profile
    installer = doctor.APPARMOR_PROFILE.parent / "install.sh"
    assert "sh deploy/apparmor/install.sh" in (REPO_ROOT / "Makefile").read_text()  # `make sandbox` runs it
    proc = subprocess.run(["sh", str(installer)], capture_output=True, text=True, timeout=30)
    if shutil.which("apparmor_parser") is None or not os.path.isdir("/sys/kernel/security/apparmor"):
        assert proc.returncode == 0 and "AppArmor no está activo aquí" in proc.stdout  # nothing installed
