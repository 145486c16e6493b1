"""`make bench`: run every benchmark in this folder and print each one's result.

train_speed.py (vae_lib's conv VAE vs the keras.io example) always; grading_speed.py when it exists.
Each runs in its own process (so one's threads and memory do not disturb the other); results also land
in benchmarks/results/*.json. train_speed.py runs pinned to one core (`taskset -c 0`), because 2-thread wall
timings on these shared VMs vary up to 2x while pinned ones are stable (BENCH_PIN=0 turns pinning off);
grading_speed.py is never pinned, since it compares 1 against 2 parallel workers.
Extra arguments for train_speed.py can be passed in BENCH_TRAIN_ARGS (e.g. "--images 60000 --epochs 5");
BENCH_ONLY=train_speed (or grading_speed) runs just that one.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _command(script: Path, extra=()):
    command = [sys.executable, str(script), *extra]
    pin = script.stem == "train_speed" and os.environ.get("BENCH_PIN", "1") != "0"
    if pin and shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    return command


def main() -> int:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    benchmarks = [(HERE / "train_speed.py", shlex.split(os.environ.get("BENCH_TRAIN_ARGS", "")))]
    if (HERE / "grading_speed.py").is_file():
        benchmarks.append((HERE / "grading_speed.py", []))
    only = os.environ.get("BENCH_ONLY")
    if only:
        benchmarks = [(script, extra) for script, extra in benchmarks if script.stem == only]
    failures = 0
    for script, extra in benchmarks:
        print(f"== {script.name} ==", flush=True)
        code = subprocess.call(_command(script, extra), cwd=HERE.parent, env=env)
        if code != 0:
            print(f"{script.name} FAILED (exit {code})", flush=True)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
