"""Three subreddits whose styles a rule tells apart: the data of the conditioning and novelty
tests, and of benchmarks/quality.py's separable set."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

LOUD = "WOW HUGE NEWS BIG LOOK THIS NOW BEST EVER WIN GOAL YES STOP FIRE".split()  # noqa: SIM905
SOFT = "quiet soft calm slow rain moss tea sleep gentle hush dusk mist leaf nap".split()  # noqa: SIM905
STYLES = {  # how a title of each subreddit looks
    "numbers": re.compile(r"\d+( \d+)*"),
    "shouting": re.compile(r"[A-Z]+( [A-Z]+)*!"),
    "whispers": re.compile(r"[a-z]+( [a-z]+)*"),
}


def write(path: Path, per_subreddit: int = 150) -> Path:
    """A CSV dataset of the three styles, the same every time."""
    rng = random.Random(0)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["subreddit", "title"])
        for _ in range(per_subreddit):
            words = rng.randint(3, 6)
            writer.writerow(["numbers", " ".join(str(rng.randint(1, 99)) for _ in range(words))])
            writer.writerow(["shouting", " ".join(rng.choices(LOUD, k=words)) + "!"])
            writer.writerow(["whispers", " ".join(rng.choices(SOFT, k=words))])
    return path
