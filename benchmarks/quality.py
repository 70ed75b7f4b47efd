"""How good the titles are, measured: `make quality`.

1. Subreddit conditioning: the share of titles generated with ``--subreddit NAME`` that a simple
   classifier (multinomial naive Bayes on word and character n-grams, scikit-learn), trained on
   the dataset's real titles, assigns to NAME. Measured on the bundled sample with a model made
   and trained by the demo settings, and on a synthetic set of three styles that a rule can
   tell apart. For scale: the classifier's accuracy on the real titles held out from training
   (the ceiling), and chance (one over the number of subreddits).
2. Copies: the share of titles (generated without --subreddit) that repeat a training title,
   verbatim and after normalising case, whitespace and punctuation.
3. Keyword conditioning: a demo-sized model trained with ``--keywords``; for the keywords of
   each held-out title (and its subreddit), titles generated with ``--keywords``: the share
   that contain every asked word (and each asked word), against titles generated for the same
   subreddit without asking (chance) and the share of training titles that contain them; and
   its subreddit conditioning, measured as in 1.

Runs everything through the titlegen command line (keyword titles through its library, the
run loaded once: hundreds of prompts), under benchmarks/.work/quality; prints Markdown tables
for the README.

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


def keyword_hits(run: Path, per_title: int) -> dict:
    """For the keywords the run drew for each of its held-out titles (with that title's
    subreddit, on a conditioned run): ``per_title`` titles generated with them, and as many
    without asking; the share of each that contain every asked word (as content words, so
    "cat" is not found in "catalog")."""
    from titlegen import dataset, runs, sampling

    form = runs.Format.of(run)
    split = rows(run / "titles.csv")
    asks = [(r["subreddit"] or None, form.keywords.of(r["title"])) for r in split
            if r["split"] == "val"]  # fmt: skip
    asks = [(name, words) for name, words in asks if words]
    trained = [set(dataset.content_words(r["title"])) for r in split if r["split"] == "train"]

    def has(title: str, words: list[str]) -> bool:
        return set(words) <= set(dataset.content_words(title))

    generator = sampling.Generator(run)
    counts = {"asked": 0, "unasked": 0, "titles": 0, "asked_words": 0, "unasked_words": 0,
              "words": 0}  # fmt: skip
    try:
        for i, (name, words) in enumerate(asks):
            names = [name] if name and form.condition else []
            ask = sampling.SampleOptions(nsamples=per_title, seed=i, keywords=", ".join(words))
            asked = _titles(generator, ask, names)
            plain = _titles(generator, sampling.SampleOptions(nsamples=per_title, seed=i), names)
            counts["asked"] += sum(has(title, words) for title in asked)
            counts["unasked"] += sum(has(title, words) for title in plain)
            counts["titles"] += per_title  # a title the model failed to write is a miss
            counts["asked_words"] += sum(w in dataset.content_words(title) for title in asked
                                         for w in words)  # fmt: skip
            counts["unasked_words"] += sum(w in dataset.content_words(title) for title in plain
                                           for w in words)  # fmt: skip
            counts["words"] += per_title * len(words)
    finally:
        generator.close()
    base = sum(set(words) <= title for _, words in asks for title in trained)
    return {
        "asks": len(asks),
        "titles": counts["titles"],
        "share": counts["asked"] / counts["titles"],
        "word_share": counts["asked_words"] / counts["words"],
        "chance": counts["unasked"] / counts["titles"],
        "word_chance": counts["unasked_words"] / counts["words"],
        "training_titles": base / (len(asks) * len(trained)),
    }


def _titles(generator, options, names: list[str]) -> list[str]:
    from titlegen.errors import TitlegenError

    try:
        return [sample.title for sample in generator.generate(options, names)]
    except TitlegenError:  # an undertrained model: fewer titles than asked, counted as misses
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-subreddit", type=int, default=40, help="titles per subreddit")
    parser.add_argument("--per-keywords", type=int, default=5, help="titles per keyword set")
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
    keyword_run = train("keywords", "sample.csv", DEMO_MODEL, [*DEMO_TRAIN, "--keywords"])
    keywords = keyword_hits(keyword_run, args.per_keywords)
    keyword_demo = conditioning(keyword_run, args.per_subreddit)  # the subreddit, still followed?
    print(json.dumps({"styles": styles, "demo": demo, "copies": copied, "keywords": keywords,
                      "keyword_demo": keyword_demo}))  # fmt: skip
    print()
    print("| dataset | model | subreddits | titles | assigned to the requested subreddit "
          "| chance | classifier on held-out real titles |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, shape, r in [
        ("synthetic styles", "1 layer x 32, 200 steps", styles),
        ("bundled sample", "demo: 2 layers x 128, 1600 steps", demo),
        ("bundled sample, `--keywords`", "demo: 2 layers x 128, 1600 steps", keyword_demo),
    ]:
        print(f"| {label} | {shape} | {r['subreddits']} | {r['titles']} | {r['share']:.0%} "
              f"| {1 / r['subreddits']:.0%} | {r['ceiling']:.0%} |")  # fmt: skip
    print()
    print(f"Demo model, {copied['titles']} titles without --subreddit: "
          f"{copied['verbatim']:.1%} verbatim copies of a training title, "
          f"{copied['normalised']:.1%} after normalising.")  # fmt: skip
    print()
    k = keywords
    print("| dataset | model | keyword sets | titles | contain every asked word (chance) "
          "| each asked word (chance) | training titles with them |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    print(f"| bundled sample, `--keywords` | demo: 2 layers x 128, 1600 steps | {k['asks']} "
          f"| {k['titles']} | {k['share']:.1%} ({k['chance']:.1%}) | {k['word_share']:.1%} "
          f"({k['word_chance']:.1%}) | {k['training_titles']:.2%} |")  # fmt: skip


if __name__ == "__main__":
    main()
