"""Title cleaning and the CSV dataset file."""

from __future__ import annotations

import pandas as pd
import pytest

from titlegen import units
from titlegen.atomic import atomic_write
from titlegen.dataset import (
    Row,
    check_subreddit_names,
    clean_title,
    documents,
    normalize,
    split,
    tidy,
    write_dataset,
)
from titlegen.errors import TitlegenError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Fish &amp; chips", "Fish & chips"),
        (
            "&lt;3 &gt; &quot;hi&quot; &#39;yo&#39; &eacute;t&eacute; &#x1F600;",
            "<3 > \"hi\" 'yo' été 😀",
        ),
        ("&amp;amp; is unescaped once", "&amp; is unescaped once"),
        ("line\nbreak\r\nand\ttab", "line break and tab"),
        ("\u00a0no-break\u2003em\u3000ideographic ", "no-break em ideographic"),
        ("repl\ufffdacement", "replacement"),
        ("  [deleted]  ", "[deleted]"),
        ("مرحبا, שלום, 你好", "مرحبا, שלום, 你好"),
    ],
)
def test_clean_title(raw, clean):
    assert clean_title(raw) == clean


def test_tidy_drops_placeholders_and_repeats_and_sorts():
    rows = pd.DataFrame(
        {
            "subreddit": ["b", "b", "a", "a", "a", "a", "a"],
            "title": ["x", "x &amp; y", "[removed]", "x", " ", "x & y", "x  & y"],
            "score": [1, 2, 50, 3, 40, 9, 10],
        }
    )

    result = tidy(rows)

    assert result.to_dict("list") == {
        "subreddit": ["a", "a", "b", "b"],
        "title": ["x & y", "x", "x & y", "x"],
    }


def test_write_dataset_is_atomic(tmp_path):
    out = tmp_path / "t.csv"
    write_dataset(pd.DataFrame({"subreddit": ["a"], "title": ['say "hi", ok']}), out)
    assert out.read_text(encoding="utf-8") == 'subreddit,title\na,"say ""hi"", ok"\n'
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_atomic_write_leaves_nothing_when_the_block_fails(tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_write(out) as f:
        f.write("half of the new")
        raise KeyboardInterrupt
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("1000", 1000),
        ("50GB", 50 * 10**9),
        ("50GiB", 50 * 2**30),
        ("1.5 TiB", int(1.5 * 2**40)),
        ("200g", 200 * 10**9),
        ("10 kb", 10_000),
    ],
)
def test_parse_size(text, size):
    assert units.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-5GB", "5 parsecs", "1e9"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(TitlegenError, match="is not a size"):
        units.parse_size(text)


def test_format_size():
    assert units.format_size(0) == "0 B"
    assert units.format_size(1536) == "1.5 KiB"
    assert units.format_size(50 * 2**30) == "50 GiB"
    assert units.format_size(3 * 2**50) == "3072 TiB"


def rows(*pairs: tuple[str, str]) -> list[Row]:
    return [Row(subreddit, title) for subreddit, title in pairs]


def test_conditioned_documents_put_the_subreddit_first_and_drop_markers_from_titles():
    docs = documents(
        rows(("aww", "My dog"), ("Jokes", "a <|endoftext|> b <|startoftext|>[x] r/y: ~|")),
        condition=True,
    )
    assert docs == [
        "<|startoftext|>aww My dog<|endoftext|>\n",
        "<|startoftext|>Jokes a b [x] r/y: ~|<|endoftext|>\n",
    ]
    assert documents(rows(("aww", "My dog"))) == ["<|startoftext|>My dog<|endoftext|>\n"]


@pytest.mark.parametrize(
    ("a", "b"), [("TIL: cats  sleep!", "til cats sleep"), ("Don't—stop", "don t stop")]
)
def test_normalize_ignores_case_whitespace_and_punctuation(a, b):
    assert normalize(a) == normalize(b)
    assert normalize("cats sleep") != normalize("cats sleep a lot")


def test_split_is_deterministic_by_title_and_seed():
    data = rows(*[("a", f"title number {i}") for i in range(200)], ("b", "Title number 7!"))
    train, val = split(data, 0.1, seed=1)
    assert (train, val) == split(data, 0.1, seed=1)
    assert 10 <= len({normalize(r.title) for r in val}) <= 30  # about 20 of the 200 titles
    assert not {normalize(r.title) for r in train} & {normalize(r.title) for r in val}
    sevens = [r for r in data if normalize(r.title) == "title number 7"]
    assert all(r in val for r in sevens) or all(r in train for r in sevens)  # one side
    assert split(data, 0.1, seed=2)[1] != val
    assert split(data, 0, seed=1) == (data, [])


def test_a_held_out_title_stays_held_out_when_the_dataset_changes():
    # A run resumed on a grown (or another) dataset must not train on titles it held out.
    first = rows(*[("a", f"title number {i}") for i in range(300)])
    later = rows(*[("a", f"title number {i}") for i in range(250, 400)])
    held_first = {r.title for r in split(first, 0.1, seed=5)[1]}
    train_later = {r.title for r in split(later, 0.1, seed=5)[0]}
    assert not held_first & train_later
    assert len(held_first & {r.title for r in later}) > 0  # the test covers shared titles


def test_subreddit_names_are_checked_for_conditioning(tmp_path):
    check_subreddit_names(rows(("Ask_Reddit2", "x")), tmp_path / "d.csv")
    with pytest.raises(TitlegenError, match="names a subreddit 'Ask Reddit', but names are"):
        check_subreddit_names(rows(("Ask Reddit", "x")), tmp_path / "d.csv")
