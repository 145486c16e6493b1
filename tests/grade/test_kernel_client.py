"""The grading kernels' client (``kernel_client.PromptKernelClient``) on real kernels, sandboxed and not: ready at the
kernel's answer (its idle status), not after a quiet IOPub, still refusing a kernel that died, and the first cell's
output intact (nbclient reads it after the handshake)."""
from __future__ import annotations

import asyncio
import contextlib
import sys
from concurrent.futures import ThreadPoolExecutor
from queue import Empty

import pytest

from autograder.grade.kernel_client import PromptKernelClient
from autograder.grade.sandbox import PrivateKernelManager, SandboxedKernelManager, check_available


def _run(coro):
    """``asyncio.run(coro)`` in a thread of its own: an event loop that another test left running in this thread
    (a browser test's) does not get in the way."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _iopub_reads(kc) -> list[str]:
    """Patch ``kc``'s IOPub reads to record each one: the message's type, or "silence" for a read that timed out."""
    reads: list[str] = []
    read = kc.iopub_channel.get_msg

    async def recorded(timeout=None):
        try:
            msg = await read(timeout=timeout)
        except Empty:
            reads.append("silence")
            raise
        reads.append(f"{msg['msg_type']}:{msg['content'].get('execution_state', '')}")
        return msg

    kc.iopub_channel.get_msg = recorded
    return reads


@contextlib.asynccontextmanager
async def _client(manager_class, folder):
    """A started kernel of ``manager_class`` (cwd ``folder``) and its client with channels open; both end after."""
    km = manager_class(kernel_name="python3")
    await km.start_kernel(cwd=str(folder))
    try:
        kc = km.client()
        assert isinstance(kc, PromptKernelClient)
        kc.start_channels()
        yield kc
        kc.stop_channels()
    finally:
        await km.shutdown_kernel(now=True)


async def _start_and_run(manager_class, folder) -> tuple[list[str], dict, str]:
    """Start a kernel, wait until ready, run ``print(6 * 7)``: (IOPub reads until ready, execute reply, stdout)."""
    async with _client(manager_class, folder) as kc:
        reads = _iopub_reads(kc)
        await kc.wait_for_ready(timeout=60)
        reads = list(reads)
        outputs: list[dict] = []
        reply = await kc.execute_interactive("print(6 * 7)", timeout=30, output_hook=outputs.append)
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        return reads, reply["content"], text


@pytest.mark.parametrize("sandboxed", [False, True], ids=["no_sandbox", "sandbox"])
def test_ready_at_the_kernels_answer_without_waiting_for_silence(tmp_path, sandboxed):
    if sandboxed:
        check_available()
    reads, reply, text = _run(_start_and_run(SandboxedKernelManager if sandboxed else PrivateKernelManager, tmp_path))
    # ready on the kernel's idle status; jupyter_client's own wait ends with 0.2 s of IOPub silence. (Earlier reads
    # may be silences: the first request's status can go out before IOPub's subscription reached the kernel.)
    assert reads and reads[-1] == "status:idle", reads
    assert reply["status"] == "ok" and text == "42\n"


class DyingKernel(PrivateKernelManager):
    """A "kernel" that exits at once, before it could answer anything."""

    def format_kernel_cmd(self, extra_arguments=None):
        return [sys.executable, "-c", "import sys; sys.exit(3)"]


def test_a_kernel_that_dies_before_answering_is_reported(tmp_path):
    async def run():
        async with _client(DyingKernel, tmp_path) as kc:
            with pytest.raises(RuntimeError, match="died before replying"):
                await kc.wait_for_ready(timeout=30)

    _run(run())
