"""The command line as a whole: help, start-up cost, entry points."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from titlegen.cli import cli

HEAVY = (
    "tensorflow",
    "gpt_2_simple",
    "google.cloud.bigquery",
    "pandas",
    "duckdb",
    "matplotlib",
    "numpy",
    "fastapi",
    "uvicorn",
    "safetensors",
    "torch",
    "transformers",
)


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_a_summary_and_an_example(name):
    command = cli.commands[name]
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert command.get_short_help_str(80)
    assert f"titlegen {name} " in result.output  # at least one example


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from titlegen.cli import cli\n"
        "for args in (['--help'], ['fetch', '--help'], ['runs', '--help'], ['serve', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "titlegen", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("titlegen, version ")


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["fecth"])
    assert result.exit_code == 2
    assert "No such command 'fecth'" in result.output
