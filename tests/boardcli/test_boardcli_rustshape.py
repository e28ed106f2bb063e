"""Actors of the shape wasmCloud's Rust toolchain makes, on simulated boards of real profiles.

rust_greeter: 17 pages of linear memory (a 1 MiB shadow stack), `wasmbus` imports,
`__wasmbus_rpc_version`, msgpack payloads; rust_bulky: the same with a 2 MiB data section, a
module of 2 MiB.
"""

from __future__ import annotations

import json
import subprocess

from support.commands import EDGEHOST

BLOB_ROW = b"edgehost-blob-0123456789abcdefg\n"
BIG_COMMAND_TIMEOUT = 120.0  # 2 MiB at 921600 baud takes about 25 s on the wire


def greet(board, sim, name: str):
    return board(sim, "call", "rust_greeter", "Greeter.Greet", json.dumps({"name": name}),
                 "--msgpack-json")


def test_a_rust_shaped_actor_installs_answers_survives_a_restart_and_hot_swaps(
        start_sim, board, unsigned, tmp_path):
    module = unsigned("rust_greeter")
    first = start_sim()  # the default profile: ESP32-S3 N8R8
    installed = board(first, "install", "--dev-sign", module)
    assert installed.code == 0, installed
    answer = greet(board, first, "edge")
    assert answer.code == 0, answer
    assert json.loads(answer.out) == {"greeting": "Hello, edge!", "rpc": 1}
    first.stop()

    second = start_sim()  # the same flash: the actor is restored, nothing is sent again
    assert json.loads(greet(board, second, "again").out)["greeting"] == "Hello, again!"
    assert "installed actor" not in second.stderr
    assert "restored 1 actor(s) from flash" in second.stderr

    # the next version, under the same module key (dev-signed for the same file name)
    newer = tmp_path / "v2" / "rust_greeter.wasm"
    newer.parent.mkdir()
    newer.write_bytes(unsigned("rust_greeter_v2").read_bytes())
    swapped = board(second, "install", "--dev-sign", newer)
    assert swapped.code == 0, swapped
    assert swapped.out.startswith("replaced ")
    assert json.loads(greet(board, second, "edge").out)["greeting"] == "Howdy, edge!"


def test_a_board_without_psram_refuses_it_with_the_fit_reason_before_any_byte(
        start_sim, board, unsigned):
    module = unsigned("rust_greeter")
    sim = start_sim("--profile", "esp32-c3-devkitm-1")
    refused = board(sim, "install", "--dev-sign", module)
    assert refused.code == 1
    assert refused.err.endswith(
        f"edgehost: board sim (profile esp32-c3-devkitm-1) cannot take {module}: memory: "
        f"declares 17 memory pages (1088 KiB), above the budget of 2 pages (128 KiB); nothing "
        f"was uploaded (see `edgehost board fit`)\n")
    assert "install" not in sim.stderr
    assert "Actors       none" in board(sim, "info").out


def bulky_answers(board, sim) -> None:
    size = board(sim, "call", "rust_bulky", "Blob.Size", "--msgpack-json", timeout=30)
    assert json.loads(size.out) == {"size": 2 * 1024 * 1024}, size
    span = board(sim, "call", "rust_bulky", "Blob.Sum", '{"at": 32, "len": 64}',
                 "--msgpack-json")
    assert json.loads(span.out) == {"sum": 2 * sum(BLOB_ROW)}, span


def test_a_2_mib_module_installs_over_tcp(start_sim, board, unsigned):
    module = unsigned("rust_bulky")
    assert module.stat().st_size > 2 * 1024 * 1024
    sim = start_sim()
    installed = board(sim, "install", "--dev-sign", module, timeout=30)
    assert installed.code == 0, installed
    bulky_answers(board, sim)


def test_a_2_mib_module_installs_over_a_921600_baud_pty(start_sim, board, unsigned, key_file):
    module = unsigned("rust_bulky")
    sim = start_sim("--baud", "921600", tcp=False)
    done = subprocess.run([EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file),
                           "--baud", "921600", "install", "--dev-sign", str(module)],
                          capture_output=True, text=True, timeout=BIG_COMMAND_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("installed ")
    bulky_answers(board, sim)
