"""The fast sampling loop against gpt-2-simple's own, on real checkpoints trained by the tests."""

from __future__ import annotations

import json

import pytest

from titlegen import dataset, sampling, sampling_graph


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
    options = sampling.SampleOptions(batch_size=2, length=40, top_k=1, prefix=prefix, seed=1)
    context = generator._context(prefix)
    ours = generator._sampler(options, options.length)(context)
    theirs = gpt_2_simple_tokens(generator.folder, context, batch_size=2, length=40, top_k=1)
    assert ours.shape[1] > len(context)
    assert ours.tolist() == theirs[:, : ours.shape[1]].tolist()


def test_a_row_stops_once_its_stop_string_is_complete(generator):
    # A batch large enough that ended rows are dropped on the way (sampling_graph._compact).
    batch = sampling_graph.COMPACT_FROM
    options = sampling.SampleOptions(batch_size=batch, length=200, truncate="e", seed=3)
    context = generator._context("")
    tokens = generator._sampler(options, options.length)(context)
    steps = tokens.shape[1] - len(context)
    assert steps < options.length  # the batch stopped early
    texts = [generator.vocabulary.decode(row[len(context) :]) for row in tokens]
    assert len(texts) == batch and all("e" in text for text in texts)
    # The last row to end ended at the last step: its "e" is in its last token.
    last = [generator.vocabulary.decode(row[len(context) : -1]) for row in tokens]
    assert any("e" not in text for text in last)


def matches(rows, vocabulary, stops=(), openers=()):
    """Per row, per step: whether the stop matcher says the token just fed ended the row."""
    import tensorflow as tf

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        matcher = sampling_graph._StopMatcher(list(stops), vocabulary, len(rows), list(openers))
        state, ended = matcher.empty(), []
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


def test_a_start_marker_ends_a_row_only_after_text():
    start = dataset.START.encode()
    vocabulary = [b"\n", start, b"Hi", b"x", b" "]
    rows = [
        [0, 1, 2, 1],  # \n <|startoftext|> Hi <|startoftext|>: a second title begins
        [1, 4, 1, 2],  # markers and spaces before the text: the row goes on
        [2, 3, 4, 3],  # no marker: never
    ]
    assert matches(rows, vocabulary, openers=[start]) == [
        [False, False, False, True],
        [False, False, False, False],
        [False, False, False, False],
    ]
