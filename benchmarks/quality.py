"""How good the titles are, measured: `make quality`.

1. Subreddit conditioning: the share of titles generated with ``--subreddit NAME`` that a simple
   classifier (multinomial naive Bayes on word and character n-grams, scikit-learn), trained on
   the dataset's real titles, assigns to NAME. Measured on the bundled sample with a model made
   and trained by the demo settings, and on a synthetic set of three styles that a rule can
   tell apart. For scale: the classifier's accuracy on the real titles held out from training
   (the ceiling), and chance (one over the number of subreddits).
2. Copies: the share of titles (generated without --subreddit) that repeat a training title,
   verbatim and after normalising case, whitespace and punctuation.

Runs everything through the titlegen command line, under benchmarks/.work/quality; prints a
Markdown table for the README.

    python benchmarks/quality.py [--per-subreddit 40]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "quality"
BIN = Path(sys.executable).parent
# As `make demo` (Makefile: DEMO_MODEL, DEMO_TRAIN).
DEMO_MODEL = ["--layers", "2", "--embd", "128", "--heads", "2", "--vocab-size", "1024"]
DEMO_TRAIN = ["--steps", "1600", "--learning-rate", "3e-3", "--accumulate-gradients", "1"]
STYLES_MODEL = ["--layers", "1", "--embd", "32", "--heads", "2", "--vocab-size", "400"]
STYLES_TRAIN = ["--steps", "200", "--learning-rate", "3e-3", "--accumulate-gradients", "1"]


def titlegen(*args: str) -> str:
    done = subprocess.run(
        [str(BIN / "titlegen"), *args], cwd=WORK, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"titlegen {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def train(name: str, dataset: str, model: list[str], steps: list[str]) -> Path:
    titlegen("new-model", name, "--from", dataset, "--model-dir", "models", "--overwrite", *model)
    titlegen("train", dataset, "--model", name, "--model-dir", "models", "--run-name", name,
             "--restore-from", "fresh", "--seed", "1", "--print-every", "1000", *steps)  # fmt: skip
    return WORK / "checkpoint" / name


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def classifier(titles: list[str], labels: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(lowercase=False, token_pattern=r"\S+", ngram_range=(1, 2)),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=False),
    )
    return make_pipeline(features, MultinomialNB(alpha=0.1)).fit(titles, labels)


def conditioning(run: Path, per_subreddit: int) -> dict:
    """Generate per subreddit; score with a classifier trained on the run's training titles."""
    split = rows(run / "titles.csv")
    train = [r for r in split if r["split"] == "train"]
    held = [r for r in split if r["split"] == "val"]
    model = classifier([r["title"] for r in train], [r["subreddit"] for r in train])
    names = sorted({r["subreddit"] for r in split})
    hits = total = 0
    for name in names:
        out = titlegen("generate", "--run-name", run.name, "--subreddit", name, "--nsamples",
                       str(per_subreddit), "--seed", "1")  # fmt: skip
        titles = out.splitlines()
        hits += sum(label == name for label in model.predict(titles))
        total += len(titles)
    ceiling = model.score([r["title"] for r in held], [r["subreddit"] for r in held])
    return {"subreddits": len(names), "titles": total, "share": hits / total, "ceiling": ceiling}


def copies(run: Path, n: int) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from titlegen.dataset import normalize

    split = rows(run / "titles.csv")
    exact = {r["title"] for r in split}
    normal = {normalize(r["title"]) for r in split}
    titles = titlegen("generate", "--run-name", run.name, "--nsamples", str(n), "--seed", "1")
    titles = titles.splitlines()
    return {
        "titles": len(titles),
        "verbatim": sum(t in exact for t in titles) / len(titles),
        "normalised": sum(normalize(t) in normal for t in titles) / len(titles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-subreddit", type=int, default=40, help="titles per subreddit")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "tests"))
    import styles  # the separable set of the tests

    styles.write(WORK / "styles.csv")
    titlegen("fetch", "--source", str(ROOT / "data" / "sample"), "--per-subreddit", "100", "-o",
             "sample.csv")  # fmt: skip
    styles = conditioning(train("styles", "styles.csv", STYLES_MODEL, STYLES_TRAIN),
                          args.per_subreddit)  # fmt: skip
    demo_run = train("demo", "sample.csv", DEMO_MODEL, DEMO_TRAIN)
    demo = conditioning(demo_run, args.per_subreddit)
    copied = copies(demo_run, 300)
    print(json.dumps({"styles": styles, "demo": demo, "copies": copied}))
    print()
    print("| dataset | model | subreddits | titles | assigned to the requested subreddit "
          "| chance | classifier on held-out real titles |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, shape, r in [
        ("synthetic styles", "1 layer x 32, 200 steps", styles),
        ("bundled sample", "demo: 2 layers x 128, 1600 steps", demo),
    ]:
        print(f"| {label} | {shape} | {r['subreddits']} | {r['titles']} | {r['share']:.0%} "
              f"| {1 / r['subreddits']:.0%} | {r['ceiling']:.0%} |")  # fmt: skip
    print()
    print(f"Demo model, {copied['titles']} titles without --subreddit: "
          f"{copied['verbatim']:.1%} verbatim copies of a training title, "
          f"{copied['normalised']:.1%} after normalising.")  # fmt: skip


if __name__ == "__main__":
    main()
