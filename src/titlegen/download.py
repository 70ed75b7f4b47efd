"""``titlegen download``: fetch OpenAI's GPT-2 weights into ``models/<MODEL>/``.

Unlike gpt-2-simple's downloader, an HTTP error is never saved as a model file: every file is
checked against its Content-Length, written to ``<file>.part`` and renamed only when complete.
An interrupted transfer resumes with an HTTP Range request, a few times within one command and
again on the next run; files already complete are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from titlegen import paths
from titlegen.errors import TitlegenError

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
            if (folder / name).is_file() and not force and present[name] == sizes[name]:
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
        raise DownloadError(f"Cannot reach {url}: {_reason(error)}.") from error
    _check_status(response, url)
    length = response.headers.get("Content-Length")
    if length is None or not length.isdigit():
        raise DownloadError(f"{url} did not say how big it is (no Content-Length).")
    return int(length)


def _present(path: Path, size: int, force: bool) -> int:
    """Bytes of ``path`` already on disk that this run will not fetch again."""
    if force:
        return 0
    if path.is_file():
        return size if path.stat().st_size == size else 0
    part = _part(path)
    return min(part.stat().st_size, size) if part.is_file() else 0


def _fetch(session, url: str, path: Path, size: int, progress: Callable[[int], object]) -> int:
    import requests

    part = _part(path)
    if path.is_file():
        path.unlink()  # incomplete or --force: fetch again
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
        except requests.RequestException as error:
            if attempt == ATTEMPTS:
                have = part.stat().st_size if part.is_file() else 0
                raise DownloadError(
                    f"{path.name}: the transfer kept failing ({_reason(error)}); {have:,} of "
                    f"{size:,} bytes are saved in {part}: run the command again to resume."
                ) from error
    have = part.stat().st_size if part.is_file() else 0
    if have != size:
        raise DownloadError(
            f"{path.name}: received {have:,} bytes but the server announced {size:,}; the "
            f"partial file is kept as {part}: run the command again to resume."
        )
    os.replace(part, path)
    return received


def _transfer(session, url: str, part: Path, have: int, progress) -> int:
    """One GET, resuming at byte ``have``; returns the bytes received."""
    import requests

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
            raise requests.ConnectionError(f"connection closed after {received:,} bytes")
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


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
