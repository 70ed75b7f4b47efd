"""A Reddit submission dump that looks real, for benchmarks/dumps.py: ~70 fields a post in
Reddit's API order (title early, _meta last), ~2.3 KB a line, deterministic (seed 14).

Ported from the research prototype of issue 14 (make_dump.py). Titles and selftext come from a
30k pseudo-word Zipf vocabulary with emoji, CJK, RTL, HTML entities, tabs, NBSP and zero-width
spaces, so that zstd compresses it about as much as a real dump (6x); 5,000 subreddits of Zipf
sizes, 60k authors (12% [deleted]); 7.3% over_18, 0.1% quarantine, 15% removed_by_category,
3% non-public subreddit_type; _meta on 92% of the lines (19.5% was_deleted_later).
Its pitfall lines (``pitfalls=True``: one every 1,000 posts) are those tests/test_dumps_formats.py
also covers.

    python benchmarks/dump_data.py N OUT.jsonl [--pitfalls]
"""

# ruff: noqa: E501  (long literal rows of generated data, kept as in the prototype)
from __future__ import annotations

import itertools
import json
import random
import string
import zlib
from pathlib import Path

rng = random.Random(14)

WORDS = [
    "the",
    "a",
    "my",
    "i",
    "you",
    "why",
    "what",
    "how",
    "when",
    "this",
    "that",
    "is",
    "was",
    "are",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "cat",
    "dog",
    "reddit",
    "today",
    "finally",
    "first",
    "time",
    "after",
    "years",
    "anyone",
    "else",
    "think",
    "just",
    "made",
    "found",
    "new",
    "old",
    "best",
    "worst",
    "ever",
    "help",
    "please",
    "question",
    "update",
    "game",
    "movie",
    "music",
    "food",
    "car",
    "house",
    "work",
    "school",
    "friend",
    "mom",
    "dad",
    "kid",
    "baby",
    "life",
    "world",
    "news",
    "study",
    "shows",
    "people",
]
UNI = [
    "é",
    "ü",
    "ñ",
    "ß",
    "€",
    "—",
    "“",
    "”",
    "’",
    "…",
    "😂",
    "🔥",
    "❤️",
    "👍",
    "🙏",
    "中文",
    "日本語",
    "עברית",
    "العربية",
    "Ω",
    "≈",
    "&amp;",
    "&#39;",
    "&lt;3",
    '"quoted"',
    "\\o/",
    "\t",
    "\u00a0",
    "\u200b",
]
REMOVED = [
    "moderator",
    "deleted",
    "automod_filtered",
    "reddit",
    "author",
    "anti_evil_ops",
    "content_takedown",
    "copyright_takedown",
]
DOMAINS = ["i.redd.it", "youtube.com", "v.redd.it", "imgur.com", "twitter.com", "nytimes.com"]


def zipf_names(k):
    names = []
    for _i in range(k):
        n = "".join(
            rng.choice(string.ascii_letters + string.digits + "_")
            for _ in range(rng.randint(3, 18))
        )
        names.append(n)
    return names


SUBS = zipf_names(5000)
SUB_W = [1 / (i + 1) ** 1.1 for i in range(len(SUBS))]
SUB_CUM = list(itertools.accumulate(SUB_W))
SUB_TYPE = {
    s: (
        "public"
        if rng.random() < 0.97
        else rng.choice(["restricted", "user", "private", "archived"])
    )
    for s in SUBS
}
SUB_NSFW = {s: rng.random() < 0.08 for s in SUBS}
SUB_QUAR = {s: rng.random() < 0.003 for s in SUBS}
AUTHORS = [
    (
        "".join(
            rng.choice(string.ascii_letters + string.digits + "-_")
            for _ in range(rng.randint(3, 20))
        )
    )
    for _ in range(60000)
]


VOCAB = WORDS + [
    "".join(rng.choice("etaoinshrdlucmfwypvbgkjqxz") for _ in range(rng.randint(2, 11)))
    for _ in range(30000)
]
VCUM = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(len(VOCAB))))


def text(nwords, uni=0.08):
    out = rng.choices(VOCAB, cum_weights=VCUM, k=nwords)
    for j in range(nwords):
        if rng.random() < uni:
            out[j] = rng.choice(UNI)
    return " ".join(out)


def b36(n):
    s = ""
    while n:
        n, r = divmod(n, 36)
        s = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + s
    return s


DROP = [
    "saved",
    "clicked",
    "hidden",
    "pwls",
    "downs",
    "top_awarded_type",
    "hide_score",
    "link_flair_text_color",
    "author_flair_background_color",
    "total_awards_received",
    "author_flair_template_id",
    "is_original_content",
    "is_meta",
    "category",
    "can_mod_post",
    "is_created_from_ads_ui",
    "author_premium",
    "author_flair_css_class",
    "content_categories",
    "mod_note",
    "wls",
    "allow_live_comments",
    "likes",
    "view_count",
    "visited",
    "author_is_blocked",
    "mod_reason_by",
    "discussion_type",
    "author_patreon_flair",
    "author_flair_text_color",
    "report_reasons",
    "num_reports",
    "selftext_html",
    "mod_reason_title",
    "banned_at_utc",
]


def post(i):
    sub = rng.choices(SUBS, cum_weights=SUB_CUM)[0]
    pid = b36(3_000_000_000 + i * 7)
    author = rng.choice(AUTHORS) if rng.random() > 0.12 else "[deleted]"
    is_self = rng.random() < 0.45
    if is_self:
        n = int(rng.lognormvariate(4.0, 1.2))
        selftext = (
            text(min(n, 7000)) if rng.random() > 0.1 else rng.choice(["[removed]", "[deleted]"])
        )
    else:
        selftext = ""
    domain = f"self.{sub}" if is_self else rng.choice(DOMAINS)
    created = 1_767_225_600 + i * 13
    title = text(rng.randint(2, 25), 0.12)
    if rng.random() < 0.02:
        title = title + "\n" + text(3)
    removed = rng.choice(REMOVED) if rng.random() < 0.15 else None
    score = int(rng.paretovariate(1.2)) - 1
    nsfw = SUB_NSFW[sub] or rng.random() < 0.03
    flair = text(2, 0) if rng.random() < 0.4 else None
    permalink = f"/r/{sub}/comments/{pid}/{'_'.join(title.split()[:6]).lower()[:50]}/"
    url = (
        f"https://www.reddit.com{permalink}"
        if is_self
        else f"https://{domain}/{pid}{rng.randint(0, 10**9)}"
    )
    p = {
        "approved_at_utc": None,
        "subreddit": sub,
        "selftext": selftext,
        "author_fullname": f"t2_{b36(rng.randint(10**8, 10**10))}",
        "saved": False,
        "mod_reason_title": None,
        "gilded": 0,
        "clicked": False,
        "title": title,
        "link_flair_richtext": [{"e": "text", "t": flair}] if flair else [],
        "subreddit_name_prefixed": f"r/{sub}",
        "hidden": False,
        "pwls": 6,
        "link_flair_css_class": None,
        "downs": 0,
        "thumbnail_height": 140 if not is_self else None,
        "top_awarded_type": None,
        "hide_score": False,
        "name": f"t3_{pid}",
        "quarantine": SUB_QUAR[sub],
        "link_flair_text_color": "dark",
        "upvote_ratio": round(rng.random(), 2),
        "link_flair_template_id": f"{rng.getrandbits(128):032x}",
        "author_flair_background_color": None,
        "subreddit_type": SUB_TYPE[sub],
        "ups": score,
        "total_awards_received": 0,
        "media_embed": {},
        "thumbnail_width": 140 if not is_self else None,
        "author_flair_template_id": None,
        "is_original_content": False,
        "user_reports": [],
        "secure_media": None,
        "is_reddit_media_domain": domain in ("i.redd.it", "v.redd.it"),
        "is_meta": False,
        "category": None,
        "secure_media_embed": {},
        "link_flair_text": flair,
        "can_mod_post": False,
        "score": score,
        "approved_by": None,
        "is_created_from_ads_ui": False,
        "author_premium": False,
        "thumbnail": "self" if is_self else f"https://b.thumbs.redditmedia.com/{pid}.jpg",
        "edited": False,
        "author_flair_css_class": None,
        "author_flair_richtext": [],
        "gildings": {},
        "content_categories": None,
        "is_self": is_self,
        "subreddit_id": f"t5_{b36(zlib.crc32(sub.encode()))}",  # hash() varies by process
        "mod_note": None,
        "created": created,
        "link_flair_type": "richtext" if flair else "text",
        "wls": 6,
        "removed_by_category": removed,
        "banned_by": None,
        "author_flair_type": "text",
        "domain": domain,
        "allow_live_comments": False,
        "selftext_html": None,
        "likes": None,
        "suggested_sort": None,
        "banned_at_utc": None,
        "view_count": None,
        "archived": False,
        "no_follow": score < 2,
        "is_crosspostable": True,
        "pinned": False,
        "over_18": nsfw,
        "all_awardings": [],
        "awarders": [],
        "media_only": False,
        "can_gild": False,
        "spoiler": False,
        "locked": False,
        "author_flair_text": None,
        "treatment_tags": [],
        "visited": False,
        "removed_by": None,
        "num_reports": None,
        "distinguished": None,
        "subreddit_id2": None,
        "author_is_blocked": False,
        "mod_reason_by": None,
        "removal_reason": None,
        "link_flair_background_color": "",
        "id": pid,
        "is_robot_indexable": removed is None,
        "report_reasons": None,
        "author": author,
        "discussion_type": None,
        "num_comments": int(rng.paretovariate(1.0)) - 1,
        "send_replies": True,
        "contest_mode": False,
        "mod_reports": [],
        "author_patreon_flair": False,
        "author_flair_text_color": None,
        "permalink": permalink,
        "stickied": rng.random() < 0.001,
        "url": url,
        "subreddit_subscribers": rng.randint(0, 5 * 10**7),
        "created_utc": created,
        "num_crossposts": 0,
        "media": None,
        "is_video": domain == "v.redd.it",
        "retrieved_on": created + 36 * 3600,
    }
    del p["subreddit_id2"]
    for k in DROP:
        del p[k]
    if not is_self and rng.random() < 0.25:
        p["preview"] = {
            "images": [
                {
                    "source": {
                        "url": f"https://preview.redd.it/{pid}.jpg?auto=webp&amp;s="
                        + f"{rng.getrandbits(128):032x}",
                        "width": 1080,
                        "height": 1350,
                    },
                    "resolutions": [
                        {
                            "url": f"https://preview.redd.it/{pid}.jpg?width={w}&amp;crop=smart&amp;s="
                            + f"{rng.getrandbits(128):032x}",
                            "width": w,
                            "height": w * 5 // 4,
                        }
                        for w in (108, 216, 320, 640)
                    ],
                    "variants": {},
                    "id": f"{rng.getrandbits(80):020x}",
                }
            ],
            "enabled": True,
        }
    if rng.random() < 0.92:  # _meta absent in older / some lines
        meta = {"was_deleted_later": rng.random() < 0.195}
        if removed and rng.random() < 0.7:
            meta["removal_type"] = removed
        p["_meta"] = meta
    return p


PITFALLS = [
    b'{"subreddit": "pit", "title": "huge selftext", "score": 9, "author": "a", "selftext": "'
    + b"x" * 5_000_000
    + b'"}',
    b'{"subreddit": "pit", "title": "bad utf8 \xff\xfe here", "score": 9, "author": "a"}',
    b'{"subreddit": "pit", "title": "lone surrogate \\ud800", "score": 9, "author": "a"}',
    b'{"subreddit": "pit", "title": "no other fields"}',
    b'{"subreddit": "pit", "title": "score as string", "score": "12", "author": "b", "over_18": "false"}',
    b'{"subreddit": "pit", "title": "score as float", "score": 12.0, "author": "b", "_meta": null}',
    b'{"subreddit": "pit", "title": null, "score": 3}',
    b'{"subreddit": null, "title": "null subreddit"}',
    b"[1, 2, 3]",
    b"",
    b"   ",
    b'{"subreddit": "pit", "title": "duplicate key", "title": "second wins", "score": 1, "author": "c"}',
    b'{"subreddit": "pit", "title": "big int", "score": 123456789012345678901234567890, "author": "c"}',
    b'{"subreddit": "pit", "title": "nan", "score": NaN, "author": "c"}',
    b'{"subreddit": "pit", "title": "CRLF line", "score": 4, "author": "d"}\r',
    b'{"subreddit": "pit", "title": "meta without field", "score": 4, "author": "d", "_meta": {}}',
    b'{"subreddit": "pit", "title": "nested removal", "score": 4, "author": "d", "_meta": {"was_deleted_later": true, "removal_type": "deleted"}}',
    b'{"subreddit": "pit", "title": "trailing garbage"} xyz',
    b'{"subreddit": "pit", "title": "cut off',
]


def write(n: int, out: Path, *, pitfalls: bool = False) -> Path:
    """Write ``n`` posts to ``out`` (JSON lines). Deterministic in a fresh process."""
    with out.open("wb") as f:
        for i in range(n):
            f.write(json.dumps(post(i), ensure_ascii=False).encode() + b"\n")
            if pitfalls and i % 1000 == 500:
                f.write(PITFALLS[(i // 1000) % len(PITFALLS)] + b"\n")
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("posts", type=int, help="how many posts")
    parser.add_argument("out", type=Path, help="the JSON-lines file to write")
    parser.add_argument("--pitfalls", action="store_true", help="add the pitfall lines")
    args = parser.parse_args()
    write(args.posts, args.out, pitfalls=args.pitfalls)
