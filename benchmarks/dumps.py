"""Reading a Reddit dump, against `zstd -d` alone: `make bench-dumps`.

Makes a realistic dump (benchmarks/dump_data.py: 200,000 posts, ~466 MB of JSON lines, kept in
benchmarks/.work/dumps), compresses it the way the monthly dumps are (`zstd -3 --long=31`, piped:
no content size, a 2 GiB window) and copies it to Parquet, then times, interleaved round-robin
in fresh processes:

- `zstd -dcq --long=31 FILE > /dev/null`: the floor (decompression alone);
- the PushshiftDumps way (Watchful1/PushshiftDumps, scripts/single_file.py: python-zstandard's
  stream_reader, 128 MiB decoded to str, json.loads per line), ported below;
- titlegen 0.1's reader (benchmarks/titlegen_0_1_dumps.py, no filters) and its whole fetch;
- `titlegen fetch --source FILE` now (whole fetch, filters on), with the zstd program and without
  it (python-zstandard in-process);
- the read stage alone now (decompress + decode the nine fields, nothing stored);
- `titlegen fetch --source FILE.parquet`.

Wall time (median of --rounds, min-max), CPU (user+sys of the tree), peak RSS (the sum over the
process tree, and without the zstd program, sampled every 20 ms: wait4's ru_maxrss would count
the forking Python's pages).
Writes the table between the dumps markers of BENCHMARKS.md. /tmp/BENCH_RUNNING exists while
timing (other jobs wait).

    python benchmarks/dumps.py [--posts 200000] [--rounds 3] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "dumps"
PYTHON = sys.executable
TITLEGEN = str(Path(sys.executable).with_name("titlegen"))
FLAG = Path("/tmp/BENCH_RUNNING")


# ------------------------------------------------------------------- the readers timed here


def pushshift(path: str) -> None:
    """Watchful1's PushshiftDumps way of reading a dump (scripts/single_file.py, MIT licence),
    reading the four fields the selection needs from each post."""
    import zstandard

    def read_and_decode(reader, chunk_size, max_window_size, previous_chunk=None, bytes_read=0):
        chunk = reader.read(chunk_size)
        bytes_read += chunk_size
        if previous_chunk is not None:
            chunk = previous_chunk + chunk
        try:
            return chunk.decode()
        except UnicodeDecodeError:
            if bytes_read > max_window_size:
                raise UnicodeError(f"Unable to decode frame after reading {bytes_read:,} bytes")  # noqa: B904
            return read_and_decode(reader, chunk_size, max_window_size, chunk, bytes_read)

    def read_lines_zst(file_name):
        with open(file_name, "rb") as file_handle:
            buffer = ""
            reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(file_handle)
            while True:
                chunk = read_and_decode(reader, 2**27, (2**29) * 2)
                if not chunk:
                    break
                lines = (buffer + chunk).split("\n")
                for line in lines[:-1]:
                    yield line.strip(), file_handle.tell()
                buffer = lines[-1]
            reader.close()

    posts = bad = 0
    for line, _position in read_lines_zst(path):
        try:
            obj = json.loads(line)
            _ = (obj["subreddit"], obj["title"], obj["score"], obj["author"])
            posts += 1
        except (KeyError, json.JSONDecodeError):
            bad += 1
    print(f"pushshift: {posts} posts, {bad} bad lines", file=sys.stderr)


def old_fetch(path: str, out: str) -> None:
    """titlegen 0.1's whole fetch: its reader and selection, tidied and written."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import titlegen_0_1_dumps as old

    from titlegen import dataset
    from titlegen.fetching.selection import Selection

    rows, stats = old.select_titles([Path(path)], Selection())
    dataset.write_dataset(dataset.tidy(rows), Path(out))
    print(f"titlegen 0.1: {stats.posts} posts", file=sys.stderr)


def read_only(path: str) -> None:
    """Today's read stage alone: decompress and decode the nine fields, keep nothing."""
    from titlegen.fetching import dumps
    from titlegen.fetching.json_lines import LineReader

    reader = LineReader()
    stats = dumps.Stats()
    for _batch in reader.batches(dumps._decompressed(Path(path), stats, lambda _n: None)):
        pass
    print(f"read: {reader.posts} posts, {reader.skipped} skipped", file=sys.stderr)


def fetch_in_process(path: str, out: str) -> None:
    """Today's `titlegen fetch --source`, as if the zstd program were not installed."""
    from titlegen.cli import cli
    from titlegen.fetching import dumps

    dumps.ZSTD = "no-such-zstd-program"
    cli(["fetch", "--source", path, "-o", out])


PARTS = {"pushshift": pushshift, "old": old_fetch, "read": read_only, "inprocess": fetch_in_process}


# --------------------------------------------------------------------------------- the data


def make_data(posts: int) -> tuple[Path, Path]:
    """The .zst and .parquet of ``posts`` posts, made once and kept in WORK."""
    WORK.mkdir(parents=True, exist_ok=True)
    zst, parquet = WORK / f"RS_{posts}.zst", WORK / f"RS_{posts}.parquet"
    if zst.exists() and parquet.exists():
        return zst, parquet
    jsonl = WORK / f"RS_{posts}.jsonl"
    log(f"Making {jsonl.name} ({posts:,} posts, deterministic)...")
    subprocess.run([PYTHON, str(ROOT / "benchmarks" / "dump_data.py"), str(posts), str(jsonl)],
                   check=True)  # fmt: skip
    log(f"Compressing it as the monthly dumps are (zstd -3 --long=31, piped)... -> {zst.name}")
    # Each file is written under a temporary name and renamed: a killed run leaves no partial
    # file that the next run would take for a whole one.
    part = zst.with_name(zst.name + ".part")
    with jsonl.open("rb") as source, part.open("wb") as target:
        subprocess.run(["zstd", "-3", "--long=31", "-q", "-c"], stdin=source, stdout=target,
                       check=True)  # fmt: skip
    part.replace(zst)
    log(f"Copying it to Parquet (duckdb, zstd compression)... -> {parquet.name}")
    import duckdb

    part = parquet.with_name(parquet.name + ".part")

    def quoted(path: Path) -> str:  # a SQL string literal (COPY takes no parameters)
        return "'" + str(path).replace("'", "''") + "'"

    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_ndjson({quoted(jsonl)}, sample_size=-1)) TO {quoted(part)} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    part.replace(parquet)
    jsonl.unlink()
    return zst, parquet


# ------------------------------------------------------------------------------- the timing


def measure(command: list[str]) -> dict:
    """Wall and CPU time of ``command`` and its children; peak RSS summed over the tree."""
    start = time.perf_counter()
    # stderr goes to a file, not a pipe: a full pipe would block the child while we wait.
    errors_file = tempfile.TemporaryFile()  # noqa: SIM115  # closed once read, below
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors_file)
    peak = [0, 0]  # the whole tree; all but the zstd program (titlegen's own Python)
    done = threading.Event()

    def sample() -> None:
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [(p.name(), p.memory_info().rss) for p in [parent, *parent.children(True)]]
                peak[0] = max(peak[0], sum(rss for _, rss in tree))
                peak[1] = max(peak[1], sum(rss for name, rss in tree if name != "zstd"))
            except psutil.Error:
                pass
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    with errors_file:
        errors_file.seek(0)
        errors = errors_file.read().decode(errors="replace")
    if status:
        raise SystemExit(f"{command} failed:\n{errors[-2000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_tree": peak[0] / 2**20,
        "rss_python": peak[1] / 2**20,
    }


def sides(zst: Path, parquet: Path) -> dict[str, list[str]]:
    out = str(WORK / "out.csv")
    me = [PYTHON, __file__, "--part"]
    return {
        "`zstd -dcq --long=31 FILE > /dev/null` (the floor)": [
            "bash", "-c", f"zstd -dcq --long=31 '{zst}' > /dev/null"
        ],
        "PushshiftDumps way (stream_reader, json.loads per line)": [*me, "pushshift", str(zst)],
        "titlegen 0.1 `fetch --source` (old reader, no filters)": [*me, "old", str(zst), out],
        "**titlegen `fetch --source`** now (zstd program, filters)": [
            TITLEGEN, "fetch", "--source", str(zst), "-o", out
        ],
        "titlegen `fetch --source` now, without the zstd program": [
            *me, "inprocess", str(zst), out
        ],
        "titlegen read stage alone now (zstd program + msgspec)": [*me, "read", str(zst)],
        "titlegen `fetch --source FILE.parquet`": [
            TITLEGEN, "fetch", "--source", str(parquet), "-o", out
        ],
    }  # fmt: skip


def run(rounds: int, zst: Path, parquet: Path) -> dict[str, list[dict]]:
    commands = sides(zst, parquet)
    results: dict[str, list[dict]] = {name: [] for name in commands}
    for number in range(rounds):
        for name, command in commands.items():
            figures = measure(command) | {"load": os.getloadavg()[0]}
            results[name].append(figures)
            log(
                f"round {number + 1}: {figures['wall']:6.2f} s  cpu {figures['cpu']:6.2f}  "
                f"rss {figures['rss_tree']:5.0f} MB  load1 {figures['load']:.2f}  {name}"
            )
    return results


def table(results: dict[str, list[dict]], zst: Path, posts: int, loads: tuple, took: float) -> str:
    floor = statistics.median(r["wall"] for r in next(iter(results.values())))
    size = zst.stat().st_size / 2**20
    lines = [
        f"Measured {date.today()} by `make bench-dumps` on {cpu()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, zstd {zstd_version()}, titlegen at commit "
        f"{commit()}. {posts:,} posts ({size:.0f} MB of `zstd -3 --long=31`); "
        f"{len(next(iter(results.values())))} rounds in {took / 60:.1f} minutes, each side in a "
        f"fresh process, interleaved round-robin. Medians (min-max). Load average (1 min): "
        f"{loads[0]:.2f} at the start, {loads[1]:.2f} at the end.",
        "",
        "| side | wall s | vs `zstd -d` | CPU s | peak RSS MB, all (without the zstd program) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rows in results.items():
        wall = [r["wall"] for r in rows]
        median = statistics.median(wall)
        lines.append(
            f"| {name} | {median:.2f} ({min(wall):.2f}-{max(wall):.2f}) | {median / floor:.1f}x | "
            f"{statistics.median(r['cpu'] for r in rows):.2f} | "
            f"{statistics.median(r['rss_tree'] for r in rows):.0f} "
            f"({statistics.median(r['rss_python'] for r in rows):.0f}) |"
        )
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Between the dumps markers of BENCHMARKS.md, adding the section at the end if needed."""
    path = ROOT / "BENCHMARKS.md"
    document = path.read_text(encoding="utf-8")
    start, end = "<!-- dumps:start -->", "<!-- dumps:end -->"
    if start not in document:
        section = f"## Reading Reddit dumps (titlegen fetch --source)\n\n{start}\n{end}\n"
        document = document.rstrip("\n") + "\n\n" + section
    before, rest = document.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def zstd_version() -> str:
    found = subprocess.run(["zstd", "-V"], capture_output=True, text=True).stdout
    return found.split(" v", 1)[1].split(",")[0] if " v" in found else "?"


def commit() -> str:
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return head.stdout.strip()


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--part":
        PARTS[sys.argv[2]](*sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000, help="size of the test dump")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    parser.add_argument("--max-load", type=float, default=1.0, help="wait for it at the start")
    parser.add_argument("--wait", type=float, default=480, help="seconds to wait for --max-load")
    args = parser.parse_args()
    if not shutil.which("zstd"):
        raise SystemExit("The zstd program is needed (apt-get install zstd / brew install zstd).")
    zst, parquet = make_data(args.posts)
    until = time.monotonic() + args.wait
    while os.getloadavg()[0] > args.max_load and time.monotonic() < until:
        time.sleep(5)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    log(f"uptime at the start: {uptime}")
    loads = [os.getloadavg()[0]]
    FLAG.touch()
    try:
        start = time.monotonic()
        results = run(args.rounds, zst, parquet)
        took = time.monotonic() - start
    finally:
        FLAG.unlink(missing_ok=True)
    loads.append(os.getloadavg()[0])
    log(f"uptime at the end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout}")
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    text = table(results, zst, args.posts, tuple(loads), took)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
