"""The board's MicroPython built 32-bit, as an ESP32 is: what it is, and the one line a machine
without gcc's 32-bit libraries gets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgecli import mpbuild


@pytest.mark.micropython
def test_the_32_bit_build_is_32_bit_code_in_its_own_folder(sim_micropython):
    assert sim_micropython.parent == mpbuild.OUTPUT_32
    assert sim_micropython.read_bytes()[4] == 1  # ELFCLASS32
    done = subprocess.run([str(sim_micropython), "-c", "import sys, wasm3; print(sys.maxsize)"],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == str(2**31 - 1)


def test_without_gcc_multilib_the_32_bit_build_says_what_to_install(tmp_path, monkeypatch):
    fake = tmp_path / "gcc"
    fake.write_text("#!/bin/sh\necho 'fatal error: bits/libc-header-start.h' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    done = subprocess.run([sys.executable, "-m", "edgecli.mpbuild", "--32bit", "--output",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == (
        "edgehost: the 32-bit MicroPython needs gcc's 32-bit libraries, and `gcc -m32` cannot "
        "build a program here: install them (Debian: apt-get install gcc-multilib)\n")
