"""The fast sampling loop against gpt-2-simple's own, on real checkpoints trained by the tests."""

from __future__ import annotations

import json

import pytest

from titlegen import dataset, sampling
from titlegen.sampling import graph as sampling_graph


@pytest.fixture(scope="module")
def generator(trained):
    generator = sampling.Generator(trained[0])
    yield generator
    generator.close()


def gpt_2_simple_tokens(folder, context, *, batch_size, length, top_k):
    """What gpt-2-simple's sample_sequence (the graph its generate() runs) samples."""
    import tensorflow as tf
    from gpt_2_simple.src import model, sample

    hparams = model.default_hparams()
    hparams.override_from_dict(json.loads((folder / "hparams.json").read_text()))
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        placeholder = tf.compat.v1.placeholder(tf.int32, [batch_size, None])
        tokens = sample.sample_sequence(
            hparams=hparams,
            length=length,
            context=placeholder,
            batch_size=batch_size,
            temperature=0.7,
            top_k=top_k,
        )
        tf.compat.v1.train.Saver().restore(session, tf.train.latest_checkpoint(str(folder)))
        return session.run(tokens, {placeholder: [context] * batch_size})


@pytest.mark.parametrize("prefix", ["", "What", "TIL 🎉 東京 שלום"])
def test_top_k_1_gives_gpt_2_simple_tokens(generator, prefix):
    context = generator._context(prefix)
    rows = [sampling.Row(tuple(context), seed, temperature=0.7, length=40) for seed in (1, 2)]
    ours = generator.sample(rows, sampling.Kind(top_k=1, top_p=0.0, truncate=None, cut_after=1))
    theirs = gpt_2_simple_tokens(generator.folder, context, batch_size=2, length=40, top_k=1)
    assert all(ours)
    assert [context + row for row in ours] == theirs[:, : len(context) + len(ours[0])].tolist()


@pytest.mark.parametrize("cut_after", [1, 2])
def test_a_row_stops_where_the_text_is_cut(generator, cut_after):
    # A batch large enough that ended rows are dropped on the way (sampling_graph._compact).
    batch = sampling_graph.COMPACT_FROM
    options = sampling.SampleOptions(batch_size=batch, length=200, truncate="e", seed=3)
    subreddit = None if cut_after == 2 else "aww"  # unasked, the row starts with a name
    assert generator._cut_after(options, subreddit) == cut_after
    context = tuple(generator._context("", subreddit))
    asked = [sampling.Row(context, seed, 0.7, options.length) for seed in range(batch)]
    kind = sampling.Kind(top_k=0, top_p=0.0, truncate="e", cut_after=cut_after)
    rows = generator.sample(asked, kind)
    assert max(len(row) for row in rows) < options.length  # the batch stopped early

    def ended(row) -> bool:  # where the graph ended it, by the rule _sample cuts the text by
        text = generator.vocabulary.decode(row)
        return len(generator._row_text(text, options, subreddit)[0]) < len(text)

    assert len(rows) == batch and all(ended(row) for row in rows)
    # The last row to end ended at the last step: its end is in its last token.
    assert any(not ended(row[:-1]) for row in rows)


def matches(rows, vocabulary, stops=(), cuts=(), cut_after=1):
    """Per row, per step: whether the stop matcher says the token just fed ended the row."""
    import tensorflow as tf

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        matcher = sampling_graph._StopMatcher(list(stops), vocabulary, list(cuts), cut_after)
        state, ended = matcher.empty(len(rows)), []
        for step in range(len(rows[0])):
            state, done = matcher.update(state, tf.constant([row[step] for row in rows]))
            ended.append(done)
        ended = session.run(ended)
    return [[bool(d) for d in row] for row in zip(*ended, strict=True)]


def test_stop_strings_spanning_tokens_and_split_characters():
    vocabulary = [b"<|", b"endoftext", b"|>", b"?<|", b"\xf0\x9f", b"\x8e\x89", b"x", b"e"]
    stops = [dataset.END.encode(), "🎉".encode()]
    rows = [
        [6, 0, 1, 2],  # x<|endoftext|>: ends at the last token
        [3, 1, 6, 2],  # ?<|endoftext x|>: never
        [6, 4, 5, 6],  # x, then an emoji split across two tokens: ends at the third
        [7, 7, 7, 7],  # e e e e: never
    ]
    assert matches(rows, vocabulary, stops=stops) == [
        [False, False, False, True],
        [False, False, False, False],
        [False, False, True, False],  # completed by the third token only
        [False, False, False, False],
    ]


def test_a_cut_ends_a_row_only_after_the_title_began():
    vocabulary = [b" Hi", b" ", b"x", b"\n", b"numbers", b"a b", b"!"]
    rows = [
        [0, 0, 0, 0],  # " Hi Hi Hi Hi": a conditioned title starts with a space
        [1, 3, 2, 0],  # spaces and a newline, then the title: only at " Hi", after "x"
        [2, 5, 6, 1],  # "xa b! ": at the space inside "a b", and at the last space
        [2, 2, 2, 2],  # no space: never
    ]
    assert matches(rows, vocabulary, cuts=[b" "]) == [
        [False, True, True, True],
        [False, False, False, True],
        [False, True, False, True],
        [False, False, False, False],
    ]
    # The subreddit's name first (unasked): a cut counts once the second word has begun.
    named = [[4, 0, 0, 0], [4, 1, 2, 1]]
    assert matches(named, vocabulary, cuts=[b" "], cut_after=2) == [
        [False, False, True, True],
        [False, False, False, True],
    ]
    # A stop ends a row wherever it is, and so does a cut after no words (an included prefix).
    assert matches([[1, 0]], vocabulary, stops=[b" "]) == [[True, True]]
    assert matches([[1, 0]], vocabulary, cuts=[b" "], cut_after=0) == [[True, True]]


def test_a_row_samples_the_same_alone_or_in_any_batch(generator):
    """What lets titlegen serve batch many requests and still keep --seed's promise."""
    kind = sampling.Kind(top_k=0, top_p=0.0, truncate=None, cut_after=1)
    start = tuple(generator._context(""))  # the start marker alone: nothing to share
    named = tuple(generator._context("", "aww"))  # the marker is run once and shared
    prefixed = tuple(generator._context("What a"))
    rows = [sampling.Row(named, 5, 0.9, 30), sampling.Row(start, 5, 0.9, 30)]
    alone = [generator.sample([row], kind)[0] for row in rows]
    others = [sampling.Row(prefixed, 2, 1.5, 50), sampling.Row(named, 6, 0.9, 30)]
    # More than COMPACT_FROM rows, so ended rows are dropped on the way.
    crowd = [sampling.Row(named, seed, 1.0, 40) for seed in range(sampling_graph.COMPACT_FROM)]
    crowd += [sampling.Row(start, seed, 1.0, 40) for seed in range(8)]  # start's batch too
    together = generator.sample([others[0], rows[0], *crowd, rows[1], others[1]], kind)
    assert [together[1], together[-2]] == alone
    assert together[-1] != alone[0]  # another seed, another row
    assert all(1 <= len(row) <= 40 for row in together[2:-2])  # each row's own limit
    assert len(generator.sample([sampling.Row(named, 1, 0.7, 1)], kind)[0]) == 1
