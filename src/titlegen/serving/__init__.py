"""``titlegen serve``: a trained run over HTTP, for people who never open a terminal.

- :mod:`~titlegen.serving.server`: load the run once, run uvicorn, stop cleanly on a signal;
- :mod:`~titlegen.serving.app`: the FastAPI app (the page, the JSON API, its checks);
- :mod:`~titlegen.serving.batcher`: the requests that wait together are sampled together;
- ``page.html``: the page, one file with its style and script inline.

Nothing here is imported by ``titlegen --help``: the CLI imports :mod:`.server` when it serves.
"""

HOST = "127.0.0.1"  # this machine only; 0.0.0.0 serves the network (then give --api-key)
PORT = 8000
MAX_BATCH = 64  # rows sampled at once; more costs memory and latency, not much throughput
MAX_TITLES = 100  # titles one request may ask for
MAX_WAITING = 256  # requests waiting at most; the next is answered 503 at once
