"""`edgehost linkproxy` between `edgehost board` and a simulated board, over TCP and a pty."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys

import pytest

from edgecli.linkproxy import READY_PREFIX

START = 15.0


class Proxy:
    """`edgehost linkproxy ARGS…` in its own process; `where` is its gateway side."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([sys.executable, "-m", "edgecli.main", "linkproxy",
                                         *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        said = self.process.stderr if "--json" in args else self.process.stdout
        ready = select.select([said], [], [], START)[0]
        line = said.readline() if ready else ""
        assert line.startswith(READY_PREFIX), (line, self.stop())
        self.where = line.removeprefix(READY_PREFIX).strip()

    @property
    def board_args(self) -> list[str]:
        if self.where.startswith("tcp://"):
            return ["--tcp", self.where.removeprefix("tcp://")]
        return ["--port", self.where]

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[str, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=START)
        return out, err


@pytest.fixture
def proxy():
    started: list[Proxy] = []

    def start(*args: str) -> Proxy:
        started.append(Proxy(*args))
        return started[-1]

    yield start
    for each in started:
        if each.process.poll() is None:
            each.process.kill()
            each.process.wait()


def test_calls_through_a_damaging_tcp_proxy_get_their_answers(start_sim, proxy, edgehost,
                                                               key_file, signed):
    sim = start_sim()
    between = proxy("--board", sim.where, "--damage", "0.05", "--seed", "3")
    module, _ = signed("echo")
    on = [*between.board_args, "--key-file", key_file, "--timeout", "20"]
    assert edgehost("board", *on, "install", module).code == 0
    for word in ("one", "two", "three"):
        done = edgehost("board", *on, "call", "echo", "Echo", word)
        assert (done.code, done.out) == (0, word), done
    out, _ = between.stop()
    lines = out.splitlines()
    assert lines[0].startswith("edgehost linkproxy: to board: ")
    assert lines[1].startswith("edgehost linkproxy: to gateway: ")
    assert "flip, " in lines[0] and "drop, " in lines[0] and "duplicate" in lines[0]


def test_the_report_says_in_json_what_was_done_and_with_which_seed(start_sim, proxy, edgehost,
                                                                    key_file):
    sim = start_sim()
    between = proxy("--board", sim.where, "--drop", "0.1", "--reorder", "0.1", "--seed", "11",
                    "--json")
    done = edgehost("board", *between.board_args, "--key-file", key_file, "--timeout", "20",
                    "info")
    assert done.code == 0, done
    report = json.loads(between.stop()[0])
    assert report["seed"] == 11 and report["connections"] == 1
    assert report["rates"]["drop"] == 0.1 and report["rates"]["reorder"] == 0.1
    seen = report["to_board"]["frames"] + report["to_gateway"]["frames"]
    assert seen > 0
    assert report["to_board"]["drop"] + report["to_gateway"]["drop"] <= seen


def test_a_pty_proxy_stands_between_a_serial_gateway_and_a_serial_board(start_sim, proxy,
                                                                         edgehost, key_file):
    sim = start_sim(tcp=False)
    between = proxy("--pty", "--board", sim.where, "--duplicate", "0.05", "--seed", "2")
    assert between.where.startswith("/dev/")
    done = edgehost("board", "--port", between.where, "--key-file", key_file, "--timeout", "20",
                    "info")
    assert done.code == 0, done
    assert between.stop()[0].startswith("edgehost linkproxy: to board: ")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_proxy_reports_and_ends_with_the_signals_status(start_sim, proxy, sig, code):
    between = proxy("--board", start_sim().where, "--drop", "0.1")
    out, err = between.stop(sig)
    assert between.process.returncode == code, (out, err)
    assert out.startswith("edgehost linkproxy: to board: ") and "Traceback" not in err


@pytest.mark.parametrize("argv, error", [
    (["--board", "127.0.0.1:9", "--drop", "2"], "--drop 2: a rate must be from 0 to 1"),
    (["--board", "nowhere"], "--board 'nowhere': expected the board's HOST:PORT"),
    (["--board", "127.0.0.1:9", "--damage", "0.1", "--flip", "0.1"],
     "--damage: give it or the single rates, not both"),
    (["--pty", "--board", "/no/such/port"], "--board /no/such/port: cannot open it"),
])
def test_bad_proxy_settings_are_one_line_errors(edgehost, argv, error):
    done = edgehost("linkproxy", *argv)
    assert done.code != 0 and done.out == "" and "Traceback" not in done.err, done
    assert done.err.startswith(f"edgehost: {error}"), done.err
    assert done.err.count("\n") == 1


def test_a_disconnect_hangs_up_both_sides_and_is_reported(start_sim, proxy, edgehost, key_file):
    sim = start_sim()
    between = proxy("--board", sim.where, "--disconnect", "1", "--json")
    done = edgehost("board", *between.board_args, "--key-file", key_file, "--timeout", "5",
                    "info")
    assert done.code == 1
    assert done.err.endswith("the connection closed during the handshake\n"), done.err
    report = json.loads(between.stop()[0])
    assert report["disconnects"] >= 1 and report["connections"] >= 1
