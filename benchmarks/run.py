"""titlegen against plain gpt-2-simple, side by side, on this machine: `make bench`.

Creates its own data and models under benchmarks/.work (kept between runs), then runs each
figure for plain gpt-2-simple and for titlegen alternately, each in a fresh process (plain
gpt-2-simple with TensorFlow's defaults, titlegen with its own), several times, and writes the
medians, spreads and ratios between the results markers of BENCHMARKS.md.

    python benchmarks/run.py [--repeats 3] [--only generate,train,encode,startup,gpt2] [--steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
BIN = Path(sys.executable).parent
START, END = "<|startoftext|>", "<|endoftext|>"
PLAIN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("TF_ENABLE_ONEDNN")}

# --- what each side runs, in its own process; each prints one JSON line -----------------------

PLAIN_GENERATE = """
import json, sys, time
import gpt_2_simple as gpt2
a = json.loads(sys.argv[1])
where = dict(run_name=a["run"], checkpoint_dir=a["checkpoint_dir"], model_name=a["model"],
             model_dir=a["model_dir"])
session = gpt2.start_tf_sess()
gpt2.load_gpt2(session, **where)
times = []
for _ in range(a["calls"]):
    start = time.perf_counter()
    out = gpt2.generate(session, **where, nsamples=a["nsamples"], batch_size=a["batch_size"],
                        length=a["length"], temperature=0.7, prefix=a["prefix"],
                        truncate=a["truncate"], include_prefix=False, return_as_list=True)
    times.append(time.perf_counter() - start)
print(json.dumps({"times": times, "count": len(out), "tokens": a["nsamples"] * a["length"]}))
"""

TITLEGEN_GENERATE = """
import json, sys, time
from pathlib import Path
from titlegen import sampling
a = json.loads(sys.argv[1])
folder = Path(a["model_dir"], a["model"]) if a["model"] else Path(a["checkpoint_dir"], a["run"])
generator = sampling.Generator(folder)
options = sampling.SampleOptions(nsamples=a["nsamples"], batch_size=a["batch_size"],
                                 length=a["length"], temperature=0.7)
times, tokens = [], 0
for _ in range(a["calls"]):
    start = time.perf_counter()
    if a["model"]:  # a random-weight model: count the tokens it samples, titles or not
        prompt = tuple(generator._context(""))
        rows = [sampling.Row(prompt, seed, 0.7, a["length"]) for seed in range(a["batch_size"])]
        out = generator.sample(rows, sampling.Kind(0, 0.0, None, 1))
        tokens, count = sum(len(row) for row in out), len(out)
    else:
        count = len(generator.generate(options))
    times.append(time.perf_counter() - start)
print(json.dumps({"times": times, "count": count, "tokens": tokens}))
"""

PLAIN_TRAIN = """
import json, re, sys, io, contextlib, random
import numpy as np
import gpt_2_simple as gpt2
a = json.loads(sys.argv[1])
random.seed(1)  # the windows sampled, as titlegen's --seed does
np.random.seed(1)
gpt2.tf.compat.v1.set_random_seed(1)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    session = gpt2.start_tf_sess()
    gpt2.finetune(session, a["dataset"], steps=a["steps"], model_name=a["model"],
                  model_dir=a["model_dir"], checkpoint_dir=a["checkpoint_dir"], run_name="plain",
                  restore_from="fresh", accumulate_gradients=1, batch_size=1, print_every=1,
                  save_every=10**9, sample_every=10**9)
lines = re.findall(r"\\[(\\d+) \\| ([\\d.]+)\\] loss=([\\d.]+)", out.getvalue())
elapsed, loss = [float(t) for _, t, _ in lines], [float(v) for *_, v in lines]
print(json.dumps({"elapsed": elapsed, "loss": loss}))
"""

TITLEGEN_TRAIN = """
import json, sys
from pathlib import Path
from titlegen import training
a = json.loads(sys.argv[1])
seen = []
options = dict(model=a["model"], model_dir=Path(a["model_dir"]),
    checkpoint_dir=Path(a["checkpoint_dir"]), run_name="titlegen", steps=a["steps"],
    restore_from="fresh", accumulate_gradients=1, print_every=1, save_every=10**9,
    precision=a["precision"], seed=1)
training.train(Path(a["dataset"]), options, on_progress=seen.append)
print(json.dumps({"elapsed": [p.elapsed for p in seen], "loss": [p.loss for p in seen]}))
"""

PLAIN_ENCODE = """
import hashlib, json, sys, time
from gpt_2_simple.src import encoder
a = json.loads(sys.argv[1])
text = open(a["corpus"], encoding="utf-8").read()
start = time.perf_counter()
tokens = encoder.get_encoder(a["folder"]).encode(text)
took = time.perf_counter() - start
digest = hashlib.sha256(str(tokens).encode()).hexdigest()
print(json.dumps({"times": [took], "count": len(tokens), "digest": digest}))
"""

TITLEGEN_ENCODE = """
import hashlib, json, sys, time
from pathlib import Path
from titlegen import encoding
a = json.loads(sys.argv[1])
text = open(a["corpus"], encoding="utf-8").read()
start = time.perf_counter()
tokens = encoding.Vocabulary(Path(a["folder"])).encode(text).tolist()
took = time.perf_counter() - start
digest = hashlib.sha256(str(tokens).encode()).hexdigest()
print(json.dumps({"times": [took], "count": len(tokens), "digest": digest}))
"""

PLAIN_SCRIPT = """
import sys
import gpt_2_simple as gpt2
session = gpt2.start_tf_sess()
gpt2.load_gpt2(session, run_name="title", checkpoint_dir=sys.argv[1])
titles = gpt2.generate(session, run_name="title", checkpoint_dir=sys.argv[1], nsamples=10,
                       batch_size=10, length=64, temperature=0.7, prefix="<|startoftext|>",
                       truncate="<|endoftext|>", include_prefix=False, return_as_list=True)
print("\\n".join(titles))
"""


@dataclass
class Figure:
    name: str
    unit: str  # what the numbers are; "higher" or "lower" is better
    better: str
    target: str
    plain: list[float] = field(default_factory=list)
    titlegen: list[float] = field(default_factory=list)
    note: str = ""

    def ratio(self) -> float:
        p, t = statistics.median(self.plain), statistics.median(self.titlegen)
        return t / p if self.better == "higher" else p / t


def child(code: str, args: dict, *, plain: bool) -> dict:
    env = PLAIN_ENV if plain else dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=WORK,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def titlegen(*args: str) -> None:
    subprocess.run([str(BIN / "titlegen"), *args], check=True, cwd=WORK)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- setup: data and models, made once -------------------------------------------------------


def setup() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    if not (WORK / "titles.csv").is_file():
        sample = str(ROOT / "data" / "sample")
        titlegen("fetch", "--source", sample, "--per-subreddit", "100", "-o", "titles.csv")
    small = ["--layers", "2", "--embd", "128", "--heads", "2", "--vocab-size", "1024"]
    mid = ["--layers", "6", "--embd", "512", "--heads", "8", "--vocab-size", "1024"]
    for name, shape in (("small", small), ("mid", mid)):
        if not (WORK / "models" / name / "checkpoint").is_file():
            titlegen("new-model", name, "--from", "titles.csv", *shape)
    if not (WORK / "checkpoint" / "title" / "checkpoint").is_file():
        log("training the title model as make demo does (1600 steps, about four minutes)")
        titlegen("train", "titles.csv", "--model", "small", "--run-name", "title", "--steps",
                 "1600", "--learning-rate", "3e-3", "--accumulate-gradients", "1",
                 "--print-every", "400", "--seed", "1")  # fmt: skip
    if not (WORK / "titles.npz").is_file():
        titlegen("encode", "titles.csv", "titles.npz", "--model", "small")
    if not (WORK / "models" / "gpt124" / "checkpoint").is_file():
        log("writing a 124M-shaped model with random weights")
        make_shaped(WORK / "models" / "gpt124")
    if not (WORK / "corpus.txt").is_file():
        make_corpus(WORK / "corpus.txt", 10_000_000)


def make_shaped(folder: Path, n_layer: int = 12, n_embd: int = 768, n_head: int = 12) -> None:
    """A GPT-2 shape (by default 124M's: 12 layers, 768 wide) with 50,257 tokens, 1,024
    positions and random weights; the vocabulary is learned from the titles and padded with
    unreachable tokens to 50,257. Needs titles.csv (setup makes it)."""
    from titlegen import dataset
    from titlegen.models import new_model

    texts = dataset.documents(dataset.read_rows(WORK / "titles.csv"))
    encoder, merges = new_model.train_vocabulary(texts, 2048)
    del encoder[END]
    for i in range(len(encoder), 50256):
        encoder[f"<|pad{i}|>"] = i
    encoder[END] = 50256
    folder.mkdir(parents=True, exist_ok=True)
    new_model.write_vocabulary(folder, encoder, merges)
    hparams = {"n_vocab": 50257, "n_ctx": 1024, "n_embd": n_embd, "n_head": n_head,
               "n_layer": n_layer}  # fmt: skip
    (folder / "hparams.json").write_text(json.dumps(hparams))
    new_model.write_checkpoint(folder, hparams, seed=0)


def make_corpus(out: Path, size: int) -> None:
    """~10 MB of titles in gpt-2-simple's document format: the sample's titles, their words
    shuffled and numbered so most are new to the encoder's cache, as real titles are."""
    from titlegen import dataset

    titles = dataset.read_titles(WORK / "titles.csv")
    words = [w for t in titles for w in t.split()]
    rng, parts, total = random.Random(0), [], 0
    while total < size:
        title = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        line = f"{START}{title} {rng.randint(0, 10**6)}{END}\n"
        parts.append(line)
        total += len(line)
    out.write_text("".join(parts), encoding="utf-8")


# --- figures ----------------------------------------------------------------------------------


def generation(repeats: int) -> list[Figure]:
    title = {"run": "title", "checkpoint_dir": "checkpoint", "model": None, "model_dir": "models",
             "prefix": START, "truncate": END, "nsamples": 256, "calls": 1}  # fmt: skip
    figures = []
    # At length 1023 one plain call of batch 256 ran over 7 minutes and was stopped: its cache
    # copies grow with the batch; 16 and 64 are tried there.
    for length, target, batches in ((1023, ">= 10x", (16, 64)), (100, ">= 2x", (16, 64, 256))):
        best = best_plain_batch({**title, "length": length}, batches)
        calls = 2 if length == 100 else 1  # at 100, the second call in the process as well
        args = {**title, "length": length, "calls": calls}
        name = f"generate 256 titles, length {length} (titles/s)"
        note = f"plain at its best batch size, {best}; titlegen at its default, 64"
        first = Figure(name, "titles/s", "higher", target, note=note)
        again = "plain builds a new graph for every call; titlegen built its own in the 1st"
        second = Figure(f"{name}, 2nd call in a process", "titles/s", "higher", "", note=again)
        for _ in range(repeats if length == 100 else max(1, repeats - 1)):
            p = child(PLAIN_GENERATE, {**args, "batch_size": best}, plain=True)
            t = child(TITLEGEN_GENERATE, {**args, "batch_size": 64}, plain=False)
            log(f"length {length}: plain {p['times']} s, titlegen {t['times']} s")
            first.plain.append(p["count"] / p["times"][0])
            first.titlegen.append(t["count"] / t["times"][0])
            second.plain.append(p["count"] / p["times"][-1])
            second.titlegen.append(t["count"] / t["times"][-1])
        figures += [first, second] if calls == 2 else [first]
        log(f"{name}: {first.ratio():.1f}x")

    big = {"run": None, "checkpoint_dir": "checkpoint", "model": "gpt124", "model_dir": "models",
           "prefix": None, "truncate": None, "nsamples": 64, "batch_size": 64, "length": 64,
           "calls": 1}  # fmt: skip
    figure = Figure("124M-shaped model, batch 64 x 64 tokens (tokens/s)", "tokens/s", "higher",
                    ">= 1.3x", note="random weights; one call, graph built in it")  # fmt: skip
    for _ in range(repeats):
        p = child(PLAIN_GENERATE, big, plain=True)
        t = child(TITLEGEN_GENERATE, big, plain=False)
        figure.plain.append(p["tokens"] / p["times"][0])
        figure.titlegen.append(t["tokens"] / t["times"][0])
    figures.append(figure)
    log(f"{figure.name}: {figure.ratio():.2f}x")

    calls = {**title, "nsamples": 10, "length": 64, "calls": 8, "batch_size": 10}
    figure = Figure("8th of 8 calls of 10 titles in one process (s)", "s", "lower", "no growth",
                    note="plain rebuilds its sampling graph on every call")  # fmt: skip
    for _ in range(repeats):
        p = child(PLAIN_GENERATE, calls, plain=True)
        t = child(TITLEGEN_GENERATE, calls, plain=False)
        figure.plain.append(p["times"][-1])
        figure.titlegen.append(t["times"][-1])
        figure.note = (
            f"plain rebuilds its sampling graph on every call: its 1st call {p['times'][0]:.2f} s, "
            f"8th {p['times'][-1]:.2f} s; titlegen 1st {t['times'][0]:.2f} s"
        )
    figures.append(figure)
    return figures


def best_plain_batch(args: dict, batches: tuple[int, ...]) -> int:
    """Plain gpt-2-simple's fastest batch size for these options, from one call of each."""
    speeds = {}
    for batch in batches:
        one = {**args, "batch_size": batch, "nsamples": batch}
        result = child(PLAIN_GENERATE, one, plain=True)
        speeds[batch] = round(batch / result["times"][0], 2)
        log(f"plain, length {args['length']}, batch {batch}: {result['times'][0]:.1f} s")
    log(f"plain titles/s by batch size at length {args['length']}: {speeds}")
    return max(speeds, key=speeds.get)


def train(repeats: int) -> list[Figure]:
    args = {"dataset": "titles.npz", "model": "mid", "model_dir": "models", "steps": 8}
    figure = Figure("train, 6 layers x 512 wide, batch 1 x 1024 (tokens/s)", "tokens/s",
                    "higher", ">= 1.25x")  # fmt: skip
    bf16, losses = _train_side_by_side(figure, args, repeats, "fp32", "bf16")
    figure.note = (
        f"titlegen in fp32 with oneDNN on; its bf16 run: {statistics.median(bf16):,.0f} tokens/s. "
        f"Loss after 8 steps: plain {losses['plain']:.2f}, titlegen fp32 {losses['fp32']:.2f}, "
        f"bf16 {losses['bf16']:.2f}"
    )
    log(f"{figure.name}: {figure.ratio():.2f}x")
    return [figure]


def train_124m(repeats: int, steps: int = 8) -> list[Figure]:
    """GPT-2 124M's shape (random weights, its 50,257-token vocabulary), batch 1 x 1024: plain
    gpt-2-simple against titlegen's default precision on this machine, with fp32 beside it and
    the losses of both precisions after the last step."""
    from titlegen.training import graph

    args = {"dataset": "titles.npz", "model": "gpt124", "model_dir": "models", "steps": steps}
    figure = Figure("train, GPT-2 124M's shape, batch 1 x 1024 (tokens/s)", "tokens/s",
                    "higher", ">= 1.3x")  # fmt: skip
    fp32, losses = _train_side_by_side(figure, args, repeats, "auto", "fp32")
    auto = graph.choose_precision("auto").name
    figure.note = (
        f"titlegen in its default precision here, {auto}; in fp32: "
        f"{statistics.median(fp32):,.0f} tokens/s. Loss after {steps} steps: titlegen {auto} "
        f"{losses['auto']:.3f}, fp32 {losses['fp32']:.3f} (plain {losses['plain']:.2f}: "
        "its own window sampling)"
    )
    log(f"{figure.name}: {figure.ratio():.2f}x")
    return [figure]


def _train_side_by_side(
    figure: Figure, args: dict, repeats: int, precision: str, other: str
) -> tuple[list[float], dict[str, float]]:
    """Plain gpt-2-simple, titlegen in ``precision`` (the figure's) and in ``other``, in turn,
    ``repeats`` times: tokens/s of the steady state (from the end of step 1 to the last) into
    the figure, the other precision's returned, with each side's last loss."""
    others: list[float] = []
    losses: dict[str, float] = {}
    for r in range(repeats):
        tmp = {**args, "checkpoint_dir": f"bench-train-{args['model']}-{r}"}
        runs = (
            ("plain", child(PLAIN_TRAIN, tmp, plain=True), figure.plain),
            (precision, child(TITLEGEN_TRAIN, {**tmp, "precision": precision}, plain=False),
             figure.titlegen),
            (other, child(TITLEGEN_TRAIN, {**tmp, "precision": other}, plain=False), others),
        )  # fmt: skip
        for name, result, into in runs:
            elapsed = result["elapsed"]
            into.append((len(elapsed) - 1) * 1024 / (elapsed[-1] - elapsed[0]))
            losses[name] = result["loss"][-1]
    return others, losses


def encode(repeats: int) -> list[Figure]:
    args = {"corpus": "corpus.txt", "folder": "models/small"}
    figure = Figure("encode a 10 MB title corpus (s)", "s", "lower", ">= 5x")
    for _ in range(repeats):
        p = child(PLAIN_ENCODE, args, plain=True)
        t = child(TITLEGEN_ENCODE, args, plain=False)
        if p["digest"] != t["digest"]:
            sys.exit("titlegen's tokens differ from gpt-2-simple's on the corpus")
        figure.plain.append(p["times"][0])
        figure.titlegen.append(t["times"][0])
    figure.note = f"identical tokens ({t['count']:,}), checked on every run"
    log(f"{figure.name}: {figure.ratio():.1f}x")
    return [figure]


def startup(repeats: int) -> list[Figure]:
    runs = max(5, repeats)
    help_times = [wall([str(BIN / "titlegen"), "--help"], plain=False) for _ in range(runs)]
    figure = Figure("titlegen --help (s)", "s", "lower", "< 0.5 s")
    figure.titlegen = help_times
    figure.plain = [float("nan")]
    figures = [figure]
    script = Figure("generate 10 titles: whole command (s)", "s", "lower", "<= 0.7x of plain")
    plain = [sys.executable, "-c", PLAIN_SCRIPT, "checkpoint"]
    ours = [str(BIN / "titlegen"), "generate", "--run-name", "title"]
    for _ in range(runs):
        script.plain.append(wall(plain, plain=True))
        script.titlegen.append(wall(ours, plain=False))
    imports = [wall([sys.executable, "-c", "import tensorflow"], plain=True) for _ in range(3)]
    script.note = f"`python -c 'import tensorflow'` alone: {statistics.median(imports):.2f} s"
    figures.append(script)
    log(f"{script.name}: {script.ratio():.2f}x")
    return figures


def wall(command: list[str], *, plain: bool) -> float:
    env = PLAIN_ENV if plain else dict(os.environ)
    start = time.perf_counter()
    subprocess.run(command, cwd=WORK, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


# --- report -----------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    return f" ({min(values):,.3g}-{max(values):,.3g})"


def report(figures: list[Figure], repeats: int) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("titlegen", "gpt-2-simple", "tensorflow", "tiktoken", "numpy")
    )
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench` on {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {versions}. Medians of {repeats} alternating runs "
        "(min-max in brackets); each run a fresh process.",
        "",
        "| figure | plain gpt-2-simple | titlegen | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    for f in figures:
        plain = "-" if f.plain[0] != f.plain[0] else f"{statistics.median(f.plain):,.3g}"
        ratio = "-" if plain == "-" else f"{f.ratio():.2f}x"
        lines.append(
            f"| {f.name} | {plain}{'' if plain == '-' else spread(f.plain)} | "
            f"{statistics.median(f.titlegen):,.3g}{spread(f.titlegen)} | {ratio} | {f.target} |"
        )
    lines.append("")
    lines += [f"- {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines)


def write(table: str, block: str = "results") -> None:
    """Put ``table`` between the block's markers in BENCHMARKS.md. Rows (and their notes) of
    figures this run did not measure (``--only``) are kept from the table already there."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- {block}:start -->", f"<!-- {block}:end -->"
    before, rest = text.split(start, 1)
    old, after = rest.split(end, 1)
    table = merge(table, old)
    path.write_text(f"{before}{start}\n{table}\n{end}{after}", encoding="utf-8")


def merge(new: str, old: str) -> str:
    """``new`` plus the rows and notes of ``old`` whose figures ``new`` lacks, marked as kept."""

    def name(line: str) -> str:
        return line.split("|")[1].strip()

    def rows(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]

    measured = {name(line) for line in rows(new)}
    kept = [line for line in rows(old)[1:] if name(line) not in measured and name(line) != "figure"]
    if not kept:
        return new
    kept_names = {name(line) for line in kept}
    notes = [
        line
        for line in old.splitlines()
        if line.startswith("- ") and line[2:].split(":", 1)[0] in kept_names
    ]
    lines = new.splitlines()
    last_row = max(i for i, line in enumerate(lines) if line.startswith("| "))
    marked = [
        row if row.endswith("(earlier run) |") else f"{row[:-1].rstrip()} (earlier run) |"
        for row in kept
    ]
    lines[last_row + 1 : last_row + 1] = marked
    lines += notes
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="generate,train,encode,startup,gpt2")
    parser.add_argument("--steps", type=int, default=8, help="gpt2: steps per process")
    args = parser.parse_args()
    setup()
    run = {"generate": generation, "train": train, "encode": encode, "startup": startup}
    # Each group of figures is its own table in BENCHMARKS.md, rewritten when it is measured.
    groups = {"results": [n for n in args.only.split(",") if n in run]}
    if "gpt2" in args.only.split(","):
        groups["gpt2"] = ["gpt2"]
    for block, names in groups.items():
        figures = []
        for name in names:
            log(f"measuring: {name}")
            if name == "gpt2":
                figures += train_124m(args.repeats, args.steps)
            else:
                figures += run[name](args.repeats)
        if figures:
            table = report(figures, args.repeats)
            print(table)
            write(table, block)


if __name__ == "__main__":
    main()
