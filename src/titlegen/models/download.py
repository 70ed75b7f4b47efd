"""``titlegen download``: fetch OpenAI's GPT-2 weights into ``models/<MODEL>/``.

Unlike gpt-2-simple's downloader, an HTTP error is never saved as a model file: every file is
checked against its Content-Length, written to ``<file>.part`` and renamed only when complete.
An interrupted transfer resumes with an HTTP Range request, a few times within one command and
again on the next run; files already complete are skipped. ``force`` fetches them again the same
way, so the old file stays in place until its replacement is complete.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from titlegen import paths
from titlegen.errors import TitlegenError
from titlegen.units import plural

BASE_URL = "https://openaipublic.blob.core.windows.net/gpt-2"  # OpenAI's public storage
BASE_URL_ENV = "TITLEGEN_MODEL_URL"  # a mirror, or a local server in tests
MODELS = ("124M", "355M", "774M", "1558M")
ALIASES = {"117M": "124M", "345M": "355M"}  # the names OpenAI first used
FILES = (
    "checkpoint",
    "encoder.json",
    "hparams.json",
    "model.ckpt.data-00000-of-00001",
    "model.ckpt.index",
    "model.ckpt.meta",
    "vocab.bpe",
)
ATTEMPTS = 4  # tries per file within one command; each try resumes where the last stopped
TIMEOUT = 30.0  # seconds without a byte from the server before a try counts as failed
CHUNK = 1 << 16  # bytes per read: what an interruption can lose, and the progress step


class DownloadError(TitlegenError):
    """A model file could not be downloaded completely."""


class _Cut(OSError):
    """The server closed the connection before sending what it announced."""


@dataclass
class Report:
    """What a download did."""

    model: str
    folder: Path
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already complete
    nbytes: int = 0  # bytes transferred by this run


def canonical(model: str) -> str:
    """``117M`` -> ``124M``; refuses names that are not GPT-2 models."""
    name = ALIASES.get(model.upper(), model.upper())
    if name not in MODELS:
        known = ", ".join(MODELS + tuple(ALIASES))
        raise TitlegenError(f"There is no GPT-2 model {model!r}: choose one of {known}.")
    return name


def how_to_get(model: str, dataset: str = "DATASET") -> str:
    """The command that puts ``model`` into the models folder: download it, or make it."""
    if model.upper() in MODELS or model.upper() in ALIASES:
        return f"titlegen download {model}"
    return f"titlegen new-model {model} --from {dataset}"


def base_url(override: str | None = None) -> str:
    return (override or os.environ.get(BASE_URL_ENV) or BASE_URL).rstrip("/")


def download(
    model: str,
    *,
    model_dir: Path = paths.MODEL_DIR,
    url: str | None = None,
    force: bool = False,
    on_total: Callable[[int, int], object] | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> Report:
    """Download ``model``'s files into ``model_dir/model``.

    ``on_total(total, done)`` is called once with the bytes of all files and those already
    present; ``on_progress(n)`` with each block of bytes received.
    """
    import requests

    model = canonical(model)
    folder = model_dir / model
    report = Report(model=model, folder=folder)
    root = f"{base_url(url)}/models/{model}"
    progress = on_progress or (lambda _n: None)
    with requests.Session() as session:
        sizes = {name: _size(session, f"{root}/{name}") for name in FILES}
        present = {name: _present(folder / name, sizes[name], force) for name in FILES}
        if on_total:
            on_total(sum(sizes.values()), sum(present.values()))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DownloadError(f"Cannot create {folder}: {error.strerror or error}.") from error
        for name in FILES:
            if not force and _complete(folder / name, sizes[name]):
                report.skipped.append(name)
                continue
            got = _fetch(session, f"{root}/{name}", folder / name, sizes[name], progress)
            report.fetched.append(name)
            report.nbytes += got
    return report


def _size(session, url: str) -> int:
    """The file's size, from a HEAD request; an HTTP error here stops before anything is saved."""
    import requests

    try:
        response = session.head(url, allow_redirects=True, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise DownloadError(
            f"Cannot reach {urlsplit(url).netloc} ({_reason(error)}): check your network, "
            f"or set --base-url / {BASE_URL_ENV} to a mirror."
        ) from error
    _check_status(response, url)
    length = response.headers.get("Content-Length")
    if length is None or not length.isdigit():
        raise DownloadError(f"{url} did not say how big it is (no Content-Length).")
    return int(length)


def _present(path: Path, size: int, force: bool) -> int:
    """Bytes of ``path`` already on disk that this run will not fetch again: all of a complete
    file (unless ``force``), else what its ``.part`` file holds, which is resumed."""
    if not force and _complete(path, size):
        return size
    part = _part(path)
    return min(part.stat().st_size, size) if part.is_file() else 0


def _fetch(session, url: str, path: Path, size: int, progress: Callable[[int], object]) -> int:
    """Fetch ``url`` into ``path``'s ``.part`` file and rename it over ``path`` when complete.

    ``path`` itself is never touched before that, so a failed ``--force`` keeps the old file.
    """
    import requests

    part = _part(path)
    received = 0
    for attempt in range(1, ATTEMPTS + 1):
        have = part.stat().st_size if part.is_file() else 0
        if have > size:
            part.unlink()
            have = 0
        if have == size:
            break
        try:
            received += _transfer(session, url, part, have, progress)
        except (requests.RequestException, _Cut) as error:
            if attempt == ATTEMPTS:
                have = part.stat().st_size if part.is_file() else 0
                raise DownloadError(
                    f"{path.name}: the transfer kept failing ({_reason(error)}); {have:,} of "
                    f"{plural(size, 'byte')} are saved in {part}{_kept(path)}: run the command "
                    f"again to resume."
                ) from error
        except OSError as error:  # writing the .part file: a full disk, a read-only folder
            raise DownloadError(f"Cannot write {part}: {error.strerror or error}.") from error
    have = part.stat().st_size if part.is_file() else 0
    if have != size:
        raise DownloadError(
            f"{path.name}: received {plural(have, 'byte')} but the server announced {size:,}; the "
            f"partial file is kept as {part}{_kept(path)}: run the command again to resume."
        )
    os.replace(part, path)
    return received


def _complete(path: Path, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size


def _kept(path: Path) -> str:
    return f" and the old {path.name} is kept" if path.is_file() else ""


def _transfer(session, url: str, part: Path, have: int, progress) -> int:
    """One GET, resuming at byte ``have``; returns the bytes received."""

    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT) as response:
        _check_status(response, url)
        resumed = have and response.status_code == 206
        received = 0
        with part.open("ab" if resumed else "wb") as out:
            if have and not resumed:
                progress(-have)  # the server ignored the range: start over
            for block in response.iter_content(CHUNK):
                out.write(block)
                received += len(block)
                progress(len(block))
        announced = response.headers.get("Content-Length")
        if announced and announced.isdigit() and received < int(announced):
            raise _Cut(f"connection closed after {plural(received, 'byte')}")
    return received


def _check_status(response, url: str) -> None:
    if response.status_code in (200, 206):
        return
    hint = " (is the model name or the base URL right?)" if response.status_code == 404 else ""
    raise DownloadError(
        f"{url.rsplit('/', 1)[-1]}: the server answered HTTP {response.status_code} "
        f"{response.reason} for {url}{hint}; nothing was saved."
    )


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _reason(error: BaseException) -> str:
    """A few words for a network error, in place of the page of urllib3 internals that
    ``str(error)`` is ("HTTPSConnectionPool(host=...): Max retries exceeded ...")."""
    import requests
    from urllib3 import exceptions as urllib3

    # Most specific first: urllib3's NameResolutionError is also a ConnectTimeoutError.
    words: list[tuple[type | tuple[type, ...], str]] = [
        ((socket.gaierror, urllib3.NameResolutionError), "name not resolved"),
        (ConnectionRefusedError, "connection refused"),
        ((TimeoutError, urllib3.TimeoutError, requests.Timeout), "timed out"),
        (ConnectionResetError, "connection reset"),
        ((requests.exceptions.SSLError, urllib3.SSLError), "TLS handshake failed"),
        ((requests.exceptions.ProxyError, urllib3.ProxyError), "the proxy refused"),
    ]
    causes = list(_causes(error))
    for kinds, text in words:
        if any(isinstance(cause, kinds) for cause in causes):
            return text
    for cause in causes:
        if isinstance(cause, _Cut):
            return str(cause)
        if isinstance(cause, (urllib3.ProtocolError, requests.exceptions.ChunkedEncodingError)):
            return "connection broken"
    strerror = next((c.strerror for c in reversed(causes) if getattr(c, "strerror", None)), None)
    return strerror.lower() if strerror else "connection failed"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps: causes, contexts, and urllib3's ``reason``."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped += [arg for arg in current.args if isinstance(arg, BaseException)]
        todo += [item for item in wrapped if isinstance(item, BaseException)]
