"""edgehost_board: a user's actor installed and called on the simulated board, and what a
user sees when a call fails."""

from __future__ import annotations

import textwrap

from support.pytestruns import run_pytest, summary

USER_TESTS = '''
import pytest

def test_echo_answers(edgehost_board, edgehost_actor):
    key = edgehost_board.install(edgehost_actor("echo"), dev_sign=True)
    assert edgehost_board.call(key, "Echo", b"in the loop") == b"in the loop"
    assert edgehost_board.call("echo", "Echo", b"by name") == b"by name"

def test_fails_on_purpose(edgehost_board, edgehost_actor):
    edgehost_board.install(edgehost_actor("faults"), dev_sign=True)
    edgehost_board.call("faults", "Fail", b"")
'''


def test_an_actor_answers_and_a_failing_call_names_board_actor_reason_and_log(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = run_pytest(tmp_path)
    assert summary(done) == "1 failed, 1 passed", done.stdout + done.stderr
    error = [line[1:].strip() for line in done.stdout.splitlines() if line.startswith("E ")]
    assert error[0].startswith("edgecli.benchboard.BoardTestError: board sim1 (tcp://")
    assert error[0].endswith(" (faults) Fail: failed on purpose")
    assert error[1] == "last lines of the board's log:"
    assert any("installed actor" in line and "(faults)" in line for line in error[2:])
    # the test's own line is where it failed, not the plugin's
    assert "test_user.py:11: BoardTestError" in done.stdout
    assert "edgehost board sim1 log" in done.stdout


def test_an_unsigned_module_is_refused_unless_dev_signed(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_unsigned(edgehost_board, edgehost_actor):
            edgehost_board.install(edgehost_actor("echo"))
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 failed", done.stdout + done.stderr
    assert ("edgecli.benchboard.BoardTestError: install echo: the module has no claims; "
            "sign it with `edgehost claims sign` or pass dev_sign=True") in done.stdout


def test_reset_restarts_the_board_and_its_actors_come_back_from_flash(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_reset(edgehost_board, edgehost_actor):
            key = edgehost_board.install(edgehost_actor("counter"), dev_sign=True)
            assert edgehost_board.call(key, "Count", b"a") == b"1:a"
            assert edgehost_board.call(key, "Count", b"b") == b"2:b"
            edgehost_board.reset()
            assert key in edgehost_board.actors()
            assert edgehost_board.call(key, "Count", b"c") == b"1:c"  # a new instance
            assert key in [a["key"] for a in edgehost_board.health()["actors"]]
            assert edgehost_board.budget()["slots_free"] == edgehost_board.budget()["slots"] - 1
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 passed", done.stdout + done.stderr


def test_calls_go_through_when_the_line_drops_and_duplicates_frames(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_faults(edgehost_board, edgehost_actor):
            key = edgehost_board.install(edgehost_actor("echo"), dev_sign=True)
            with edgehost_board.faults(drop=0.1, duplicate=0.1, seed=3) as proxy:
                for n in range(20):
                    assert edgehost_board.call(key, "Echo", b"%d" % n) == b"%d" % n
            damage = proxy.report()
            assert sum(damage[way]["drop"] + damage[way]["duplicate"]
                       for way in ("to_board", "to_gateway")) > 0
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 passed", done.stdout + done.stderr


def test_an_asyncio_test_awaits_the_board(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import asyncio

        async def exchange(board, actor_path):
            key = await board.ainstall(actor_path, dev_sign=True)
            answers = await asyncio.gather(*(board.acall(key, "Echo", b"%d" % n)
                                             for n in range(5)))
            assert answers == [b"%d" % n for n in range(5)]

        def test_async(edgehost_board, edgehost_actor):
            asyncio.run(exchange(edgehost_board, edgehost_actor("echo")))
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 passed", done.stdout + done.stderr


def test_an_actor_source_that_is_not_there_fails_the_test_in_one_line(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_mine(edgehost_board, edgehost_actor):
            edgehost_board.install(edgehost_actor("actor/mine.c"), dev_sign=True)
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 failed", done.stdout + done.stderr
    reason = "%s: no such actor source" % (tmp_path / "actor" / "mine.c")
    assert reason in done.stdout.splitlines(), done.stdout  # the whole failure, one line
    assert "Traceback" not in done.stdout


def test_a_conftest_runs_each_test_on_several_simulated_runtimes(tmp_path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.fixture(params=["cpython", "micropython"])
        def edgehost_runtime(request):
            return request.param
    '''))
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_runs_there(edgehost_board, edgehost_runtime):
            assert edgehost_board.facts()["os"].startswith(edgehost_runtime + " ")
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "2 passed", done.stdout + done.stderr
