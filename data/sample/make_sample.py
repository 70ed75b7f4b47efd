"""Write the bundled sample dump, RS_2019-08_sample.jsonl, from the hand-written titles.

The titles in titles_*.py are original text written for titlegen; scores, authors, ids and
times are drawn from a seeded generator so the file is the same on every run:

    python data/sample/make_sample.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import titles_a
import titles_b
import titles_c
import titles_d

HERE = Path(__file__).parent
OUT = HERE / "RS_2019-08_sample.jsonl"
AUGUST_2019 = 1564617600  # 2019-08-01T00:00:00Z
MONTH_SECONDS = 31 * 24 * 3600

ADJECTIVES = "quiet brave sleepy lucky rusty salty cosmic fuzzy gentle grumpy tiny wild".split()
NOUNS = "otter falcon teapot walrus cactus badger comet pickle raven maple lantern".split()

# How many different people post in each subreddit: the fetch ranks subreddits by it.
AUTHOR_POOL = {"AskReddit": 45, "worldnews": 40, "todayilearned": 38, "aww": 36, "gaming": 34,
               "Showerthoughts": 30, "science": 28, "LifeProTips": 26, "explainlikeimfive": 24,
               "personalfinance": 22, "Cooking": 20, "books": 18, "NoStupidQuestions": 16,
               "mildlyinteresting": 14, "Jokes": 12, "me_irl": 50}


def all_titles() -> list[tuple[str, str]]:
    pairs = []
    for part in (titles_a, titles_b, titles_c, titles_d):
        for subreddit, block in part.TITLES.items():
            pairs += [(subreddit, line) for line in block.strip().splitlines()]
    return pairs + titles_d.AWKWARD


def author_name(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES)}_{rng.choice(NOUNS)}{rng.randint(1, 999)}"


def post(rng: random.Random, subreddit: str, title: str, pools: dict[str, list[str]]) -> dict:
    created = AUGUST_2019 + rng.randrange(MONTH_SECONDS)
    post_id = format(rng.randrange(36**5, 36**6), "x")
    author = "[deleted]" if title in ("[deleted]", "[removed]") else rng.choice(pools[subreddit])
    return {
        "id": post_id,
        "created_utc": created,
        "subreddit": subreddit,
        "author": author,
        "title": title,
        "score": int(rng.paretovariate(1.2) * 3) - 2,  # long tail: most posts get little
        "num_comments": rng.randrange(0, 400),
        "is_self": subreddit in ("AskReddit", "NoStupidQuestions", "personalfinance"),
        "permalink": f"/r/{subreddit}/comments/{post_id}/",
        # What 2019's dumps record for the safe defaults (they have no _meta: that is Arctic
        # Shift's, from 2023): none of these posts is left out by them.
        "over_18": False,
        "quarantine": False,
        "removed_by_category": None,
        "subreddit_type": "public",
    }


# Posts the safe defaults leave out, one or more per rule, so `make demo` shows them at work.
# Original text written for titlegen, like the rest.
LEFT_OUT = [
    ("Jokes", "A joke far too rude for the front page", {"over_18": True}),
    ("AskReddit", "What is the most embarrassing thing that happened on a date?",
     {"over_18": True}),
    ("gaming", "Mature-rated mod pack for the new space RPG", {"over_18": True}),
    ("strangetheories", "They changed the clocks again and nobody noticed",
     {"quarantine": True}),
    ("worldnews", "Unverified rumour about a famous singer spreads online",
     {"removed_by_category": "moderator"}),
    ("aww", "Click here for free puppies, limited offer!!!", {"removed_by_category": "reddit"}),
    ("clubhouse", "Notes from our members-only meetup", {"subreddit_type": "private"}),
]  # fmt: skip


def main() -> None:
    rng = random.Random(2019)
    pairs = all_titles()
    pools = {sub: [author_name(rng) for _ in range(size)] for sub, size in AUTHOR_POOL.items()}
    posts = [post(rng, subreddit, title, pools) for subreddit, title in pairs]
    rng.shuffle(posts)  # a dump is in time order, not grouped by subreddit
    extra = random.Random(14)  # its own generator: the posts above stay as they were
    pools |= {sub: [author_name(extra)] for sub, _, _ in LEFT_OUT if sub not in pools}
    posts += [post(extra, sub, title, pools) | flags for sub, title, flags in LEFT_OUT]
    posts.sort(key=lambda p: p["created_utc"])
    with OUT.open("w", encoding="utf-8") as out:
        for p in posts:
            out.write(json.dumps(p, ensure_ascii=False) + "\n")
    print(f"wrote {len(posts)} posts in {len(AUTHOR_POOL)} subreddits to {OUT}")


if __name__ == "__main__":
    main()
