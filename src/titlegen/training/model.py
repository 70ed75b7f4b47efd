"""The network titlegen trains: gpt-2-simple's GPT-2, with each block's activations optionally
recomputed in the backward pass instead of kept (gradient checkpointing).

The variables, their names and their order are gpt-2-simple's (``model/wte``, ``model/h0/...``,
built by its own ``block`` and ``norm``), so a run trained either way loads in plain gpt-2-simple.
Only the training graph uses this module; evaluation and sampling build gpt-2-simple's model.

Why recompute: at 1024 tokens most of a training step's memory is the activations the backward
pass needs, above all each block's attention scores (heads x 1024 x 1024 floats, several copies
of them for the softmax's gradient). With checkpointing only each block's input is kept (1024 x
n_embd floats); the block is run again, one at a time, when its gradient is needed: about a
third more arithmetic for a fraction of the memory (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from titlegen import runtime


def logits(
    hparams: Any,
    tokens: Any,
    *,
    checkpointing: bool = False,
    gpus: Sequence[str] = (),
) -> Any:
    """The next-token logits ``[batch, sequence, n_vocab]`` of ``tokens`` ``[batch,
    sequence]``: gpt-2-simple's ``model.model`` op for op (without the key/value cache that
    training never reads), creating the variables under ``model/``. ``gpus``: blocks spread
    over them in stacks, as gpt-2-simple's ``multi_gpu``."""
    tf = runtime.tensorflow()
    from gpt_2_simple.src import model

    with tf.compat.v1.variable_scope("model"):
        batch, sequence = model.shape_list(tokens)
        wpe = tf.compat.v1.get_variable(
            "wpe",
            [hparams.n_ctx, hparams.n_embd],
            initializer=tf.compat.v1.random_normal_initializer(stddev=0.01),
        )
        wte = tf.compat.v1.get_variable(
            "wte",
            [hparams.n_vocab, hparams.n_embd],
            initializer=tf.compat.v1.random_normal_initializer(stddev=0.02),
        )
        h = tf.gather(wte, tokens) + tf.gather(wpe, model.positions_for(tokens, 0))
        per_gpu = hparams.n_layer // len(gpus) if gpus else 0
        for layer in range(hparams.n_layer):
            device = gpus[min(layer // per_gpu, len(gpus) - 1)] if per_gpu else None
            with tf.device(device):
                h = _block(model, hparams, layer, checkpointing)(h)
        h = model.norm(h, "ln_f")
        flat = tf.matmul(tf.reshape(h, [batch * sequence, hparams.n_embd]), wte, transpose_b=True)
        return tf.reshape(flat, [batch, sequence, hparams.n_vocab])


def _block(model: Any, hparams: Any, layer: int, checkpointing: bool) -> Callable[[Any], Any]:
    def block(x: Any) -> Any:
        return model.block(x, f"h{layer}", past=None, hparams=hparams)[0]

    return recomputed(block) if checkpointing else block


def recomputed(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` (one tensor in, one out, creating or reusing variables in the current
    variable scope) whose activations are not kept for the backward pass: its gradient runs it
    again, once the gradient of its output exists, and differentiates that copy.

    Not ``tf.recompute_grad``: in a TF1 graph its data dependency on the incoming gradient
    (``where(b == b, 0, nan)`` on a bool) is folded away by grappler, so every block is
    recomputed during the forward pass and nothing is saved (measured: same peak as without).
    A control dependency survives grappler."""
    tf = runtime.tensorflow()

    @tf.custom_gradient
    def run(x: Any) -> Any:
        scope = tf.compat.v1.get_variable_scope()
        y = function(x)

        def gradient(dy: Any, variables: Sequence[Any] | None = None) -> Any:
            with tf.control_dependencies([dy]):
                again = tf.identity(x)  # not before the gradient of the output exists
            with tf.compat.v1.variable_scope(scope, reuse=True):
                y_again = function(again)
            grads = tf.gradients(y_again, [again, *(variables or [])], grad_ys=dy)
            return grads[0], grads[1:]

        return y, gradient

    return run


def variables(hparams: Any) -> dict[str, tuple[int, ...]]:
    """The names and shapes of the variables ``logits`` creates (as gpt-2-simple's model), for
    counting memory without building anything."""
    width, ctx = hparams.n_embd, hparams.n_ctx
    shapes = {"model/wpe": (ctx, width), "model/wte": (hparams.n_vocab, width)}
    block = {
        "ln_1/g": (width,),
        "ln_1/b": (width,),
        "attn/c_attn/w": (1, width, 3 * width),
        "attn/c_attn/b": (3 * width,),
        "attn/c_proj/w": (1, width, width),
        "attn/c_proj/b": (width,),
        "ln_2/g": (width,),
        "ln_2/b": (width,),
        "mlp/c_fc/w": (1, width, 4 * width),
        "mlp/c_fc/b": (4 * width,),
        "mlp/c_proj/w": (1, 4 * width, width),
        "mlp/c_proj/b": (width,),
    }
    for layer in range(hparams.n_layer):
        shapes.update({f"model/h{layer}/{name}": shape for name, shape in block.items()})
    shapes.update({"model/ln_f/g": (width,), "model/ln_f/b": (width,)})
    return shapes


def trains(name: str, n_layer: int, train_layers: int, only_blocks: bool) -> bool:
    """Whether a step changes the variable ``name``: with ``train_layers`` N only the last N
    transformer blocks' (the embeddings and the final norm stay), with ``only_blocks`` every
    block's (gpt-2-simple's ``only_train_transformer_layers``), else every variable."""
    if train_layers:
        part = name.split("/")[1] if name.count("/") else ""
        return part[:1] == "h" and part[1:].isdigit() and int(part[1:]) >= n_layer - train_layers
    if only_blocks:
        return "/h" in name  # gpt-2-simple's test
    return True
