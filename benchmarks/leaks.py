"""Conditioned titles that leak the document format, before and after the markers became
single tokens of new-model's vocabularies. Run by hand (about 10 minutes on two cores); no make
target runs it.

Two models of the demo's shape (2 layers x 128, 2 heads, 1,024 tokens), trained alike (1,600
steps, --learning-rate 3e-3, --accumulate-gradients 1, --seed 1) on the three styles of
tests/styles.py, differing only in their vocabulary:

- before: as new-model learned it until now: BPE on the documents with the markers' text, and
  only <|endoftext|> added as a token, so both markers are encoded (and written) as pieces;
- after: as new-model learns it now: BPE on the text between the markers, both markers tokens.

For each, 30 titles asked for with --subreddit NAME for each subreddit (--seed 1), as quality.py
asks. Counted: the rows of the first batch (30 a subreddit, the rows the titles were cut from
before generate dropped any) in which the model began another document, by reason; then, of
the titles generate prints, the leaks (marker pieces, or another subreddit's name first), the
rows it dropped (stderr), and the share in the asked style, by quality.py's classifier and by
the styles' own rule.

    python benchmarks/leaks.py
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "leaks"
BIN = Path(sys.executable).parent
DEMO_MODEL = ["--layers", "2", "--embd", "128", "--heads", "2", "--vocab-size", "1024"]
DEMO_TRAIN = ["--steps", "1600", "--learning-rate", "3e-3", "--accumulate-gradients", "1"]
PER_SUBREDDIT = 30
LEAK = re.compile(r"<\||\|>|startoftext|endoftext|oftext")

sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "benchmarks")]


def titlegen(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / "titlegen"), *args], cwd=WORK, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"titlegen {' '.join(args)} failed:\n{done.stderr}")
    return done


def old_vocabulary(folder: Path, dataset_csv: Path, vocab_size: int) -> None:
    """A model whose vocabulary is new-model's until now: learned with the markers' text."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from titlegen import dataset
    from titlegen.models import new_model

    rows = dataset.read_rows(dataset_csv)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(dataset.documents(rows, condition=True), trainer)
    state = json.loads(tokenizer.to_str())["model"]
    encoder = dict(sorted(state["vocab"].items(), key=lambda item: item[1]))
    encoder[dataset.END] = len(encoder)
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["merges"]]
    folder.mkdir(parents=True, exist_ok=True)
    new_model.write_vocabulary(folder, encoder, merges)
    hparams = {"n_vocab": len(encoder), "n_ctx": 1024, "n_embd": 128, "n_head": 2, "n_layer": 2}
    (folder / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n")
    new_model.write_checkpoint(folder, hparams, seed=new_model.SEED)


def train(name: str) -> Path:
    titlegen("train", "styles.csv", "--model", name, "--model-dir", "models", "--run-name", name,
             "--checkpoint-dir", "checkpoint", "--restore-from", "fresh", "--overwrite",
             "--seed", "1", "--print-every", "1000", *DEMO_TRAIN)  # fmt: skip
    return WORK / "checkpoint" / name


def first_batches(run: Path, names: list[str]) -> collections.Counter:
    """Why each row of the first batch per subreddit was (or was not) a title of it: the rows
    generate --subreddit NAME --seed 1 samples first, in a process of its own."""
    from titlegen import sampling

    options = sampling.SampleOptions(nsamples=PER_SUBREDDIT, batch_size=PER_SUBREDDIT, seed=1)
    reasons: collections.Counter = collections.Counter()
    for name in names:
        generator = sampling.Generator(run)
        try:
            job = generator.job(options, [name])  # its first round: a row per title
            for row in generator.sample(job.round(), job.kind):
                text = generator.vocabulary.decode(row)
                kept, restarted = generator._row_text(text, options, name)
                if restarted:
                    reasons["a start marker"] += 1
                elif sampling.generate._MARKER_TRACES.search(kept):
                    reasons["marker pieces"] += 1
                elif generator._named(kept):
                    reasons["another subreddit's name first"] += 1
                else:
                    reasons["a title"] += 1
        finally:
            generator.close()
    return reasons


def output(run: Path, names: list[str]) -> dict:
    import quality
    from styles import STYLES

    split = quality.rows(run / "titles.csv")
    train_rows = [r for r in split if r["split"] == "train"]
    judge = quality.classifier(
        [r["title"] for r in train_rows], [r["subreddit"] for r in train_rows]
    )
    titles, asked, dropped = [], [], 0
    for name in names:
        done = titlegen("generate", "--run-name", run.name, "--checkpoint-dir", "checkpoint",
                        "--subreddit", name, "--nsamples", str(PER_SUBREDDIT),
                        "--seed", "1")  # fmt: skip
        out = done.stdout.splitlines()
        titles += out
        asked += [name] * len(out)
        found = re.search(r"Dropped (\d+) titles?", done.stderr)
        dropped += int(found[1]) if found else 0
    leaks = sum(bool(LEAK.search(t)) or any(t.startswith(n + " ") for n in names) for t in titles)
    predicted = judge.predict(titles)
    return {
        "titles": len(titles),
        "leaks": leaks,
        "dropped": dropped,
        "classifier": sum(p == a for p, a in zip(predicted, asked, strict=True)) / len(titles),
        "rule": sum(bool(STYLES[a].fullmatch(t)) for t, a in zip(titles, asked, strict=True))
        / len(titles),
        "examples": titles[::15],
    }


def main() -> None:
    import styles

    WORK.mkdir(parents=True, exist_ok=True)
    styles.write(WORK / "styles.csv")
    names = sorted(styles.STYLES)
    titlegen("new-model", "after", "--from", "styles.csv", "--model-dir", "models", "--overwrite",
             *DEMO_MODEL)  # fmt: skip
    old_vocabulary(WORK / "models" / "before", WORK / "styles.csv", 1024)
    results = {}
    for name in ("before", "after"):
        run = train(name)
        results[name] = {"first batch": dict(first_batches(run, names)), **output(run, names)}
        print(name, json.dumps(results[name], ensure_ascii=False), flush=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
