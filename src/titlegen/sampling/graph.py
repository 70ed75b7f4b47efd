"""The sampling loop as a TensorFlow graph: gpt-2-simple's ``sample_sequence``, made faster.

Same model (gpt-2-simple's own layers and variable names, so its checkpoints load), same
filters (its ``top_k_logits``/``top_p_logits``), the same distribution as its
``tf.random.categorical`` (drawn per row, from the row's own seed: see ``_uniform``), and with
``top_k=1`` the same tokens. Rows are independent: each has its own prompt, temperature, limit
and seed, so one batch can serve many requests (``titlegen serve``). What differs is the cost:

- the key/value cache is preallocated per layer, time-major ``[time, batch, heads, head_size]``,
  and written in place one position a step (``InplaceUpdate`` reuses its buffer),
  where gpt-2-simple copies the whole cache several times a step (``unstack``, ``concat``,
  ``stack`` and ``concat`` again);
- the loop stops as soon as every row has completed one of its stop strings (the end marker, or
  ``--truncate``), where gpt-2-simple always runs ``length`` steps; and once half the rows of a
  batch of ``COMPACT_FROM`` or more have ended, the loop goes on with the others only, so one
  rambling row does not keep a whole batch busy until ``length``. Stop strings are matched on
  the bytes of the sampled tokens inside the graph: a ``--truncate`` string may end inside a
  token, and in GPT-2's own vocabulary a marker is several tokens, split differently depending
  on the character before it, so no single token id marks an end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMPACT_FROM = 32  # batch size from which ended rows are dropped (smaller: not worth the graph)


@dataclass(frozen=True)
class Inputs:
    """The placeholders of a sampling graph, one row per title being sampled."""

    head: Any  # [1, h] tokens every row starts with, run once and shared (h may be 0)
    tails: Any  # [batch, width] the rest of each row's prompt, padded after its length
    lengths: Any  # [batch] tokens of each tail, at least 1
    limits: Any  # [batch] tokens to sample at most, per row
    temperatures: Any  # [batch]
    seeds: Any  # [batch] int64: each row's own random stream (see _uniform)
    top_k: Any  # the batch's top-k, 0 = off
    top_p: Any  # the batch's top-p, 0 = off; when set, it is used instead of top-k


def inputs() -> Inputs:
    import tensorflow as tf

    batch = tf.compat.v1.placeholder
    return Inputs(
        head=batch(tf.int32, [1, None], "head"),
        tails=batch(tf.int32, [None, None], "tails"),
        lengths=batch(tf.int32, [None], "lengths"),
        limits=batch(tf.int32, [None], "limits"),
        temperatures=batch(tf.float32, [None], "temperatures"),
        seeds=batch(tf.int64, [None], "seeds"),
        top_k=batch(tf.int32, [], "top_k"),
        top_p=batch(tf.float32, [], "top_p"),
    )


def build(
    *,
    hparams: Any,
    given: Inputs,
    stops: list[bytes],
    vocabulary: list[bytes],
    cuts: list[bytes] = (),
    cut_after: int = 1,
    prefilled: bool = True,
) -> Any:
    """Tokens ``[batch, 1 + steps]``: each row's first tail token, then one token per step:
    the rest of its tail (fed, not sampled), then sampled tokens until the row has sampled one
    of ``stops`` (or one of ``cuts`` after its first ``cut_after`` words, see
    ``_StopMatcher``) or its limit; the loop ends when every row has. Row ``r``'s sampled
    tokens start at ``lengths[r]``. Without ``prefilled``, ``head`` is empty and not run.

    A row's tokens depend only on its own prompt, temperature and seed, not on the other rows
    of its batch: the shared head runs once for one row and is copied, the tails are fed one
    token a step, and each row draws from its own random stream.
    """
    import tensorflow as tf
    from gpt_2_simple.src import model, sample

    layers, heads = hparams.n_layer, hparams.n_head
    size = hparams.n_embd // heads
    batch = tf.shape(given.tails)[0]
    steps = tf.reduce_max(given.lengths + given.limits) - 1  # at most
    stop_tail = _StopMatcher(stops, vocabulary, cuts, cut_after)

    if prefilled:  # the head in one pass, with gpt-2-simple's model (its cache layout)
        present = model.model(hparams=hparams, X=given.head, reuse=tf.compat.v1.AUTO_REUSE)
        start = tf.shape(given.head)[1]  # position of the first tail token
        caches = []
        for layer in range(layers):
            for kv in range(2):  # [1, heads, time, size] -> [time, batch, heads, size]
                past = tf.transpose(present["present"][:, layer, kv], [2, 0, 1, 3])
                past = tf.tile(past, [1, batch, 1, 1])
                caches.append(tf.pad(past, [[0, steps], [0, 0], [0, 0], [0, 0]]))
    else:
        start = tf.constant(0)
        # One buffer cut in 2 * layers: identical tf.zeros would be merged into one by grappler,
        # and InplaceUpdate writes into its input's buffer, so the caches would share theirs.
        caches = tf.unstack(tf.zeros([2 * layers, steps, batch, heads, size]))
    last = tf.shape(given.tails)[1] - 1

    def body(step, rows, token, ended, sampled, state, caches, out):
        position = start + step
        logits, caches = _decode(hparams, token, position, caches)
        logits = logits / tf.gather(given.temperatures, rows)[:, tf.newaxis]
        logits = tf.cond(  # as in gpt-2-simple: top_p, when set, replaces top_k
            given.top_p > 0.0,
            lambda: sample.top_p_logits(logits, p=given.top_p),
            lambda: _top_k(logits, given.top_k),
        )
        drawn = _draw(logits, _uniform(tf.gather(given.seeds, rows), position))
        # A row still inside its prompt is fed the prompt's next token instead.
        fed = step + 1 < tf.gather(given.lengths, rows)
        prompt = tf.gather(given.tails, rows)[:, tf.minimum(step + 1, last)]
        token = tf.where(fed, prompt, drawn)
        free = tf.logical_not(fed)
        (tail, words), done = stop_tail.update(state, drawn)
        state = (
            tf.where(free[:, tf.newaxis], tail, state[0]),
            tf.where(free, words, state[1]),
        )
        sampled += tf.cast(free, tf.int32)
        ended |= free & (done | (sampled >= tf.gather(given.limits, rows)))
        out = out.write(step, tf.scatter_nd(rows[:, tf.newaxis], token, [batch]))
        # Once half the rows or more of a large batch have ended, go on with the others only:
        # a row that rambles on to its limit then costs one row's work, not a whole batch's.
        live = tf.logical_not(ended)
        shrink = (tf.size(live) >= COMPACT_FROM) & (
            2 * tf.reduce_sum(tf.cast(live, tf.int32)) <= tf.size(live)
        )
        kept = (rows, token, ended, sampled, state, caches)
        rows, token, ended, sampled, state, caches = tf.cond(
            shrink, lambda: _compact(kept, tf.where(live)[:, 0]), lambda: kept
        )
        return step + 1, rows, token, ended, sampled, state, caches, out

    def cond(step, rows, token, ended, sampled, state, caches, out):
        return tf.logical_not(tf.reduce_all(ended))

    loop_vars = (
        tf.constant(0),
        tf.range(batch),
        given.tails[:, 0],
        tf.zeros([batch], tf.bool),
        tf.zeros([batch], tf.int32),
        stop_tail.empty(batch),
        caches,
        tf.TensorArray(tf.int32, size=0, dynamic_size=True),
    )
    rows_shape = tf.TensorShape([None])
    shapes = (
        tf.TensorShape([]),
        rows_shape,
        rows_shape,
        rows_shape,
        rows_shape,
        stop_tail.shape,
        [tf.TensorShape([None, None, heads, size])] * (2 * layers),
        tf.TensorShape(None),
    )
    *_, out = tf.while_loop(
        cond=cond,
        body=body,
        loop_vars=loop_vars,
        shape_invariants=shapes,
        maximum_iterations=steps,
        back_prop=False,
    )
    return tf.concat([given.tails[:, :1], tf.transpose(out.stack())], axis=1)


def _top_k(logits: Any, k: Any) -> Any:
    """gpt-2-simple's ``top_k_logits`` for a ``k`` fed at run time (0 = off)."""
    import tensorflow as tf

    def cut() -> Any:
        values, _ = tf.nn.top_k(logits, k=k)
        return tf.where(logits < values[:, -1:], tf.fill(tf.shape(logits), -1e10), logits)

    return tf.cond(k > 0, cut, lambda: logits)


def _uniform(seeds: Any, position: Any) -> Any:
    """A number in [0, 1) per row from its seed and the position: splitmix64's finaliser on
    ``seed + position * golden``, so a row's draws are its own whatever batch it is in."""
    import tensorflow as tf

    def u64(value: int) -> Any:
        return tf.constant(value, tf.uint64)

    x = tf.bitcast(seeds, tf.uint64) + tf.cast(position, tf.uint64) * u64(0x9E3779B97F4A7C15)
    x = (x ^ tf.bitwise.right_shift(x, u64(30))) * u64(0xBF58476D1CE4E5B9)
    x = (x ^ tf.bitwise.right_shift(x, u64(27))) * u64(0x94D049BB133111EB)
    x ^= tf.bitwise.right_shift(x, u64(31))
    top = tf.cast(tf.bitwise.right_shift(x, u64(40)), tf.float32)  # 24 bits: exact in float32
    return top / float(1 << 24)


def _draw(logits: Any, uniform: Any) -> Any:
    """A token per row, each as likely as its softmax probability (what tf.random.categorical
    draws), by inverting the cumulative distribution at the row's ``uniform``."""
    import tensorflow as tf

    probs = tf.nn.softmax(logits)
    cdf = tf.cumsum(probs, axis=1)
    target = uniform[:, tf.newaxis] * cdf[:, -1:]
    token = tf.searchsorted(cdf, target, side="right", out_type=tf.int32)[:, 0]
    # A rounding at the top could point past the last token that can be drawn: not beyond it.
    possible = tf.reverse(probs > 0, axis=[1])
    highest = tf.shape(probs)[1] - 1 - tf.argmax(possible, axis=1, output_type=tf.int32)
    return tf.minimum(token, highest)


def _compact(state: Any, keep: Any) -> Any:
    """The rows ``keep`` of every tensor in ``state`` (the caches' rows are their 2nd axis)."""
    import tensorflow as tf

    rows, token, ended, sampled, (tail, words), caches = state
    caches = [tf.gather(cache, keep, axis=1) for cache in caches]
    rows, token, ended, sampled, tail, words = (
        tf.gather(t, keep) for t in (rows, token, ended, sampled, tail, words)
    )
    return rows, token, ended, sampled, (tail, words), caches


def _decode(hparams: Any, token: Any, position: Any, caches: list[Any]) -> tuple[Any, list[Any]]:
    """One token per row through the model: logits ``[batch, vocab]`` and the updated caches.

    Mirrors gpt-2-simple's ``model.model``/``block``/``attn`` op for op (its ``norm``,
    ``conv1d``, ``mlp`` and ``softmax``), so greedy tokens match it; only the cache differs.
    """
    import tensorflow as tf
    from gpt_2_simple.src import model

    heads = hparams.n_head
    new_caches = []
    with tf.compat.v1.variable_scope("model", reuse=tf.compat.v1.AUTO_REUSE):
        wpe = tf.compat.v1.get_variable("wpe", [hparams.n_ctx, hparams.n_embd])
        wte = tf.compat.v1.get_variable("wte", [hparams.n_vocab, hparams.n_embd])
        h = (tf.gather(wte, token) + tf.gather(wpe, position))[:, tf.newaxis, :]  # [b, 1, e]
        for layer in range(hparams.n_layer):
            with tf.compat.v1.variable_scope(f"h{layer}"):
                x = model.norm(h, "ln_1")
                with tf.compat.v1.variable_scope("attn"):
                    c = model.conv1d(x, "c_attn", hparams.n_embd * 3)
                    q, k, v = (model.split_states(t, heads) for t in tf.split(c, 3, axis=2))
                    # k, v: [b, 1, heads, size] -> written at `position` of [time, b, heads, size]
                    keys = _write(caches[2 * layer], position, k[:, 0])
                    values = _write(caches[2 * layer + 1], position, v[:, 0])
                    new_caches += [keys, values]
                    a = _attend(tf.transpose(q, [0, 2, 1, 3]), keys, values, position)
                    a = model.conv1d(model.merge_states(a), "c_proj", hparams.n_embd)
                h = h + a
                h = h + model.mlp(model.norm(h, "ln_2"), "mlp", hparams.n_embd * 4, hparams=hparams)
        h = model.norm(h, "ln_f")
        logits = tf.matmul(h[:, 0, :], wte, transpose_b=True)
    return logits, new_caches


def _write(cache: Any, position: Any, row: Any) -> Any:
    import tensorflow as tf

    # InplaceUpdate reuses the cache's buffer when nothing else holds it, as here (checked by
    # timing: a step costs the same with a 2,000-position cache as with a 100-position one);
    # tensor_scatter_nd_update copied the whole cache every step.
    return tf.raw_ops.InplaceUpdate(x=cache, i=[position], v=row[tf.newaxis])


def _attend(q: Any, keys: Any, values: Any, position: Any) -> Any:
    """q ``[b, heads, 1, size]`` against the cache up to ``position``: ``[b, 1, heads, size]``.
    A query for the newest token sees every earlier one, so gpt-2-simple's mask is all ones."""
    import tensorflow as tf
    from gpt_2_simple.src import model

    # Slicing the time axis of a time-major cache aliases it; the transpose is the one copy.
    k = tf.transpose(keys[: position + 1], [1, 2, 0, 3])
    v = tf.transpose(values[: position + 1], [1, 2, 0, 3])
    w = tf.matmul(q, k, transpose_b=True)
    w = w * tf.math.rsqrt(tf.cast(v.shape[-1], w.dtype))
    a = tf.matmul(model.softmax(w), v)  # [b, heads, 1, size]
    return tf.transpose(a, [0, 2, 1, 3])


class _StopMatcher:
    """Per row: the last bytes sampled, and whether they complete a stop string.

    Keeps ``longest stop + longest token`` bytes a row: enough to see any stop string that the
    newest token completes. Token bytes are looked up in a table padded with -1.

    A *cut* (``--truncate``) ends a row only at a match that starts after the title's first
    non-space byte, so that a title that begins with a space (a conditioned one does) is not
    cut before it begins: after ``cut_after`` words of the row (a word is a run of non-space
    bytes; 2 where the row starts with its subreddit's name). Words are counted as sampled.
    """

    def __init__(
        self,
        stops: list[bytes],
        vocabulary: list[bytes],
        cuts: list[bytes] = (),
        cut_after: int = 1,
    ) -> None:
        import numpy as np
        import tensorflow as tf

        self.stops = [s for s in stops if s]
        self.cuts = [s for s in cuts if s]
        self.cut_after = cut_after
        longest_token = max(1, max(len(b) for b in vocabulary))
        longest_stop = max((len(s) for s in self.stops + self.cuts), default=0)
        self.width = longest_stop + longest_token
        table = np.full((len(vocabulary), longest_token), -1, np.int32)
        for i, token in enumerate(vocabulary):
            table[i, : len(token)] = np.frombuffer(token, np.uint8)
        self.table = tf.constant(table)
        self.lengths = tf.constant([len(b) for b in vocabulary], tf.int32)
        self.shape = (tf.TensorShape([None, self.width]), tf.TensorShape([None]))

    def empty(self, batch: Any) -> Any:
        import tensorflow as tf

        return tf.fill([batch, self.width], -1), tf.zeros([batch], tf.int32)

    def update(self, state: Any, token: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        tail, words = state
        # tail ++ the token's bytes (padded after them), then the last `width` real bytes.
        joined = tf.concat([tail, tf.gather(self.table, token)], axis=1)
        start = tf.gather(self.lengths, token)[:, tf.newaxis] + tf.range(self.width)
        tail = tf.gather(joined, start, batch_dims=1)
        new = tf.gather(self.lengths, token)  # the newest bytes are the tail's last `new`
        done = tf.zeros(tf.shape(token), tf.bool)
        for stop in self.stops:
            done |= tf.reduce_any(self._found(tail, new, stop), axis=1)
        if self.cuts:
            begins = self._word_begins(tail)
            fresh = tf.range(self.width)[tf.newaxis, :] >= self.width - new[:, tf.newaxis]
            words += tf.reduce_sum(tf.where(fresh, begins, 0), axis=1)
            later = tf.cumsum(begins, axis=1, reverse=True)  # words begun at or after a byte
            for cut in self.cuts:
                found = self._found(tail, new, cut)
                before = words[:, tf.newaxis] - later[:, : found.shape[1]]  # before a window
                done |= tf.reduce_any(found & (before >= self.cut_after), axis=1)
        return (tail, words), done

    def _word_begins(self, tail: Any) -> Any:
        """1 where a word begins: a non-space byte after a space or the row's start (-1).

        The first byte's own predecessor is not kept; it never needs to be, since the newest
        token and every window a stop can complete start after it.
        """
        import tensorflow as tf

        blanks = tf.constant([*b" \t\n\r\x0b\x0c", -1], tf.int32)  # bytes.split()'s, row start
        space = tf.reduce_any(tf.equal(tail[:, :, tf.newaxis], blanks), axis=2)
        begins = tf.logical_not(space[:, 1:]) & space[:, :-1]
        return tf.pad(tf.cast(begins, tf.int32), [[0, 0], [1, 0]])

    def _found(self, tail: Any, new: Any, stop: bytes) -> Any:
        """``[batch, windows]``: whether ``stop`` sits in each window of the tail (the window
        starting at byte ``i``) and ends in the newest token's bytes."""
        import numpy as np
        import tensorflow as tf

        starts = np.arange(self.width - len(stop) + 1)[:, None] + np.arange(len(stop))
        windows = tf.gather(tail, starts, axis=1)  # [b, n, len(stop)]: every window of the tail
        found = tf.reduce_all(tf.equal(windows, tf.constant(list(stop), tf.int32)), axis=2)
        ends = tf.range(len(stop), self.width + 1)  # where each window ends
        in_new = ends[tf.newaxis, :] > self.width - new[:, tf.newaxis]
        return found & in_new
