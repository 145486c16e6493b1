"""The grading kernel's client: jupyter_client's, ready as soon as the kernel is.

jupyter_client's ``wait_for_ready`` sends ``kernel_info`` until it is answered, then checks that IOPub is connected by
waiting for any IOPub message (up to 0.2 s) and then drains IOPub until it has been quiet for 0.2 s: every grading
kernel start waited those 0.2 s with nothing to do (~2 % of a homework submission's wall time, on the cores of a
machine that grades). ``PromptKernelClient`` asks the same question and stops at its answer: the kernel replied to
a ``kernel_info`` request on the shell channel AND that request's ``idle`` status came through IOPub (so IOPub is
subscribed, and every message of the request has been read). The kernel sends that status right after its reply;
if it has not come within 50 ms (the first request's can go out before IOPub's subscription reached the kernel), it
asks again, and a late status of any request it made still counts. No student code has run yet when this happens;
nbclient then reads only the messages of its own requests.
"""
from __future__ import annotations

import math
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

IOPUB_WAIT_S = 0.05  # for the idle status after a reply, before asking again


class PromptKernelClient(AsyncKernelClient):
    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answered ``kernel_info`` on shell and its idle status arrived on IOPub; raises
        RuntimeError if the kernel dies first or ``timeout`` seconds pass (as jupyter_client)."""
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        asked: set[str] = set()
        while True:
            asked.add(self.kernel_info())
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and await self._iopub_idle(asked):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _iopub_idle(self, asked: set[str]) -> bool:
        """True once IOPub carries the ``idle`` status of one of the ``asked`` requests (within IOPUB_WAIT_S)."""
        until = time.monotonic() + IOPUB_WAIT_S
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                    and msg["parent_header"].get("msg_id") in asked):
                return True
        return False


__all__ = ["PromptKernelClient"]
