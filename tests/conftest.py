"""Shared fixtures: a real BigQuery emulator on loopback, and writers for Reddit dumps.

The emulator is bqemulator (duckdb + sqlglot behind BigQuery's REST API), started in-process by
its own pytest plugin; tests talk to it through the real google-cloud-bigquery client, the way
titlegen does, by way of BIGQUERY_EMULATOR_HOST.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import styles

# Never let google-auth probe the GCE metadata server: the tests only talk to loopback.
os.environ["NO_GCE_CHECK"] = "true"
os.environ["GCE_METADATA_HOST"] = "127.0.0.1:9"
os.environ["GCE_METADATA_IP"] = "127.0.0.1:9"
os.environ.pop("GOOGLE_CLOUD_PROJECT", None)
# What titlegen's runtime sets before it imports TensorFlow, for the tests that import it first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--accumulate-gradients", "1", "--print-every", "2", "--seed", "3"]  # train
TINY = ["--layers", "1", "--embd", "32", "--heads", "2", "--vocab-size", "400"]  # new-model
EMULATOR_PROJECT = "test-project"
POST_FIELDS = ("subreddit", "title", "score", "author")


def pytest_configure(config: pytest.Config) -> None:
    _install_duckdb_spatial()


def _install_duckdb_spatial() -> None:
    """bqemulator loads duckdb's spatial extension; offline it comes from a PyPI package whose
    version matches duckdb's. INSTALL copies it into duckdb's extension folder (idempotent)."""
    import duckdb
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    extension = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if not extension.is_file():
        raise pytest.UsageError(
            f"duckdb {duckdb.__version__} needs duckdb-extension-spatial of the same version "
            f"(found {sorted(p.name for p in root.iterdir())}); see pyproject.toml's test extra."
        )
    duckdb.connect().execute(f"INSTALL '{extension}'")


@pytest.fixture(scope="session")
def bqemu_settings():  # overrides bqemulator's fixture: same settings, quieter logs
    from bqemulator.config import LogLevel, PersistenceMode, Settings

    return Settings(
        persistence_mode=PersistenceMode.EPHEMERAL,
        rest_host="127.0.0.1",
        rest_port=0,
        grpc_host="127.0.0.1",
        grpc_port=0,
        log_level=LogLevel.ERROR,
        default_project_id=EMULATOR_PROJECT,
    )


# The columns of the safe-default filters, typed as `bq load` of Arctic Shift dumps makes them.
FILTER_COLUMNS = ("over_18", "quarantine", "removed_by_category", "subreddit_type", "_meta")


@pytest.fixture
def bigquery_table(bqemu_client) -> Callable[..., str]:
    """Create a table of Reddit posts in the emulator; returns its PROJECT.DATASET.TABLE name.

    ``create(posts, name=None, columns=())``: the table has subreddit, title, score and author,
    plus the FILTER_COLUMNS named in ``columns`` (``_meta`` is a RECORD with was_deleted_later
    and removal_type); a post's missing keys are NULL."""
    from google.cloud import bigquery

    field = bigquery.SchemaField
    types = {
        "subreddit": field("subreddit", "STRING"),
        "title": field("title", "STRING"),
        "score": field("score", "INT64"),
        "author": field("author", "STRING"),
        "over_18": field("over_18", "BOOL"),
        "quarantine": field("quarantine", "BOOL"),
        "removed_by_category": field("removed_by_category", "STRING"),
        "subreddit_type": field("subreddit_type", "STRING"),
        "_meta": field(
            "_meta",
            "RECORD",
            fields=[field("was_deleted_later", "BOOL"), field("removal_type", "STRING")],
        ),
    }

    def create(posts: Iterable[dict], name: str | None = None, columns: Iterable[str] = ()) -> str:
        name = name or f"{EMULATOR_PROJECT}.reddit.posts_{uuid.uuid4().hex[:8]}"
        project, dataset, _ = name.split(".")
        names = [*POST_FIELDS, *columns]
        schema = [types[column] for column in names]
        bqemu_client.create_dataset(f"{project}.{dataset}", exists_ok=True)
        table = bqemu_client.create_table(bigquery.Table(name, schema=schema), exists_ok=True)
        rows = [{key: post.get(key) for key in names} for post in posts]
        errors = bqemu_client.insert_rows_json(table, rows)
        assert errors == [], errors
        return name

    return create


def dump_lines(posts: Iterable[dict]) -> bytes:
    return b"".join(json.dumps(post, ensure_ascii=False).encode() + b"\n" for post in posts)


def write_zst(path: Path, data: bytes) -> Path:
    """Compress like the real monthly dumps: `zstd --long=31`, a 2 GiB window, no size in the
    frame header, so a decoder with the default window limit refuses it."""
    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(
        3, window_log=31, enable_ldm=True, write_content_size=False
    )
    with (
        path.open("wb") as raw,
        zstandard.ZstdCompressor(compression_params=params).stream_writer(
            raw, closefd=False
        ) as out,
    ):
        out.write(data)
    return path


def write_gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


def _run(*args: str):
    from click.testing import CliRunner

    from titlegen.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="session")
def titles_csv(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "titles.csv"
    result = _run(
        "fetch", "--source", str(ROOT / "data" / "sample"), "--per-subreddit", "100", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def tiny_model(titles_csv, tmp_path_factory) -> Path:
    models = tmp_path_factory.mktemp("models")
    result = _run("new-model", "tiny", "--from", str(titles_csv), "--model-dir", str(models), *TINY)
    assert result.exit_code == 0, result.output
    assert "Created" in result.output and "1 layer, 32 wide, 2 heads, 400 tokens" in (result.output)
    return models / "tiny"


def train_cli(dataset, model, checkpoint_dir, *args: str):
    """`titlegen train` on a tiny model, quickly."""
    return _run(
        "train",
        str(dataset),
        "--model",
        model.name,
        "--model-dir",
        str(model.parent),
        "--checkpoint-dir",
        str(checkpoint_dir),
        *FAST,
        *args,
    )


@pytest.fixture(scope="session")
def trained(tiny_model, titles_csv, tmp_path_factory):
    """A run trained 4 steps, then resumed for 2 more: (folder, first result, second result)."""
    checkpoint_dir = tmp_path_factory.mktemp("checkpoint")
    first = train_cli(titles_csv, tiny_model, checkpoint_dir, "--steps", "4")
    second = train_cli(titles_csv, tiny_model, checkpoint_dir, "--steps", "2")
    return checkpoint_dir / "run1", first, second


# Three subreddits whose styles a rule tells apart (tests/styles.py): conditioning, novelty.
@pytest.fixture(scope="session")
def styles_csv(tmp_path_factory) -> Path:
    return styles.write(tmp_path_factory.mktemp("styles") / "styles.csv")


@pytest.fixture(scope="session")
def styled_runs(styles_csv, tmp_path_factory) -> Path:
    """A tiny model made from styles_csv and two runs of it in the returned folder: styled,
    trained 200 steps conditioned on the subreddit (the default); plain, 1 step unconditioned."""
    root = tmp_path_factory.mktemp("conditioning")
    made = _run("new-model", "tiny", "--from", str(styles_csv), "--model-dir", str(root), *TINY)
    assert made.exit_code == 0, made.output
    common = ["--model", "tiny", "--model-dir", str(root), "--checkpoint-dir", str(root / "ck")]
    common += ["--accumulate-gradients", "1", "--print-every", "100", "--seed", "1"]
    styled = _run(
        "train", str(styles_csv), *common, "--run-name", "styled", "--steps", "200",
        "--learning-rate", "3e-3",
    )  # fmt: skip
    assert styled.exit_code == 0, styled.output
    assert "conditioned on the subreddit" in styled.output
    plain = _run(
        "train", str(styles_csv), *common, "--run-name", "plain", "--steps", "1", "--no-condition"
    )
    assert plain.exit_code == 0, plain.output
    assert "conditioned" not in plain.output
    return root / "ck"


@pytest.fixture(scope="session")
def keyword_run(styled_runs, styles_csv) -> Path:
    """styled_runs' tiny model trained 400 steps with --keywords (and the subreddit, the
    default): <|startoftext|>rain,tea ~ whispers soft rain tea nap<|endoftext|>."""
    root = styled_runs.parent
    result = _run(
        "train", str(styles_csv), "--model", "tiny", "--model-dir", str(root), "--checkpoint-dir",
        str(root / "kw"), "--run-name", "keywords", "--keywords", "--steps", "400",
        "--learning-rate", "3e-3", "--accumulate-gradients", "1", "--print-every", "100",
        "--seed", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "conditioned on the subreddit and keywords" in result.output
    return root / "kw" / "keywords"
