"""TensorFlow, imported only by the commands that run a model, and quietly."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from typing import Any


def tensorflow() -> Any:
    """The tensorflow module, with its start-up chatter and TF1 deprecation notices muted
    (errors still show), and oneDNN's CPU kernels on.

    TensorFlow's Linux wheel turns oneDNN on by itself only for some CPUs; on these machines'
    AVX-512 AMD EPYC it stayed off, and turning it on made float32 training about 1.45x faster
    (BENCHMARKS.md). Set TF_ENABLE_ONEDNN_OPTS=0 to keep TensorFlow's own choice.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    return _load()


@functools.cache
def _load() -> Any:
    with native_logs_muted():
        import tensorflow as tf

        # Finding the devices is where a machine without a GPU driver logs "failed call to
        # cuInit"; do it here, muted, once.
        tf.config.list_physical_devices("GPU")
    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def native_logs_muted(mute: bool = True) -> Iterator[None]:
    """TensorFlow's C++ logs that ignore its log level (absl's "I0000 ... oneDNN custom
    operations are on", "Could not find cuda drivers", "failed call to cuInit", oneDNN's kernel
    fallbacks) are written straight to file descriptor 2: point it at /dev/null for the block.
    Errors still raise. Set TF_CPP_MIN_LOG_LEVEL=0 or 1 to see them."""
    if not mute or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") < "2":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
