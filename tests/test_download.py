"""`titlegen download` against a real HTTP server on loopback (never the internet)."""

from __future__ import annotations

import os
import socket

import pytest
from click.testing import CliRunner
from model_server import ModelServer

from titlegen.cli import cli
from titlegen.models import download


def model_files(seed: int = 0) -> dict[str, bytes]:
    # Sizes differ per file so a mix-up shows; the weights file spans several read blocks.
    return {
        name: os.urandom(1000 + 997 * i) if i != 3 else os.urandom(40 * download.CHUNK + 123)
        for i, name in enumerate(download.FILES)
    }


@pytest.fixture
def server():
    with ModelServer() as running:
        yield running


def serve(server: ModelServer, model: str = "124M") -> dict[str, bytes]:
    files = model_files()
    for name, content in files.items():
        server.behaviour.files[f"/gpt-2/models/{model}/{name}"] = content
    return files


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def assert_complete(folder, files) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    for name, content in files.items():
        assert (folder / name).read_bytes() == content, name


def test_downloads_every_file(server, tmp_path):
    files = serve(server)

    result = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 0, result.output
    assert "Downloaded 7 files" in result.output
    assert_complete(tmp_path / "124M", files)


def test_old_name_and_environment_variable(server, tmp_path):
    files = serve(server, "355M")

    result = run(
        "download", "345M", "--model-dir", str(tmp_path), env={"TITLEGEN_MODEL_URL": server.url}
    )

    assert result.exit_code == 0, result.output
    assert_complete(tmp_path / "355M", files)


def test_complete_files_are_skipped_and_force_fetches_again(server, tmp_path):
    files = serve(server)
    run("download", "--model-dir", str(tmp_path), "--base-url", server.url)
    server.behaviour.requests.clear()

    again = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert again.exit_code == 0
    assert "already complete" in again.output
    assert [r for r in server.behaviour.requests if r[0] == "GET"] == []

    forced = run("download", "--force", "--model-dir", str(tmp_path), "--base-url", server.url)
    assert forced.exit_code == 0
    assert len([r for r in server.behaviour.requests if r[0] == "GET"]) == 7
    assert_complete(tmp_path / "124M", files)


def test_interrupted_transfer_resumes_with_a_range_request(server, tmp_path):
    files = serve(server)
    weights = "/gpt-2/models/124M/model.ckpt.data-00000-of-00001"
    server.behaviour.cut_next[weights] = 1

    result = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 0, result.output
    assert_complete(tmp_path / "124M", files)
    ranges = [r[2] for r in server.behaviour.requests if r[:2] == ("GET", weights)]
    assert len(ranges) == 2 and ranges[0] is None
    resumed_at = int(ranges[1].removeprefix("bytes=").removesuffix("-"))
    half = len(files["model.ckpt.data-00000-of-00001"]) // 2
    assert half - download.CHUNK < resumed_at <= half  # what was saved before the cut


def test_a_rerun_resumes_a_part_file(server, tmp_path):
    files = serve(server)
    weights = "model.ckpt.data-00000-of-00001"
    server.behaviour.cut_next[f"/gpt-2/models/124M/{weights}"] = download.ATTEMPTS

    first = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert first.exit_code == 1
    assert f"Error: {weights}: the transfer kept failing" in first.output
    assert "run the command again to resume" in first.output
    assert not (tmp_path / "124M" / weights).exists()
    assert (tmp_path / "124M" / f"{weights}.part").is_file()

    second = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert second.exit_code == 0, second.output
    assert_complete(tmp_path / "124M", files)


def test_server_that_ignores_range_starts_over(server, tmp_path):
    files = serve(server)
    server.behaviour.cut_next["/gpt-2/models/124M/model.ckpt.meta"] = 1
    server.behaviour.ignore_range = True

    result = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 0, result.output
    assert_complete(tmp_path / "124M", files)


def test_404_saves_nothing(server, tmp_path):
    files = serve(server)
    del server.behaviour.files["/gpt-2/models/124M/vocab.bpe"]

    result = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 1
    assert "Error: vocab.bpe: the server answered HTTP 404" in result.output
    assert "nothing was saved" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "124M").exists() or not any((tmp_path / "124M").iterdir())
    assert files  # the other files were never fetched: the sizes are checked first


def test_wrong_length_is_an_error_not_a_model_file(server, tmp_path):
    serve(server)
    server.behaviour.extra_length["/gpt-2/models/124M/encoder.json"] = 100

    result = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 1
    assert "Error: encoder.json:" in result.output
    assert not (tmp_path / "124M" / "encoder.json").exists()


def test_unknown_model(tmp_path):
    result = run("download", "999M", "--model-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "There is no GPT-2 model '999M': choose one of 124M, 355M, 774M, 1558M" in (
        result.output
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_one_sentence(tmp_path):
    port = closed_port()

    result = run(
        "download", "--model-dir", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}/gpt-2"
    )

    assert result.exit_code == 1
    assert result.output.endswith(
        f"Error: Cannot reach 127.0.0.1:{port} (connection refused): check your network, "
        "or set --base-url / TITLEGEN_MODEL_URL to a mirror.\n"
    )
    assert "Max retries" not in result.output and "Pool(" not in result.output


def test_a_server_that_never_answers_timed_out(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]

        result = run(
            "download", "--model-dir", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}/x"
        )

    assert result.exit_code == 1
    assert f"Error: Cannot reach 127.0.0.1:{port} (timed out): check your network" in (
        result.output
    )


def new_versions(server: ModelServer, old: dict[str, bytes]) -> dict[str, bytes]:
    """Serve different bytes (and a different size) under the same names."""
    files = {name: content[::-1] + b"new" for name, content in old.items()}
    for name, content in files.items():
        server.behaviour.files[f"/gpt-2/models/124M/{name}"] = content
    return files


def test_a_failed_forced_download_keeps_the_old_file(server, tmp_path):
    old = serve(server)
    assert run("download", "--model-dir", str(tmp_path), "--base-url", server.url).exit_code == 0
    new = new_versions(server, old)
    weights = "model.ckpt.data-00000-of-00001"
    server.behaviour.cut_next[f"/gpt-2/models/124M/{weights}"] = download.ATTEMPTS

    failed = run("download", "--force", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert failed.exit_code == 1
    assert f"Error: {weights}: the transfer kept failing (connection broken)" in (failed.output)
    assert f"the old {weights} is kept" in failed.output
    folder = tmp_path / "124M"
    assert (folder / weights).read_bytes() == old[weights]  # complete, as it was
    done = download.FILES[: download.FILES.index(weights)]  # replaced before the failure
    for name in download.FILES:
        assert (folder / name).read_bytes() == (new if name in done else old)[name], name

    # The same command again resumes the new weights from their .part file.
    server.behaviour.requests.clear()
    totals, steps = [], []
    download.download(
        "124M",
        model_dir=tmp_path,
        url=server.url,
        force=True,
        on_total=lambda t, d: totals.append((t, d)),
        on_progress=steps.append,
    )
    assert_complete(folder, new)
    ((size, present),) = totals
    assert size == sum(len(c) for c in new.values()) and present + sum(steps) == size
    ranges = [
        r[2] for r in server.behaviour.requests if r[:2] == ("GET", f"/gpt-2/models/124M/{weights}")
    ]
    assert len(ranges) == 1 and ranges[0] is not None and ranges[0] != "bytes=0-"


def test_a_forced_download_from_an_unreachable_server_keeps_every_file(server, tmp_path):
    files = serve(server)
    assert run("download", "--model-dir", str(tmp_path), "--base-url", server.url).exit_code == 0
    url = f"http://127.0.0.1:{closed_port()}/gpt-2"

    result = run("download", "--force", "--model-dir", str(tmp_path), "--base-url", url)

    assert result.exit_code == 1
    assert "(connection refused)" in result.output
    assert_complete(tmp_path / "124M", files)


def test_a_forced_download_that_a_server_cuts_replaces_each_file_whole(server, tmp_path):
    old = serve(server)
    assert run("download", "--model-dir", str(tmp_path), "--base-url", server.url).exit_code == 0
    new = new_versions(server, old)
    for name in download.FILES:
        server.behaviour.cut_next[f"/gpt-2/models/124M/{name}"] = 1  # each resumed once

    result = run("download", "--force", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 0, result.output
    assert "Downloaded 7 files" in result.output
    assert_complete(tmp_path / "124M", new)


def test_one_file_is_one_file(server, tmp_path):
    files = serve(server)
    (tmp_path / "124M").mkdir()
    for name in download.FILES[1:]:
        (tmp_path / "124M" / name).write_bytes(files[name])

    result = run("download", "--model-dir", str(tmp_path), "--base-url", server.url)

    assert result.exit_code == 0, result.output
    assert "Downloaded 1 file (" in result.output
    assert "; 6 were already complete." in result.output


@pytest.mark.parametrize("ignore_range", [False, True])
def test_progress_adds_up_to_the_model_size(server, tmp_path, ignore_range):
    files = serve(server)
    server.behaviour.cut_next["/gpt-2/models/124M/model.ckpt.data-00000-of-00001"] = 1
    server.behaviour.ignore_range = ignore_range
    (tmp_path / "124M").mkdir()
    (tmp_path / "124M" / "vocab.bpe").write_bytes(files["vocab.bpe"])  # already complete
    totals, steps = [], []

    report = download.download(
        "124M",
        model_dir=tmp_path,
        url=server.url,
        on_total=lambda t, d: totals.append((t, d)),
        on_progress=steps.append,
    )

    size = sum(len(c) for c in files.values())
    assert totals == [(size, len(files["vocab.bpe"]))]
    assert len(files["vocab.bpe"]) + sum(steps) == size
    assert report.skipped == ["vocab.bpe"] and len(report.fetched) == 6
