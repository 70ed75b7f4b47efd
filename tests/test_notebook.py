"""notebooks/titlegen.ipynb, the Colab notebook, run every cell as Colab would but on the CPU:
in a real Jupyter kernel on this venv's Python (nbclient), outside Colab, in smoke mode
(TITLEGEN_NOTEBOOK_SMOKE=1: the bundled sample, a tiny new-model trained a few dozen steps, all
in a temporary folder; the Colab-only steps skip themselves with a note).

nbclient, nbformat and ipykernel come with the test extra: without them these tests fail and
say to run `make test` (a skipped notebook test would hide a broken notebook)."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "titlegen.ipynb"
CELL_TIMEOUT = 600  # seconds for one cell: a TensorFlow start-up and training, on two busy cores
PNG = b"\x89PNG\r\n\x1a\n"
COLAB_ONLY = ("drive", "bigquery", "upload", "hub")  # cells that skip themselves outside Colab


def _require(*modules: str) -> None:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not installed: run `make test`.", pytrace=False)


def _nbformat() -> Any:
    _require("nbformat")
    import nbformat

    return nbformat


def _notebook_client(notebook: Any, folder: Path, cwd: Path) -> Any:
    """An nbclient for ``notebook`` whose kernel is ipykernel on this very Python (the venv's),
    from a kernelspec written into ``folder``: it runs the same whatever kernels the machine has
    (a fresh clone, CI), and the notebook's `python -m titlegen` is this checkout's."""
    _require("nbclient", "ipykernel", "jupyter_client")
    import nbclient
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    write_kernel_spec(folder / "kernels" / "titlegen-test")  # argv: sys.executable -m ipykernel
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    kernel = KernelManager(kernel_name="titlegen-test", kernel_spec_manager=specs)
    return nbclient.NotebookClient(
        notebook, km=kernel, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}}
    )


def _stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_notebook_is_saved_valid_and_without_outputs():
    nbformat = _nbformat()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5)
    run = [c.id for c in notebook.cells if c.cell_type == "code" and c.execution_count is not None]
    kept = [c.id for c in notebook.cells if c.cell_type == "code" and c.outputs]
    assert run == [] and kept == [], "save the notebook with its outputs cleared"
    # The badge opens this file of the project's repository in Colab.
    source = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    repo = source.removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/titlegen.ipynb"
    assert colab in notebook.cells[0].source


def test_notebook_runs_in_smoke_mode(tmp_path, monkeypatch):
    nbformat = _nbformat()
    work = tmp_path / "work"
    monkeypatch.setenv("TITLEGEN_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("TITLEGEN_NOTEBOOK_WORKDIR", str(work))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # connection files
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no profile or startup files
    for name in ("TITLEGEN_CHECKPOINT_DIR", "TITLEGEN_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    work.mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    _notebook_client(notebook, tmp_path, work).execute()  # raises at the first failing cell

    cells = {cell.id: cell for cell in notebook.cells}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert [o for cell in code for o in cell.outputs if o.output_type == "error"] == []
    assert "Smoke mode" in _stdout(cells["setup"])
    for cell_id in COLAB_ONLY:
        assert _stdout(cells[cell_id]).startswith("Skipped: "), cell_id

    # Every step ran, in the working folder the test gave.
    assert (work / "data" / "titles.csv").read_text().startswith("subreddit,title\n")
    assert (work / "models" / "tiny" / "hparams.json").is_file()
    record = json.loads((work / "checkpoint" / "notebook" / "titlegen.json").read_text())
    assert record["base_model"] == "tiny"
    shown = [o for o in cells["plot"].outputs if "image/png" in o.get("data", {})]
    assert len(shown) == 1 and base64.b64decode(shown[0].data["image/png"]).startswith(PNG)
    command, *titles = _stdout(cells["generate"]).splitlines()
    assert command.startswith("$ titlegen generate --run-name notebook ")
    assert len(titles) == 5 and all(title.strip() for title in titles), titles
    config = json.loads((work / "export" / "notebook" / "config.json").read_text())
    assert "config.json" in _stdout(cells["export"]) and config
