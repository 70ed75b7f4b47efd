"""``titlegen serve``: load a run once, then answer HTTP until Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from titlegen import sampling
from titlegen.errors import TitlegenError
from titlegen.serving import HOST, MAX_BATCH, MAX_TITLES, MAX_WAITING, PORT
from titlegen.serving.batcher import Batcher


def exposed(host: str) -> bool:
    """Whether ``host`` lets other machines in (anything but a loopback address)."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name: it may resolve to anything


def serve(
    folder: Path,
    *,
    host: str = HOST,
    port: int = PORT,
    api_key: str | None = None,
    max_batch: int = MAX_BATCH,
    max_titles: int = MAX_TITLES,
    max_waiting: int = MAX_WAITING,
    ready: Callable[[str], None] = print,
) -> None:
    """Serve the run (or base model) in ``folder`` until interrupted; ``ready`` is told the
    address once the model is loaded and the port is open. Requests already taken are
    answered before it returns (the batch in flight and those waiting)."""
    listening = _bind(host, port)  # before the model loads: a taken port fails at once
    with contextlib.closing(listening):
        _serve(folder, listening, host, api_key, max_batch, max_titles, max_waiting, ready)


def _serve(
    folder: Path,
    listening: socket.socket,
    host: str,
    api_key: str | None,
    max_batch: int,
    max_titles: int,
    max_waiting: int,
    ready: Callable[[str], None],
) -> None:
    from titlegen.serving import app as api

    port = listening.getsockname()[1]  # the one given, or the one picked for 0
    generator = sampling.Generator(folder)
    try:
        _warm_up(generator)  # load the weights and build the graph before the first request
        batcher = Batcher(generator, max_batch=max_batch, max_waiting=max_waiting)
        try:
            service = api.Service(generator, batcher, max_titles)
            app = api.create_app(service, api_key=api_key)
            config = uvicorn.Config(
                app, host=host, port=port, log_level="info", timeout_graceful_shutdown=60
            )
            server = _Server(config, lambda: ready(f"http://{_shown(host)}:{port}"))
            server.run(sockets=[listening])
        finally:
            batcher.close()
    finally:
        generator.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        reason = error.strerror or str(error)
        raise TitlegenError(
            f"Cannot listen on {_shown(host)}:{port} ({reason.lower()}): pick another --port "
            "or --host."
        ) from error
    listening.set_inheritable(True)
    return listening


def _warm_up(generator: sampling.Generator) -> None:
    """Sample a row of each graph requests use: with and without a start to share."""
    for prefix in ("", "The"):
        job = generator.job(sampling.SampleOptions(nsamples=1, prefix=prefix, seed=0))
        generator.sample(job.round(), job.kind)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Server(uvicorn.Server):
    """uvicorn's server, but Ctrl-C and SIGTERM end it with exit status 0: uvicorn shuts down
    gracefully, then raises the signal again (status 130, or death by SIGTERM)."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._started()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
