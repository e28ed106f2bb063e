"""`edgehost push` given what is not an actor, or a port where no registry answers: one line."""

from __future__ import annotations

import subprocess
from urllib.parse import urlparse

import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST
from support.providers import kv_binary, write_par
from support.signing import sign_to_file

from edgecli import actorbuild


def push(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDGEHOST, "push", *argv], capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)


def test_pushing_a_provider_archive_is_one_line_saying_push_takes_an_actor(tmp_path):
    par = tmp_path / "kv.par"
    write_par(par, {"x86_64-linux": kv_binary()})
    done = push("127.0.0.1:5000/demo/kv:0.1.0", str(par), "--insecure")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"edgehost: {par}: not pushed, not a WebAssembly module: it does not "
                           f"start with \\0asm; push takes a signed actor (.wasm), not a "
                           f"provider archive (.par) or other file\n")


@pytest.mark.nats
def test_pushing_to_a_port_where_nats_answers_is_one_line_saying_it_is_no_registry(
        nats_server, tmp_path):
    module = tmp_path / "echo_s.wasm"
    sign_to_file(actorbuild.build_actor(actorbuild.SOURCES / "echo.c").read_bytes(), module,
                 "echo")
    where = urlparse(nats_server.url).netloc
    done = push(f"{where}/demo/echo:0.1.0", str(module), "--insecure")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"edgehost: {where}/demo/echo:0.1.0: {where} is not an HTTP "
                                  f"registry: it answered 'INFO "), done.stderr
    assert len(done.stderr.splitlines()) == 1
