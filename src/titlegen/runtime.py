"""TensorFlow, imported only by the commands that run a model, and quietly."""

from __future__ import annotations

import os
from typing import Any


def tensorflow() -> Any:
    """The tensorflow module, with its start-up chatter and TF1 deprecation notices muted
    (errors still show)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf
