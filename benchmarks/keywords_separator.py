"""Which separators of the keyword field does a small model learn?

Trains the demo's model shape (2 layers x 128, a 1,024-token vocabulary from the titles) on
the bundled sample with ``--keywords`` once per candidate (the separator between keywords and
the one after them), the same seed and steps, and measures, for the keywords of each held-out
title (with its subreddit), the share of titles generated with ``--keywords`` that contain
every asked word, against titles generated without asking (chance). The separators are module
constants (``dataset.KEYWORDS_JOIN``, ``KEYWORDS_THEN``), so this script sets them in-process
before each ``train``; ``generate`` reads them from the run.

    python benchmarks/keywords_separator.py [--steps 400] [--per-title 4]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "keywords"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import DEMO_MODEL, keyword_hits  # noqa: E402 (after the path is set)

CANDIDATES = {  # name: (between keywords, after them)
    "comma-tilde": (",", " ~ "),
    "space-tilde": (" ", " ~ "),
    "comma-newline": (",", "\n"),
    "comma-marker": (",", "<|title|>"),
}


def cli(*args: str) -> str:
    from click.testing import CliRunner

    from titlegen.cli import cli as titlegen

    result = CliRunner().invoke(titlegen, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        sys.exit(f"titlegen {' '.join(args)} failed:\n{result.output}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--per-title", type=int, default=4, help="titles per held-out title")
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES))
    args = parser.parse_args()
    from titlegen import dataset

    WORK.mkdir(parents=True, exist_ok=True)
    sample = WORK / "sample.csv"
    cli("fetch", "--source", str(ROOT / "data" / "sample"), "--per-subreddit", "100",
        "-o", str(sample))  # fmt: skip
    models, checkpoints = WORK / "models", WORK / "checkpoint"
    cli("new-model", "demo", "--from", str(sample), "--model-dir", str(models), "--overwrite",
        *DEMO_MODEL)  # fmt: skip
    results = {}
    for name in args.only:
        dataset.KEYWORDS_JOIN, dataset.KEYWORDS_THEN = CANDIDATES[name]
        cli("train", str(sample), "--model", "demo", "--model-dir", str(models),
            "--checkpoint-dir", str(checkpoints), "--run-name", name, "--keywords",
            "--restore-from", "fresh", "--seed", "1", "--print-every", "1000",
            "--steps", str(args.steps), "--learning-rate", "3e-3",
            "--accumulate-gradients", "1")  # fmt: skip
        results[name] = keyword_hits(checkpoints / name, args.per_title)
        print(name, json.dumps(results[name]), flush=True)
    print()
    print("| between keywords, after them | titles | contain every asked word | each asked word "
          "| without asking (chance: every word / each word) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        join, then = CANDIDATES[name]
        print(f"| {join!r}, {then!r} | {r['titles']} | {r['share']:.1%} | {r['word_share']:.1%} "
              f"| {r['chance']:.1%} / {r['word_chance']:.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
