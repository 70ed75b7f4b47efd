"""atomic_write: the usual permissions, the data on disk before the rename, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from titlegen.atomic import atomic_write
from titlegen.errors import OutputError


@pytest.fixture
def umask():
    """Set a umask for one test and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(mask: int) -> None:
        os.umask(mask)

    yield set_umask
    os.umask(old)


def os_calls(block) -> list:
    """The C functions of ``os`` that ``block()`` calls, in order (seen through the profiler,
    which reports every call of a built-in function)."""
    wanted = {os.umask, os.fsync, os.replace, os.rename}
    calls: list = []
    sys.setprofile(lambda _frame, event, arg: calls.append(arg) if event == "c_call" else None)
    try:
        block()
    finally:
        sys.setprofile(None)
    return [call for call in calls if any(call is fn for fn in wanted)]


def write(path, text: str = "new\n") -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


@pytest.mark.parametrize(("mask", "mode"), [(0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_permissions_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    out = tmp_path / "data.csv"

    write(out)

    assert out.stat().st_mode & 0o777 == mode
    assert out.read_text(encoding="utf-8") == "new\n"


def test_the_umask_is_never_changed(tmp_path):
    # Setting the umask to read it would make files other threads create meanwhile
    # world-writable.
    calls = os_calls(lambda: write(tmp_path / "data.csv"))

    assert os.umask not in calls


def test_the_data_reaches_the_disk_before_the_rename(tmp_path):
    calls = os_calls(lambda: write(tmp_path / "data.csv"))

    names = [call.__name__ for call in calls]
    assert names == ["fsync", "replace", "fsync"]  # the file, the rename, then the folder


def test_the_temporary_file_is_removed_when_the_block_fails(tmp_path):
    out = tmp_path / "data.csv"
    out.write_text("old\n", encoding="utf-8")

    with pytest.raises(KeyboardInterrupt), atomic_write(out) as f:
        f.write("half a new file")
        raise KeyboardInterrupt

    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_an_os_error_in_the_block_is_an_output_error(tmp_path):
    out = tmp_path / "data.csv"
    out.write_text("old\n", encoding="utf-8")

    message = r"Cannot write .*data.csv: No space left on device\."
    with pytest.raises(OutputError, match=message), atomic_write(out) as f:
        f.write("half")
        raise OSError(28, "No space left on device")

    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_a_folder_in_the_way_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")

    with pytest.raises(OutputError, match="Cannot write"):
        write(tmp_path / "file" / "data.csv")


def test_two_writers_of_one_file_use_their_own_temporary_files(tmp_path):
    out = tmp_path / "data.csv"
    with atomic_write(out) as first, atomic_write(out) as second:
        first.write("first\n")
        second.write("second\n")

    assert out.read_text() == "first\n"  # the last to finish wins
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_kill_9_in_the_middle_leaves_the_old_file(tmp_path):
    out = tmp_path / "data.csv"
    out.write_text("old\n", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from titlegen.atomic import atomic_write
        with atomic_write(Path({str(out)!r})) as f:
            f.write("half of the new file")
            f.flush()
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "writing\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    assert out.read_text(encoding="utf-8") == "old\n"


def test_a_block_that_closes_the_file_itself(tmp_path):
    out = tmp_path / "data.bin"

    with atomic_write(out, "wb") as f:
        f.write(b"\x00\x01")
        f.close()  # as some writers do with the file they are given

    assert out.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]
