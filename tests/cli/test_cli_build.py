"""`edgehost build-actors`: --out relative to the caller, a file or an unwritable place refused in
one line, progress on a terminal, Ctrl-C without a traceback."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time

import pytest
from cli_paths import COMMAND_TIMEOUT, EDGEHOST

from edgecli import actorbuild


def test_out_relative_to_the_callers_folder(edgehost, tmp_path, actors):
    got = edgehost("build-actors", "--out", "built", cwd=tmp_path)
    assert got.code == 0, got
    assert (tmp_path / "built" / "echo.wasm").read_bytes() == actors["echo"]
    assert f"echo: {tmp_path}/built/echo.wasm" in got.out


def test_out_that_is_a_file_is_refused(edgehost, tmp_path):
    (tmp_path / "afile").write_text("x")
    got = edgehost("build-actors", "--out", "afile")
    assert (got.code, got.err) == (1, "edgehost: build-actors --out afile: it is a file; give a "
                                      "folder (made if absent)\n")


def test_out_where_nothing_can_be_written_is_one_line(edgehost, tmp_path):
    (tmp_path / "afile").write_text("x")
    got = edgehost("build-actors", "--out", "afile/sub")
    assert (got.code, got.err) == (1, "edgehost: build-actors --out afile/sub: cannot write "
                                      "there (Not a directory)\n")


def _stalling_compiler(tmp_path):
    """A `ziglang` found before the real one that says it started, then compiles forever: the
    build is surely still running when Ctrl-C comes (a real compile may end first)."""
    package = tmp_path / "stub" / "ziglang"
    package.mkdir(parents=True)
    marker = tmp_path / "compiling"
    (package / "__init__.py").write_text("")  # a regular package, so it wins over the real one
    (package / "__main__.py").write_text(
        f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(600)\n")
    return package.parent, marker


def test_ctrl_c_during_the_build_ends_it_in_one_line(env, tmp_path):
    stub, marker = _stalling_compiler(tmp_path)
    env["PYTHONPATH"] = str(stub)
    env["TERM"] = "xterm"
    master, slave = pty.openpty()  # stderr on a terminal, as a user has it: progress shows
    build = subprocess.Popen([EDGEHOST, "build-actors", "--out", str(tmp_path / "out")],
                             stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                             env=env, cwd=tmp_path, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not (marker.exists() and b"building actors" in seen):
            assert time.monotonic() < deadline, f"no progress line; terminal showed {seen!r}"
            if select.select([master], [], [], 0.1)[0]:
                seen += os.read(master, 4096)
        os.killpg(build.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        code = build.wait(COMMAND_TIMEOUT)
        while select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
        os.close(master)
        build.stdout.close()
    assert code == 130
    text = seen.decode(errors="replace")
    first = sorted(actorbuild.SOURCES.glob("*.c"))[0].stem
    assert f"building actors: {first}" in text  # the first source, by name
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert text.rstrip().endswith("edgehost: interrupted")
    assert not list((tmp_path / "out").glob("*.inputs"))  # nothing counts as built
    with pytest.raises(ProcessLookupError):  # the compiler did not outlive the command
        os.killpg(build.pid, 0)


def test_no_actor_sources_to_build_is_one_line_not_silence(tmp_path, monkeypatch, capsys):
    from edgecli import actorbuild
    from edgecli.main import main

    monkeypatch.setattr(actorbuild, "SOURCES", tmp_path)  # an installation without them
    assert main(["build-actors", "--out", str(tmp_path / "out")]) == 1
    shown = capsys.readouterr()
    assert (shown.out, shown.err) == ("", f"edgehost: no actor sources (NAME.c) in {tmp_path}\n")
