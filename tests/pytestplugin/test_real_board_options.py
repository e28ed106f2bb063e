"""The real-board options on a board that answers: `edgehost sim` on TCP stands in for the
bench's board (the ESP32 itself cannot be here), reached as a real board is, with its key."""

from __future__ import annotations

import json
import textwrap

import pytest
from support.keys import BOARD_ID, write_key_file
from support.pytestruns import run_pytest, summary
from support.sims import SimProcess

USER_TESTS = textwrap.dedent('''
    import pytest

    @pytest.mark.edgehost_board(psram=True)
    def test_echo(edgehost_board, edgehost_actor):
        key = edgehost_board.install(edgehost_actor("echo"), dev_sign=True)
        assert edgehost_board.call(key, "Echo", b"bench") == b"bench"
        assert edgehost_board.board_id == "bench-3" and not edgehost_board.simulated
''')


@pytest.fixture
def bench_board(tmp_path):
    key = write_key_file(tmp_path / "bench.key")
    sim = SimProcess(tmp_path / "sim.err", "--tcp", "127.0.0.1:0", "--key-file", str(key),
                     "--flash-dir", str(tmp_path / "flash"))
    yield sim.where.removeprefix("tcp://")
    sim.stop()


def test_board_tcp_runs_the_tests_on_the_board_there(tmp_path, bench_board):
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = run_pytest(tmp_path, "--board-tcp", bench_board, "--board-profile",
                      "esp32-s3-devkitc-n8r8", "--board-key-file", "bench.key")
    assert summary(done) == "1 passed", done.stdout + done.stderr


def test_a_hardware_map_gives_the_board_with_the_labels_asked_for(tmp_path, bench_board):
    (tmp_path / "bench.yaml").write_text(
        "- tcp: %s\n  profile: esp32-s3-devkitc-n8r8\n  key_file: bench.key\n" % bench_board)
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = run_pytest(tmp_path, "--hardware-map", "bench.yaml")
    assert summary(done) == "1 passed", done.stdout + done.stderr


def test_boards_takes_the_boards_of_a_gateway_registry(tmp_path, bench_board):
    registry = {"boards": [{"board_id": BOARD_ID, "key_file": "bench.key", "tcp": bench_board,
                            "labels": {"psram": "true"}}]}
    (tmp_path / "boards.json").write_text(json.dumps(registry))
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = run_pytest(tmp_path, "--boards", "boards.json")
    assert summary(done) == "1 passed", done.stdout + done.stderr
