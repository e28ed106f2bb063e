"""The board's MicroPython and CircuitPython builds (edgecli.mpbuild, edgecli.cpbuild): cached,
and one clear line when they cannot run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgecli import cpbuild, mpbuild


def run_build(*args: str, path: str | None = None,
              module: str = "edgecli.mpbuild") -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", module, *args], env=env,
                          capture_output=True, text=True, timeout=120)


def tools_dir(tmp_path: Path, *names: str) -> str:
    """A PATH holding only the named programs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        (folder / name).symlink_to(shutil.which(name))
    return str(folder)


@pytest.mark.parametrize("runtime, module", [("micropython", "edgecli.mpbuild"),
                                             ("circuitpython", "edgecli.cpbuild")])
def test_a_warm_build_needs_no_compiler_and_changes_nothing(request, tmp_path, runtime, module):
    binary = request.getfixturevalue("board_" + runtime)
    before = binary.stat().st_mtime_ns
    done = run_build(path=tools_dir(tmp_path), module=module)  # neither gcc nor make on PATH
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(binary)
    assert binary.stat().st_mtime_ns == before


def test_a_missing_compiler_is_one_line_saying_what_to_install(tmp_path):
    done = run_build("--output", str(tmp_path / "out"), path=tools_dir(tmp_path, "make"))
    assert done.returncode == 1
    assert done.stderr == (
        "edgehost: building MicroPython with the wasm3 module needs a C compiler, and gcc is "
        "not on PATH: install gcc and make (Debian: apt-get install build-essential)\n")


@pytest.mark.parametrize("module, source", [("edgecli.mpbuild", mpbuild.MICROPYTHON),
                                            ("edgecli.cpbuild", cpbuild.CIRCUITPYTHON)])
def test_an_archive_that_is_not_the_pinned_one_is_refused(tmp_path, module, source):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    archive = vendor / source.archive
    archive.write_bytes(b"not the release")
    done = run_build("--output", str(tmp_path / "out"), "--vendor", str(vendor), module=module)
    assert done.returncode == 1
    assert done.stderr.startswith("edgehost: %s: SHA-256 is " % archive)
    assert done.stderr.endswith(", but the pin is %s; replace the archive\n" % source.sha256)


def test_without_archives_or_git_the_build_says_where_it_looked(tmp_path):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    done = run_build("--output", str(tmp_path / "out"), "--vendor", str(vendor),
                     path=tools_dir(tmp_path, "gcc", "make"))
    assert done.returncode == 1
    assert done.stderr == (
        "edgehost: micropython-1.28.0.tar.gz is not in %s and git is not installed to fetch "
        "https://github.com/micropython/micropython.git at e0e9fbb\n" % vendor)


def test_the_circuitpython_build_says_it_needs_git(tmp_path):
    done = run_build("--output", str(tmp_path / "out"), path=tools_dir(tmp_path, "gcc", "make"),
                     module="edgecli.cpbuild")
    assert done.returncode == 1
    assert done.stderr == (
        "edgehost: building CircuitPython with the wasm3 module needs git, and git is not on "
        "PATH: install gcc, make and git (Debian: apt-get install build-essential git)\n")

