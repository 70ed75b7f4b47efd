"""Peak memory of one training step at GPT-2's shapes: `make bench-memory`.

Makes random-weight models of GPT-2's four shapes under benchmarks/.work/models (kept between
runs) and trains each for two steps of batch 1 x 1024 tokens, once per setting, each in a fresh
process: plain gpt-2-simple with its defaults and with accumulate_gradients=1, and titlegen with
its memory-saving settings. Each child reports its peak resident memory (ru_maxrss) after
loading and after each step, and the time of steps 1 and 2; this process watches the child's
resident memory and stops it at --cap instead of letting the machine swap. Results are kept in
benchmarks/.work/memory.json, so a run of a few shapes or rows updates the table, which is
written between the memory markers of BENCHMARKS.md.

    python benchmarks/memory.py [--only 124M,355M] [--rows plain,plain-1,a,b,c,d] [--cap 19]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # benchmarks/ is not a package: found by the path above

WORK = bench.WORK
RESULTS = WORK / "memory.json"
DATASET = WORK / "random-tokens.npz"
RUNS = WORK / "memory-runs"  # each child's run folder, removed after it
GB = 1e9  # decimal gigabytes, as "1558M = 6.2 GB of weights"
CAP_GB = 19.0  # the child is stopped above this resident size: the machine has 24 GB, no swap
MIN_FREE_GB = 1.0  # ...or when the machine's available memory falls below this (shared machine)
STEPS = 2  # step 1 includes TensorFlow's first run of the graph; step 2 is the steady state
POLL = 0.2  # seconds between looks at the child's resident memory
TIMEOUT = 3600  # seconds for one child, whatever happens
SHORT = "machine short of memory"  # a child stopped for other work's memory, not its own

# name: (n_layer, n_embd, n_head); n_ctx 1024 and n_vocab 50257 for all. The folders are not
# called "355M" etc.: gpt-2-simple's finetune turns use_memory_saving_gradients on for any
# model_name but 117M/124M and then exit()s on TensorFlow 2 (see BENCHMARKS.md).
SHAPES = {
    "124M": (12, 768, 12),
    "355M": (24, 1024, 16),
    "774M": (36, 1280, 20),
    "1558M": (48, 1600, 25),
}

# The goals: peak RSS of one step, batch 1 x 1024, on a CPU; checkpointing's cost.
PEAK_GOALS = {
    ("355M", "c"): "<= 1/2.5 of plain's defaults",
    ("774M", "c"): "<= 9 GB",
    ("1558M", "c"): "<= 16 GB",
}
MAX_SLOWDOWN = 1.4
SLOWDOWN_GOAL = f"time <= {MAX_SLOWDOWN}x (a)'s"

CHECKPOINTING = {"gradient_checkpointing": True}
TARGET = {**CHECKPOINTING, "optimizer": "adafactor", "only_train_transformer_layers": True}


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    plain: bool
    options: dict = field(default_factory=dict)
    shapes: tuple[str, ...] = tuple(SHAPES)


PLAIN_ROWS = ("plain", "plain-1")
ROWS = (
    Row("plain", "plain gpt-2-simple, its defaults: Adam, a step = 5 accumulated batches", True),
    Row("plain-1", "plain gpt-2-simple, accumulate_gradients=1", True, {"accumulate_gradients": 1}),
    Row("a", "titlegen (a): Adam, no checkpointing", False, {"optimizer": "adam"}),
    Row("b", "titlegen (b): + gradient checkpointing", False, CHECKPOINTING),
    Row("c", "titlegen (c): checkpointing + Adafactor + transformer layers only", False, TARGET),
    Row("d", "titlegen (d): (c), last 12 blocks only", False, {**TARGET, "train_layers": 12},
        ("774M", "1558M")),
)  # fmt: skip

# --- the children: each prints one JSON line per phase (built, restored, step 1, step 2) -------

PRELUDE = """
import json, os, resource, sys, time
a = json.loads(sys.argv[1])

def rss():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmRSS:"))

def mark(phase, **more):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux
    line = {"phase": phase, "peak": peak, "rss": rss(), "t": time.perf_counter(), **more}
    print(json.dumps(line), file=sys.__stdout__, flush=True)

def watch_restore(tf):
    # Both sides initialise every variable, then restore the checkpoint over them: the peak
    # before and after the restore tells what loading costs.
    restore = tf.compat.v1.train.Saver.restore
    def marked(self, *args, **kwargs):
        mark("built")
        done = restore(self, *args, **kwargs)
        mark("restored")
        return done
    tf.compat.v1.train.Saver.restore = marked
"""

PLAIN_STEP = (
    PRELUDE
    + """
import contextlib, io, random, re
import numpy as np
import gpt_2_simple as gpt2
watch_restore(gpt2.tf)
random.seed(1)
np.random.seed(1)
gpt2.tf.compat.v1.set_random_seed(1)

class Steps(io.TextIOBase):
    # gpt-2-simple prints its progress: "[step | seconds] loss=..."
    def write(self, text):
        found = re.match(r"\\[(\\d+) \\| ([\\d.]+)\\] loss=([\\d.]+)", text)
        if found:
            step = int(found[1])
            mark(f"step {step}", elapsed=float(found[2]), loss=float(found[3]))
            if step == a["steps"]:
                os._exit(0)  # before finetune saves a checkpoint the size of the model
        return len(text)

with contextlib.redirect_stdout(Steps()):
    session = gpt2.start_tf_sess()
    gpt2.finetune(session, a["dataset"], steps=a["steps"], model_name=a["model"],
                  model_dir=a["model_dir"], checkpoint_dir=a["checkpoint_dir"], run_name="plain",
                  restore_from="fresh", print_every=1, save_every=10**9, sample_every=10**9,
                  **a["options"])
"""
)

TITLEGEN_STEP = (
    PRELUDE
    + """
import dataclasses
from pathlib import Path
from titlegen import runtime, training
watch_restore(runtime.tensorflow())
known = {f.name for f in dataclasses.fields(training.TrainOptions)}
options = dict(model=a["model"], model_dir=Path(a["model_dir"]),
               checkpoint_dir=Path(a["checkpoint_dir"]), run_name="titlegen", steps=a["steps"],
               restore_from="fresh", accumulate_gradients=1, print_every=1, save_every=10**9,
               precision="fp32", seed=1, **a["options"])
if "memory" in known:
    options["memory"] = "off"  # the settings asked for, not the ones titlegen would choose
unknown = sorted(set(options) - known)
if unknown:
    print(json.dumps({"phase": "error", "error": f"titlegen has no option {unknown}"}))
    sys.exit(0)

def progress(p):
    mark(f"step {p.step}", elapsed=p.elapsed, loss=p.loss)
    if p.step == a["steps"]:
        os._exit(0)  # before train saves a checkpoint the size of the model

training.train(Path(a["dataset"]), options, on_progress=progress)
"""
)


MAKE_MODEL = f"""
import sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import run
run.make_shaped(Path(sys.argv[1]), *map(int, sys.argv[2:]))
"""


def log(text: str) -> None:
    bench.log(text)


# --- setup: models and data, made once --------------------------------------------------------


def model_name(shape: str) -> str:
    return f"shape-{shape}"


def setup(shapes: list[str]) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    if not (WORK / "titles.csv").is_file():  # the vocabulary of the models is learned from it
        sample = str(bench.ROOT / "data" / "sample")
        bench.titlegen("fetch", "--source", sample, "--per-subreddit", "100", "-o", "titles.csv")
    for shape in shapes:
        folder = WORK / "models" / model_name(shape)
        if not (folder / "checkpoint").is_file():
            log(f"writing a {shape}-shaped model with random weights to {folder}")
            # In a child: the parent stays small while the children are measured.
            shape_args = [str(folder), *(str(n) for n in SHAPES[shape])]
            subprocess.run([sys.executable, "-c", MAKE_MODEL, *shape_args], check=True, cwd=WORK)
    if not DATASET.is_file():
        import numpy as np

        # gpt-2-simple's load_dataset reads every array of an .npz as a chunk of token ids;
        # titlegen reads them the same way. 64 windows of 1,024 random ids.
        tokens = np.random.default_rng(0).integers(0, 50257, 64 * 1024, dtype=np.int32)
        np.savez(DATASET, tokens)


# --- one measurement --------------------------------------------------------------------------


def measure(shape: str, row: Row, cap: float) -> dict:
    """Train the shape for STEPS steps in a child process with the row's settings."""
    code = PLAIN_STEP if row.plain else TITLEGEN_STEP
    env = dict(bench.PLAIN_ENV if row.plain else os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    shutil.rmtree(RUNS, ignore_errors=True)
    args = {"dataset": str(DATASET), "model": model_name(shape), "model_dir": "models",
            "checkpoint_dir": str(RUNS), "steps": STEPS, "options": row.options}  # fmt: skip
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(args)], stdout=out, stderr=err, env=env,
            cwd=WORK,
        )  # fmt: skip
        seen, stopped = watch(child, cap)
        out.seek(0)
        err.seek(0)
        lines = [json.loads(line) for line in out.read().splitlines() if line.startswith("{")]
        errors = err.read()
    shutil.rmtree(RUNS, ignore_errors=True)
    phases = {line["phase"]: line for line in lines}
    result = {"shape": shape, "row": row.key, "date": time.strftime("%Y-%m-%d %H:%M"),
              "commit": commit(), "load_average": round(load, 2), "seen": seen,
              "phases": phases}  # fmt: skip
    if "error" in phases:
        result["error"] = phases["error"]["error"]
    elif stopped:
        result["stopped"] = f"{stopped} during {next_phase(phases)}"
        result["cap"] = cap
    elif f"step {STEPS}" not in phases:
        result["error"] = f"exit {child.returncode}: {errors.strip()[-1500:]}"
    return result


def commit() -> str:
    """The titlegen measured: its commit, and whether src/ had changes not committed."""
    git = ["git", "-C", str(bench.ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True, text=True)
    return head.stdout.strip() + (" with changes" if changed.stdout.strip() else "")


def watch(child: subprocess.Popen, cap: float) -> tuple[int, str]:
    """Wait for the child, reading its resident memory every POLL seconds; stop it above
    ``cap`` or when the machine runs short. Returns the largest resident size seen and why it
    was stopped (empty if it was not)."""
    seen, stopped, start = 0, "", time.monotonic()
    while child.poll() is None:
        rss = status_bytes(child.pid, "VmRSS")
        seen = max(seen, rss)
        if rss > cap:
            stopped = f"> {cap / GB:.0f} GB"
        elif available() < MIN_FREE_GB * GB:
            stopped = f"{SHORT} at {rss / GB:.1f} GB"
        elif time.monotonic() - start > TIMEOUT:
            stopped = f"over {TIMEOUT} s"
        if stopped:
            child.kill()
            child.wait()
            break
        time.sleep(POLL)
    return seen, stopped


def status_bytes(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith(key))
    except (OSError, StopIteration):
        return 0  # the child has just ended


def available() -> float:
    with open("/proc/meminfo") as info:
        return next(int(line.split()[1]) * 1024 for line in info if line.startswith("MemAvail"))


def next_phase(phases: dict) -> str:
    """Where a stopped child was: after its last reported phase."""
    if "built" not in phases:
        return "graph building and initialisation"
    if "restored" not in phases:
        return "the checkpoint's restore"
    steps = [n for n in range(1, STEPS + 1) if f"step {n}" in phases]
    return f"step {max(steps, default=0) + 1}"


# --- the report -------------------------------------------------------------------------------


def peak(result: dict | None) -> float | None:
    """The peak resident size by the end of the last step, in GB; None if not measured. Step 2,
    not step 1: the second step's peak is higher (124M: 8.0 GB against 6.7 GB after step 1),
    and steps 3 and 4 add nothing to it."""
    phases = (result or {}).get("phases", {})
    if f"step {STEPS}" not in phases:
        return None
    return phases[f"step {STEPS}"]["peak"] / GB


def step_time(result: dict, step: int) -> float | None:
    phases = result.get("phases", {})
    if f"step {step}" not in phases:
        return None
    before = phases[f"step {step - 1}"]["elapsed"] if step > 1 else 0.0
    return phases[f"step {step}"]["elapsed"] - before


def show_peak(result: dict | None) -> str:
    if result is None:
        return "not measured"
    if "error" in result:
        return "failed"
    if "stopped" in result:
        return f"{result['stopped']} (stopped)"
    return f"{peak(result):.2f}"


def show_phases(result: dict | None) -> str:
    """The peak by the end of each phase before the last: init, restore, step 1."""
    phases = (result or {}).get("phases", {})
    names = ["built", "restored"] + [f"step {n}" for n in range(1, STEPS)]
    return " / ".join(f"{phases[n]['peak'] / GB:.1f}" if n in phases else "-" for n in names)


def show_time(result: dict | None) -> str:
    if not result or step_time(result, STEPS) is None:
        return "-"
    return f"{step_time(result, 1):.1f} / {step_time(result, STEPS):.1f}"


def compare(shape: str, key: str, found: dict) -> tuple[str, str]:
    """The row's comparison, and its goal with whether it is met."""
    this = found.get((shape, key))
    if key == "plain":
        seconds = step_time(this, STEPS) if this else None
        return (f"{seconds / 5:.1f} s per batch" if seconds else ""), ""
    if key == "b":
        base = found.get((shape, "a"))
        times = [step_time(r, STEPS) if r else None for r in (this, base)]
        if None in times:
            return "", SLOWDOWN_GOAL
        slowdown = times[0] / times[1]
        return f"time {slowdown:.2f}x (a)'s", met(slowdown <= MAX_SLOWDOWN, SLOWDOWN_GOAL)
    goal = PEAK_GOALS.get((shape, key), "")
    if key not in ("c", "d") or peak(this) is None:
        return "", goal
    plain_result = found.get((shape, "plain"))
    plain = peak(plain_result)  # or, if it was stopped, at least the cap:
    stopped = plain_result and "stopped" in plain_result
    bound = plain_result.get("cap", CAP_GB * GB) / GB if stopped else plain
    text = f"1/{plain / peak(this):.1f} of plain's defaults" if plain else ""
    if stopped:
        text = f"< 1/{bound / peak(this):.1f} of plain's defaults (stopped at {bound:.0f} GB)"
    if goal.endswith(" GB"):
        ok = peak(this) <= float(goal.split()[1])
    else:
        ok = bound is not None and peak(this) <= bound / 2.5
    return text, met(ok, goal) if goal else ""


def met(ok: bool, goal: str) -> str:
    return f"{goal}: {'met' if ok else '**not met**'}"


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("titlegen", "gpt-2-simple", "tensorflow")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM, no swap; Python "
        f"{platform.python_version()}; {versions}"
    )


def report(results: dict) -> str:
    found = {(r["shape"], r["row"]): r for r in results.values()}
    dates = sorted(r["date"][:10] for r in results.values())
    loads = [r["load_average"] for r in results.values()]
    lines = [
        f"Measured {dates[0]}{'' if dates[0] == dates[-1] else ' to ' + dates[-1]} by "
        f"`make bench-memory` on {machine()}. One fresh process per row; batch 1 x 1024 tokens, "
        f"float32, random weights, {STEPS} steps. GB = 10^9 bytes.",
        "",
        f"| shape | setting | peak RSS, GB | by the end of init / restore / step 1, GB | "
        f"s, step 1 / step {STEPS} | compared | goal |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for shape in SHAPES:
        for row in ROWS:
            if shape not in row.shapes:
                continue
            result = found.get((shape, row.key))
            if result is None and not any(s == shape for s, _ in found):
                continue
            text, goal = compare(shape, row.key, found)
            lines.append(
                f"| {shape} | {row.label} | {show_peak(result)} | {show_phases(result)} | "
                f"{show_time(result)} | {text} | {goal} |"
            )
    lines += [
        "",
        f"- Load average (1 min) when the rows started: {min(loads):.1f}-{max(loads):.1f} on "
        f"{os.cpu_count()} cores. Peak memory does not depend on other work on the machine; "
        "step times do, and were measured on a machine shared with other work.",
    ]
    ours = [r for r in results.values() if r["row"] not in PLAIN_ROWS]
    commits = sorted({r["commit"] for r in ours if "commit" in r})
    unknown = [f"{r['shape']} ({r['row']})" for r in ours if "commit" not in r]
    lines.append(
        f"- titlegen measured at commit {', '.join(commits)} (other work was landing meanwhile)"
        + (f"; not recorded for {', '.join(unknown)}, measured earlier." if unknown else ".")
    )
    failed = [r for r in results.values() if "error" in r]
    lines += [f"- {r['shape']} {r['row']} failed: {r['error'].splitlines()[-1]}" for r in failed]
    return "\n".join(lines)


def write(table: str) -> None:
    path = bench.ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- memory:start -->", "<!-- memory:end -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n{table}\n{end}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SHAPES), help="shapes, e.g. 124M,355M")
    parser.add_argument("--rows", default=",".join(r.key for r in ROWS), help="e.g. plain,a,c")
    parser.add_argument("--cap", type=float, default=CAP_GB, help="GB a child may reach")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--report", action="store_true", help="only write the kept results")
    args = parser.parse_args()
    shapes, keys = args.only.split(","), args.rows.split(",")
    unknown = sorted(set(shapes) - set(SHAPES)) + sorted(set(keys) - {r.key for r in ROWS})
    if unknown:
        parser.error(f"unknown shapes or rows: {', '.join(unknown)}")
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if not args.report:
        setup(shapes)
        measure_all(shapes, keys, args.cap * GB, results)
    table = report(results)
    print(table)
    if not args.no_write:
        write(table)


def measure_all(shapes: list[str], keys: list[str], cap: float, results: dict) -> None:
    """Measure the rows in ``keys`` at ``shapes``, adding each result to ``results`` (and to
    RESULTS, at once: an interrupted run keeps what it measured)."""
    for shape in shapes:
        for row in ROWS:
            if row.key not in keys or shape not in row.shapes:
                continue
            log(f"{shape}: {row.label}")
            result = measure(shape, row, cap)
            if SHORT in result.get("stopped", ""):  # other work took the memory: once more
                log(f"{shape} {row.key}: {result['stopped']}; again in a minute")
                time.sleep(60)
                result = measure(shape, row, cap)
            key = f"{shape}/{row.key}"
            if SHORT in result.get("stopped", "") and key in results:
                log(f"{shape} {row.key}: {result['stopped']} again; the earlier result is kept")
                continue
            results[key] = result
            RESULTS.write_text(json.dumps(results, indent=1))
            log(f"{shape} {row.key}: peak, GB: {show_peak(result)}; s/step {show_time(result)}")


if __name__ == "__main__":
    main()
