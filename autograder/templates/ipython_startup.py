# vaekit grading hook, loaded as an IPython startup file in each grading kernel (IPYTHONDIR set by vaekit).
# 1. Logs each cell before and after it runs (fsync'd), so that vaekit can tell which cell killed the kernel.
# 2. Replaces the cells vaekit asks to neutralise by an error with a Spanish explanation (the submitted
#    notebook itself is never modified).
import hashlib as _vk_hashlib
import json as _vk_json
import os as _vk_os
import time as _vk_time


def _vk_key(text):
    return _vk_hashlib.sha1(text.strip().encode("utf-8")).hexdigest()


def _vk_install():
    ip = get_ipython()  # noqa: F821 (IPython provides it to startup files)
    log_path = _vk_os.environ.get("VAEKIT_CELL_LOG")
    plan_path = _vk_os.environ.get("VAEKIT_NEUTRALISE")
    neutralise = {}
    if plan_path and _vk_os.path.exists(plan_path):
        with open(plan_path, encoding="utf-8") as f:
            neutralise = _vk_json.load(f)

    def log(event, text):
        if not log_path:
            return
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(_vk_json.dumps({"event": event, "key": _vk_key(text), "head": text.strip()[:300],
                                    "t": round(_vk_time.time(), 3)}) + "\n")
            f.flush()
            _vk_os.fsync(f.fileno())

    def pre_run_cell(info):
        log("start", info.raw_cell or "")

    def post_run_cell(result):
        log("end", result.info.raw_cell or "")

    def neutralise_cell(lines):
        reason = neutralise.get(_vk_key("".join(lines)))
        if reason is None:
            return lines
        message = ("vaekit: esta celda no se ejecutó al calificar porque " + reason +
                   ". El resto del cuaderno se calificó sin ella; corrígela y vuelve a entregar.")
        return ["raise RuntimeError(%r)\n" % message]

    ip.events.register("pre_run_cell", pre_run_cell)
    ip.events.register("post_run_cell", post_run_cell)
    ip.input_transformers_cleanup.insert(0, neutralise_cell)


_vk_install()
del _vk_install
