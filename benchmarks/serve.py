"""titlegen serve under load, against the anchor's design, on loopback: `make bench-serve`.

Three sides, each a server in a child process on 127.0.0.1 asked for the same requests
(POST /api/titles {"n": 4, "seed": i, "max_tokens": M, "temperature": 0.7}, i = 0..31):

1. ``titlegen serve``, 32 clients at once (threads released together by a barrier);
2. ``titlegen serve``, the same 32 requests one at a time (one client);
3. the anchor's design (minimaxir's reddit-gpt-2-cloud-run): Starlette + uvicorn, the model
   loaded once with gpt-2-simple and ``gpt2.generate(nsamples=4, batch_size=4, ...)`` called
   per request, one request at a time, asked by the same 32 clients at once.

Every round starts a fresh server per side (warmed up by one request), the sides alternating
which goes first. Each request has a timeout, the whole run stops at --max-seconds (a round is
not started when the longest so far would not fit, and one cut short is dropped), and child
servers are stopped in ``finally`` blocks.
Checks that every answer is 200 with 4 titles and that titlegen's concurrent answers equal its
sequential ones for the same seeds. Writes the medians between the serve markers of
BENCHMARKS.md and the raw numbers to benchmarks/.work/serve.json.

    python benchmarks/serve.py [--rounds 3] [--shapes 124M,tiny] [--max-tokens 32]
        [--clients 32] [--titles 4] [--anchor-reset 8] [--max-seconds 1500] [--max-load 0.5]
        [--no-write] [--from-json]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # benchmarks/ is not a package: found by the path above

WORK = bench.WORK
RESULTS = WORK / "serve.json"
READY = re.compile(r"Serving \S+ at (http://\S+)/ ")
START_TIMEOUT = 300  # seconds for a server to import TensorFlow, load the model and warm up
TEMPERATURE = 0.7  # the anchor's and titlegen's sampling temperature, sent explicitly
# name: (model folder under benchmarks/.work/models, what it is)
SHAPES = {
    "124M": ("gpt124", "GPT-2 124M's shape (12 layers x 768 wide, 12 heads, 50,257 tokens)"),
    "tiny": ("small", "the demo's shape (2 layers x 128 wide, 2 heads, 1,024 tokens)"),
}
SIDES = {
    "concurrent": "(1) titlegen serve, 32 clients at once",
    "sequential": "(2) titlegen serve, one request at a time",
    "anchor": "(3) anchor: gpt-2-simple per request, one at a time; 32 clients at once",
}

# The anchor, reddit-gpt-2-cloud-run's app.py in its essentials: Starlette and uvicorn, the
# model loaded once into gpt-2-simple's session, gpt2.generate() per request while the others
# wait. Differences: a JSON body shaped like titlegen's (n, max_tokens, temperature) and an
# answer of {"titles": [{"title": ...}]}, TensorFlow on every core (the anchor's
# start_tf_sess(threads=1) was for a 1-vCPU container), and GET /stats with the seconds each
# generate() call took. Like the anchor, it reloads the model after every 8th call (the 8th
# request waits for it): gpt-2-simple adds a new sampling graph on every call, and the calls
# slow down as the graph grows (124M, without it: 5 s for the 2nd call, 12 s for the 33rd).
ANCHOR = """
import json, socket, sys, time
import gpt_2_simple as gpt2
import tensorflow as tf
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

a = json.loads(sys.argv[1])
where = dict(model_name=a["model"], model_dir=a["model_dir"])
session = gpt2.start_tf_sess()
gpt2.load_gpt2(session, **where)
took, reloads, calls = [], [], 0


async def titles(request):
    global session, calls
    ask = await request.json()
    # As in the anchor's app.py: generate() runs in the async handler, on the event loop, so
    # the server answers one request at a time and the others wait (a lock, in effect).
    start = time.perf_counter()
    out = gpt2.generate(session, **where, nsamples=ask["n"], batch_size=ask["n"],
                        length=ask["max_tokens"], temperature=ask["temperature"],
                        include_prefix=False, return_as_list=True)
    took.append(time.perf_counter() - start)
    calls += 1
    if calls == a["reset_every"]:  # the anchor's reload: its graph grows with every call
        start = time.perf_counter()
        tf.compat.v1.reset_default_graph()
        session.close()
        session = gpt2.start_tf_sess()
        gpt2.load_gpt2(session, **where)
        reloads.append(time.perf_counter() - start)
        calls = 0
    return JSONResponse({"titles": [{"title": text} for text in out]})


async def stats(request):
    return JSONResponse({"took": took, "reloads": reloads})


class Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets)
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        print(f"Serving anchor at {url}/ (API: {url}/api/titles)", file=sys.stderr, flush=True)


listening = socket.socket()
listening.bind(("127.0.0.1", 0))
app = Starlette(routes=[Route("/api/titles", titles, methods=["POST"]), Route("/stats", stats)])
Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])
"""


def log(text: str) -> None:
    bench.log(text)


class OutOfTime(Exception):
    """--max-seconds is reached: the round in progress is dropped."""


class Clock:
    """The run's deadline: a request never waits past it."""

    def __init__(self, seconds: float, timeout: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.timeout = timeout

    def left(self) -> float:
        return self.end - time.monotonic()

    def request_timeout(self) -> float:
        left = self.left()
        if left <= 0:
            raise OutOfTime
        return min(self.timeout, left)


# --- servers in child processes ---------------------------------------------------------------


class Server:
    """A server in a child process; its address is read from the "Serving NAME at URL/" line of
    its stderr, which a thread keeps reading (uvicorn logs every request there)."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, cwd=WORK, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: collections.deque[str] = collections.deque(maxlen=60)
        self.url = ""
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(START_TIMEOUT) or not self.url:
            self.stop()
            raise RuntimeError("a server did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            found = READY.search(line)
            if found and not self.url:
                self.url = found[1]
                self._ready.set()
        self._ready.set()  # it ended

    def cpu(self) -> float:
        """CPU seconds the server has used (user + system, all its threads)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGINT (titlegen serve and uvicorn finish what they took and exit), else kill."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def serving(side: str, model: str, reset_every: int = 8) -> Iterator[Server]:
    if side == "anchor":
        args = json.dumps({"model": model, "model_dir": "models", "reset_every": reset_every})
        server = Server([sys.executable, "-c", ANCHOR, args], bench.PLAIN_ENV)
    else:
        command = [sys.executable, "-m", "titlegen", "serve", "--model", model, "--model-dir",
                   "models", "--port", "0"]  # fmt: skip
        server = Server(command, dict(os.environ))
    try:
        yield server
    finally:
        server.stop()


# --- clients ----------------------------------------------------------------------------------


def ask(url: str, body: dict, clock: Clock) -> dict:
    """One POST /api/titles: its status, titles and latency (or the error)."""
    start = time.perf_counter()
    answer = {"seed": body["seed"], "status": 0, "titles": None}
    try:
        got = requests.post(f"{url}/api/titles", json=body, timeout=clock.request_timeout())
        answer["status"] = got.status_code
        if got.status_code == 200:
            answer["titles"] = [t["title"] for t in got.json()["titles"]]
        else:
            answer["error"] = got.text[:300]
    except requests.RequestException as error:
        answer["error"] = f"{type(error).__name__}: {error}"[:300]
    end = time.perf_counter()
    return {**answer, "start": start, "end": end, "latency": end - start}


def at_once(url: str, bodies: list[dict], clock: Clock) -> list[dict]:
    """Every body from its own client thread, all released together."""
    gate = threading.Barrier(len(bodies))

    def client(body: dict) -> dict:
        gate.wait(60)
        return ask(url, body, clock)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(client, bodies))


def one_at_a_time(url: str, bodies: list[dict], clock: Clock) -> list[dict]:
    return [ask(url, body, clock) for body in bodies]


def health(server: Server) -> dict:
    got = requests.get(f"{server.url}/api/health", timeout=30)
    return got.json()["sampled"]


# --- measuring --------------------------------------------------------------------------------


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def percentile(values: list[float], q: float) -> float:
    """The q-th quantile (0-1), linear between the closest ranks (numpy's default)."""
    ranked = sorted(values)
    at = (len(ranked) - 1) * q
    low = math.floor(at)
    high = min(low + 1, len(ranked) - 1)
    return ranked[low] + (ranked[high] - ranked[low]) * (at - low)


def phase(name: str, server: Server, bodies: list[dict], clock: Clock, titles: int) -> dict:
    """The bodies sent at once or one at a time: total wall time, latencies, the CPU that other
    processes used meanwhile, and (titlegen) the batches the server formed."""
    sampled = health(server) if name != "anchor" else None
    load = os.getloadavg()[0]
    busy, served, own = machine_busy(), server.cpu(), own_cpu()
    send = one_at_a_time if name == "sequential" else at_once
    answers = send(server.url, bodies, clock)
    busy, served, own = machine_busy() - busy, server.cpu() - served, own_cpu() - own
    began = min(a["start"] for a in answers)
    total = max(a["end"] for a in answers) - began
    latencies = [a["latency"] for a in answers]
    result = {
        "total": total,
        "latencies": latencies,
        "ends": sorted(a["end"] - began for a in answers),  # seconds after the first was sent
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "ok": sum(a["status"] == 200 and len(a["titles"]) == titles for a in answers),
        "errors": [a.get("error") for a in answers if a["status"] != 200][:3],
        "titles": {str(a["seed"]): a["titles"] for a in answers},
        "load_start": load,
        "load_end": os.getloadavg()[0],
        "server_cpu": served,
        "machine_cpu": busy,
        "client_cpu": own,
        "other_cpu": max(0.0, busy - served - own),  # others' CPU seconds during the phase
        "cores": os.cpu_count(),
    }
    if sampled is not None:
        after = health(server)
        result["batches"] = after["batches"] - sampled["batches"]
        result["rows"] = after["rows"] - sampled["rows"]
    if name == "anchor":
        stats = requests.get(f"{server.url}/stats", timeout=30).json()
        result["generate_s"] = stats["took"][-len(bodies) :]  # its generate() calls, in order
        result["reloads_s"] = stats["reloads"]  # every reload since it started
    log(
        f"  {name}: {total:.2f} s, p50 {result['p50']:.2f} s, p99 {result['p99']:.2f} s, "
        f"{result['ok']}/{len(bodies)} ok, others used {result['other_cpu']:.1f} CPU-s"
        + (f", {result['batches']} batches of {result['rows']} rows" if "batches" in result else "")
    )
    return result


def one_round(
    model: str, number: int, bodies: list[dict], clock: Clock, args: argparse.Namespace
) -> dict:
    """Each side once, on a fresh server each; the order alternates between rounds."""
    out: dict[str, dict] = {}
    servers = ["titlegen", "anchor"] if number % 2 == 0 else ["anchor", "titlegen"]
    warm = {**bodies[0], "seed": 10**6}  # a seed no timed request uses
    for side in servers:
        with serving(side, model, args.anchor_reset) as server:
            answer = ask(server.url, warm, clock)  # the first request pays for a first run
            if answer["status"] != 200:
                raise RuntimeError(
                    f"{side}: the warm-up request failed: {answer.get('error')}\n"
                    + "".join(server.lines)
                )
            names = ["anchor"] if side == "anchor" else ["concurrent", "sequential"]
            if number % 2:
                names.reverse()
            for name in names:
                out[name] = phase(name, server, bodies, clock, args.titles)
    return out


def measure(shape: str, args: argparse.Namespace, clock: Clock) -> dict:
    model = SHAPES[shape][0]
    bodies = [
        {"n": args.titles, "seed": i, "max_tokens": args.max_tokens, "temperature": TEMPERATURE}
        for i in range(args.clients)
    ]
    rounds, took = [], []
    for number in range(args.rounds):
        if took and clock.left() < max(took) * 1.2:
            log(f"{shape}: stopping after {number} rounds: --max-seconds would be passed")
            break
        log(f"{shape}, round {number + 1} of {args.rounds} (load {os.getloadavg()[0]:.2f})")
        began = time.monotonic()
        try:
            rounds.append(one_round(model, number, bodies, clock, args))
        except OutOfTime:
            log(f"{shape}: round {number + 1} dropped: --max-seconds reached")
            break
        took.append(time.monotonic() - began)
    return {"shape": shape, "model": model, "titles": args.titles, "rounds": rounds,
            "round_seconds": took}  # fmt: skip


def check(result: dict, clients: int) -> dict:
    """Every answer 200 with its titles; the concurrent titles equal the sequential ones for
    the same seeds, in every round, and the same in every round."""
    rounds = result["rounds"]
    all_ok = all(r[side]["ok"] == clients for r in rounds for side in SIDES)
    differ, where = 0, []
    for r in rounds:
        alone = r["sequential"]["titles"]
        for seed, titles in r["concurrent"]["titles"].items():
            pairs = zip(titles or [], alone[seed] or [], strict=False)
            for at, (together, apart) in enumerate(pairs):
                if together != apart:
                    differ += 1
                    same = common_start(together, apart)
                    where.append(
                        {"seed": int(seed), "title": at, "same_characters": same,
                         "together": together[: same + 30], "alone": apart[: same + 30]}
                    )  # fmt: skip
    stable = all(r["concurrent"]["titles"] == rounds[0]["concurrent"]["titles"] for r in rounds)
    stable_alone = all(
        r["sequential"]["titles"] == rounds[0]["sequential"]["titles"] for r in rounds
    )
    return {
        "all_ok": all_ok,
        "concurrent_equals_sequential": differ == 0,
        "titles_compared": sum(len(r["sequential"]["titles"]) * result["titles"] for r in rounds),
        "titles_differing": differ,
        "differences": where,
        "concurrent_same_every_round": stable,
        "sequential_same_every_round": stable_alone,
    }


def common_start(one: str, other: str) -> int:
    """How many characters two strings share at their start."""
    for at, (a, b) in enumerate(zip(one, other, strict=False)):
        if a != b:
            return at
    return min(len(one), len(other))


# --- setup ------------------------------------------------------------------------------------


def setup(shapes: list[str]) -> None:
    """The random-weight models, made as benchmarks/run.py makes them (kept between runs)."""
    WORK.mkdir(parents=True, exist_ok=True)
    if not (WORK / "titles.csv").is_file():  # the models' vocabularies are learned from it
        sample = str(bench.ROOT / "data" / "sample")
        bench.titlegen("fetch", "--source", sample, "--per-subreddit", "100", "-o", "titles.csv")
    if "tiny" in shapes and not (WORK / "models" / "small" / "checkpoint").is_file():
        bench.titlegen("new-model", "small", "--from", "titles.csv", "--layers", "2", "--embd",
                       "128", "--heads", "2", "--vocab-size", "1024")  # fmt: skip
    if "124M" in shapes and not (WORK / "models" / "gpt124" / "checkpoint").is_file():
        log("writing a 124M-shaped model with random weights")
        bench.make_shaped(WORK / "models" / "gpt124")


def wait_for_quiet(max_load: float, patience: float) -> float:
    """The 1-minute load average, once it is at most ``max_load`` or ``patience`` seconds
    have passed (another user's tests ruin the timing)."""
    until = time.monotonic() + patience
    while (load := os.getloadavg()[0]) > max_load and time.monotonic() < until:
        log(f"load average {load:.2f} > {max_load}: waiting for the machine to be quiet")
        time.sleep(20)
    return load


# --- the report -------------------------------------------------------------------------------


def median_spread(values: list[float], digits: str = ".3g") -> str:
    text = format(statistics.median(values), digits)
    if len(values) > 1:
        text += f" ({format(min(values), digits)}-{format(max(values), digits)})"
    return text


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def versions() -> str:
    return ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("titlegen", "gpt-2-simple", "tensorflow", "fastapi", "starlette", "uvicorn")
    )


def report(data: dict) -> str:
    s = data["settings"]
    counts = sorted({len(r["rounds"]) for r in data["results"]})
    rounds = "/".join(str(n) for n in counts)
    loads = data["load"]
    lines = [
        f"Measured {data['date']} by `make bench-serve` on {data['cpu']}, {data['cores']} cores, "
        f"Python {data['python']}; {data['versions']}; titlegen at commit {data['commit']}. "
        f"{rounds} rounds in {data['seconds'] / 60:.0f} minutes; in each, every side on a fresh "
        "server on 127.0.0.1, warmed up by one request, the sides alternating which goes first. "
        "Medians of the rounds (min-max in brackets). Load average (1 min): "
        f"{loads['start']:.2f} at the start (after waiting {loads['waited']:.0f} s for it to "
        f"fall to {s['max_load']}), {loads['end']:.2f} at the end (the benchmark's own servers).",
        "",
        f"Each of the {s['clients']} requests: `POST /api/titles "
        f'{{"n": {s["titles"]}, "seed": i, "max_tokens": {s["max_tokens"]}, '
        f'"temperature": {TEMPERATURE}}}`, i = 0..{s["clients"] - 1}; the anchor samples '
        f"`nsamples={s['titles']}, batch_size={s['titles']}, length={s['max_tokens']}`. "
        "Random weights: titles rarely end before max_tokens, so every side samples "
        f"{s['clients']} x {s['titles']} rows of (about) {s['max_tokens']} tokens.",
        "",
        f"| shape | side | {s['clients']} requests, total (s) | latency p50 (s) | "
        "latency p99 (s) | total / (1)'s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    notes = []
    for result in data["results"]:
        shape, rs = result["shape"], result["rounds"]
        if not rs:
            continue
        for side, label in SIDES.items():
            totals = [r[side]["total"] for r in rs]
            ratios = [r[side]["total"] / r["concurrent"]["total"] for r in rs]
            ratio = statistics.median(totals) / statistics.median(
                [r["concurrent"]["total"] for r in rs]
            )
            shown = (
                "1x"
                if side == "concurrent"
                else f"{ratio:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
            )
            lines.append(
                f"| {shape} | {label} | {median_spread(totals)} | "
                f"{median_spread([r[side]['p50'] for r in rs])} | "
                f"{median_spread([r[side]['p99'] for r in rs])} | {shown} |"
            )
        notes += shape_notes(result, s)
    lines += ["", *notes]
    return "\n".join(lines)


def shape_notes(result: dict, s: dict) -> list[str]:
    shape, rs, checked = result["shape"], result["rounds"], result["check"]
    conc = statistics.median([r["concurrent"]["total"] for r in rs])
    seq = statistics.median([r["sequential"]["total"] for r in rs])
    anchor = statistics.median([r["anchor"]["total"] for r in rs])
    goal = "met" if seq / conc >= 4 else "not met"
    batches = same_or_each(
        f"{r['concurrent']['batches']} batches ({r['concurrent']['rows']} rows)" for r in rs
    )
    seq_batches = same_or_each(
        f"{r['sequential']['batches']} batches ({r['sequential']['rows']} rows)" for r in rs
    )
    groups = "; ".join(
        ", ".join(f"{len(g)}: {g[-1]:.2f}" for g in answered_together(r["concurrent"]["ends"]))
        for r in rs
    )
    calls = [r["anchor"]["generate_s"] for r in rs]
    first = statistics.median(c[0] for c in calls)
    last = statistics.median(c[-1] for c in calls)
    generate = statistics.median(sum(c) for c in calls)
    per_call = statistics.median(t for c in calls for t in c)
    reloads = [t for r in rs for t in r["anchor"]["reloads_s"]]
    reloaded = (
        f"; it reloaded the model after every {s['anchor_reset']}th call, as the anchor does "
        f"({statistics.median(reloads):.1f} s each, inside the 8th request)"
        if reloads
        else ""
    )
    other = [
        r[side]["other_cpu"] / (r[side]["total"] * r[side]["cores"]) for r in rs for side in SIDES
    ]
    correct = (
        "yes, in every round"
        if checked["concurrent_equals_sequential"]
        else f"**no**: {checked['titles_differing']} of {checked['titles_compared']} titles "
        "differ (benchmarks/.work/serve.json lists where)"
    )
    return [
        f"- {shape}, {SHAPES[shape][1]}: (2)/(1) = **{seq / conc:.2f}x** (goal >= 4x: {goal}); "
        f"(3)/(1) = **{anchor / conc:.2f}x**.",
        f"- {shape}: titlegen sampled the {s['clients']} concurrent requests in {batches} "
        f"(`--max-batch` {s['max_batch']}), the sequential ones in {seq_batches}. The "
        "concurrent answers came back in groups (requests: seconds after the first was sent; "
        f"by round): {groups}.",
        f"- {shape}: every answer 200 with {s['titles']} titles: "
        f"{'yes' if checked['all_ok'] else '**no**'}; titles of the concurrent answers equal to "
        f"the sequential ones for the same seeds: {correct}. The same titles in every round: "
        f"sequential {yes(checked['sequential_same_every_round'])}, concurrent "
        f"{yes(checked['concurrent_same_every_round'])}.",
        f"- {shape}: the anchor's generate() calls took {generate:.1f} s of its total "
        f"{anchor:.1f} s, {per_call:.2f} s a call (median; the 1st timed call {first:.2f} s, "
        f"the 32nd {last:.2f} s; it builds a new sampling graph on every call){reloaded}.",
        f"- {shape}: other processes used {100 * statistics.median(other):.0f}% of the "
        f"machine's CPU during the timed phases (median; at most {100 * max(other):.0f}%).",
    ]


def same_or_each(texts: Iterator[str]) -> str:
    """One text if every round gave it, else each round's."""
    texts = list(texts)
    return f"{texts[0]} in every round" if len(set(texts)) == 1 else ", ".join(texts)


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def answered_together(ends: list[float]) -> list[list[float]]:
    """The answers' end times (sorted) in groups that ended together: a gap of more than a
    twentieth of the phase (at least 50 ms) starts a new group."""
    gap = max(0.05, ends[-1] / 20)
    groups = [[ends[0]]]
    for end in ends[1:]:
        if end - groups[-1][-1] > gap:
            groups.append([])
        groups[-1].append(end)
    return groups


def write_section(table: str) -> None:
    """Between the serve markers of BENCHMARKS.md, adding the section at the end if needed."""
    path = bench.ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    if "<!-- serve:start -->" not in text:
        section = (
            "## titlegen serve: 32 clients at once\n\n<!-- serve:start -->\n<!-- serve:end -->\n"
        )
        path.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
    bench.write(table, "serve")


def commit() -> str:
    git = ["git", "-C", str(bench.ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True, text=True)
    return head.stdout.strip() + (" with changes in src/" if changed.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shapes", default="124M,tiny", help="of: " + ", ".join(SHAPES))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--titles", type=int, default=4, help="n of each request")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--anchor-reset", type=int, default=8, help="the anchor reloads after N calls; 0: never"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds, per request")
    parser.add_argument("--max-seconds", type=float, default=1500, help="the whole run")
    parser.add_argument("--max-load", type=float, default=0.5, help="wait for it at the start")
    parser.add_argument("--wait", type=float, default=600, help="seconds to wait for --max-load")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md as it is")
    parser.add_argument(
        "--from-json", action="store_true", help="measure nothing: report serve.json again"
    )
    args = parser.parse_args()
    if args.from_json:
        data = json.loads(RESULTS.read_text())
        data.setdefault("versions", versions())
        finish(data, write=not args.no_write)
        return
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes {sorted(unknown)}: use {', '.join(SHAPES)}")
    setup(shapes)
    waited = time.monotonic()
    load = wait_for_quiet(args.max_load, args.wait)
    waited = time.monotonic() - waited
    log(f"load average at the start: {load:.2f}")
    clock = Clock(args.max_seconds, args.timeout)
    from titlegen.serving import MAX_BATCH

    settings = {k: v for k, v in vars(args).items() if k not in ("no_write", "from_json")}
    data = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions(),
        "commit": commit(),
        "settings": {**settings, "max_batch": MAX_BATCH},
        "load": {"start": load, "waited": waited},
        "results": [],
    }
    for shape in shapes:
        result = measure(shape, args, clock)
        if result["rounds"]:
            result["check"] = check(result, args.clients)
            shown = {k: v for k, v in result["check"].items() if k != "differences"}
            log(f"{shape}: {shown}")
        data["results"].append(result)
    data["load"]["end"] = os.getloadavg()[0]
    data["seconds"] = time.monotonic() - clock.start
    RESULTS.write_text(json.dumps(data, indent=1))
    log(f"raw numbers: {RESULTS}; {data['seconds'] / 60:.1f} minutes")
    finish(data, write=not args.no_write)


def finish(data: dict, *, write: bool) -> None:
    if not any(r["rounds"] for r in data["results"]):
        sys.exit("nothing was measured")
    table = report(data)
    print(table)
    if write:
        write_section(table)


if __name__ == "__main__":
    main()
