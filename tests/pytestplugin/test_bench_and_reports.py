"""The bench: real boards that are not attached, a hardware map, several simulated boards; and
what the JUnit XML report carries."""

from __future__ import annotations

import socket
import textwrap
import xml.etree.ElementTree as ElementTree

from support.pytestruns import run_pytest, summary

TWO_TESTS = textwrap.dedent('''
    def test_one(edgehost_board):
        assert edgehost_board.actors() == {}

    def test_two(edgehost_board):
        assert edgehost_board.actors() == {}
''')


def skipped_lines(done) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]


def test_a_board_port_with_no_board_attached_skips_in_one_line(tmp_path):
    (tmp_path / "test_user.py").write_text(TWO_TESTS)
    port = tmp_path / "ttyUSB9"
    done = run_pytest(tmp_path, "--board-port", str(port), "--board-profile", "esp32-devkitc")
    assert summary(done) == "2 skipped", done.stdout + done.stderr
    assert skipped_lines(done) == [
        "SKIPPED [2] test_user.py: no board on %s (--board-port): plug it in, or leave "
        "--board-port out to run against the simulated board" % port]


def test_a_board_tcp_address_where_nothing_answers_skips_in_one_line(tmp_path):
    (tmp_path / "test_user.py").write_text(TWO_TESTS)
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = "127.0.0.1:%d" % unused.getsockname()[1]
    done = run_pytest(tmp_path, "--board-tcp", address)
    assert summary(done) == "2 skipped", done.stdout + done.stderr
    assert skipped_lines(done) == [
        "SKIPPED [2] test_user.py: no board answers at tcp://%s (Connection refused) "
        "(--board-tcp): plug it in, or leave --board-tcp out to run against the simulated "
        "board" % address]


def test_an_attached_board_without_its_key_file_is_a_usage_mistake_said_once(tmp_path):
    (tmp_path / "test_user.py").write_text(TWO_TESTS)
    done = run_pytest(tmp_path, "--board-port", "/dev/null", "--board-profile", "esp32-devkitc")
    assert done.returncode == 4  # pytest's usage error
    assert done.stderr.strip() == ("ERROR: --board-port needs --board-profile NAME and "
                                   "--board-key-file FILE (from edgehost provision --key-file)")


def test_a_test_asking_for_boards_the_hardware_map_lacks_skips_saying_what_it_lacks(tmp_path):
    (tmp_path / "bench.yaml").write_text(textwrap.dedent('''
        - port: %s/ttyUSB0
          profile: esp32-s3-devkitc-n8r8
          key_file: keys/s3.key
        - port: /dev/null
          profile: esp32-devkitc
          key_file: keys/plain.key
          labels: {room: lab}
    ''' % tmp_path))
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.edgehost_board(psram=True)
        def test_needs_psram(edgehost_board):
            pass

        @pytest.mark.edgehost_board(count=2, room="lab")
        def test_needs_two(edgehost_boards):
            pass
    '''))
    done = run_pytest(tmp_path, "--hardware-map", "bench.yaml")
    assert summary(done) == "2 skipped", done.stdout + done.stderr
    assert skipped_lines(done) == [
        "SKIPPED [1] test_user.py:4: the bench (hardware map bench.yaml) has 0 boards with "
        "psram=true attached; this test needs 1",
        "SKIPPED [1] test_user.py:8: the bench (hardware map bench.yaml) has 1 board with "
        "room=lab attached; this test needs 2"]


def test_a_hardware_map_that_breaks_a_rule_is_one_line_naming_board_and_rule(tmp_path):
    (tmp_path / "bench.yaml").write_text("- port: /dev/ttyUSB0\n  key_file: k.key\n")
    (tmp_path / "test_user.py").write_text(TWO_TESTS)
    done = run_pytest(tmp_path, "--hardware-map", "bench.yaml")
    assert done.returncode == 4
    assert done.stderr.strip() == "ERROR: hardware map bench.yaml: board 1: profile is missing"


def test_count_gives_each_test_that_many_simulated_boards_and_labels_pick_them(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import pytest

        def test_two_boards(edgehost_boards):
            assert [b.board_id for b in edgehost_boards] == ["sim1", "sim2"]

        @pytest.mark.edgehost_board(psram=False)
        def test_needs_a_board_without_psram(edgehost_board):
            pass
    '''))
    done = run_pytest(tmp_path, "--count", "2")
    assert summary(done) == "1 passed, 1 skipped", done.stdout + done.stderr
    assert skipped_lines(done) == [
        "SKIPPED [1] test_user.py:7: the bench (simulated) has 0 boards with psram=false "
        "attached; this test needs 1"]


def test_the_junit_report_carries_the_board_facts_and_a_failed_tests_log(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_passes(edgehost_board):
            pass

        def test_fails(edgehost_board, edgehost_actor):
            edgehost_board.install(edgehost_actor("faults"), dev_sign=True)
            edgehost_board.call("faults", "Fail")
    '''))
    done = run_pytest(tmp_path, "--junitxml", "report.xml", "--board-runtime", "cpython")
    assert summary(done) == "1 failed, 1 passed", done.stdout + done.stderr
    cases = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
             for case in ElementTree.parse(tmp_path / "report.xml").iter("testcase")}
    passed = cases["test_passes"]
    assert {name: passed[name] for name in ("board.board_id", "board.profile", "board.engine",
                                            "board.simulated")} == {
        "board.board_id": "sim1", "board.profile": "esp32-s3-devkitc-n8r8",
        "board.engine": "wasm3", "board.simulated": "true"}
    assert passed["board.firmware"].startswith("edgehost-board ")
    assert passed["board.os"].startswith("cpython ")
    assert "board sim1 log" not in passed
    assert "installed actor" in cases["test_fails"]["board sim1 log"]


def test_a_boards_registry_that_breaks_a_rule_is_one_line_naming_it(tmp_path):
    (tmp_path / "boards.json").write_text('{"boards": [{"board_id": "b1", "tcp": "h:1"}]}')
    (tmp_path / "test_user.py").write_text(TWO_TESTS)
    done = run_pytest(tmp_path, "--boards", "boards.json")
    assert done.returncode == 4
    assert done.stderr.strip() == (
        "ERROR: --boards: board registry boards.json, board 'b1': pairing_key must be 64 hex "
        "digits (32 bytes), or give key_file")
