"""TensorFlow, imported only by the commands that run a model, and quietly."""

from __future__ import annotations

import os
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
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf
