"""edgehost_lattice: the test's boards as hosts on a lattice of their own, on a nats-server
the plugin starts; calls and events from the lattice."""

from __future__ import annotations

import textwrap

from support.pytestruns import run_pytest, summary


def test_an_actor_on_one_board_calls_an_actor_on_another_across_the_lattice(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.edgehost_board(count=2)
        def test_across(edgehost_lattice, edgehost_actor):
            first, second = edgehost_lattice.hosts
            echo = second.start_actor(edgehost_actor("echo"), dev_sign=True)
            started = edgehost_lattice.wait_for_event("actor_started", public_key=echo)
            assert started["source"] == second.id
            caller = first.start_actor(edgehost_actor("caller"), dev_sign=True)
            assert edgehost_lattice.call(echo, "Echo", b"signed") == b"signed"
            request = b"wasmbus|%s|Echo|across" % echo.encode()
            assert edgehost_lattice.call(caller, "Call", request) == b"across"
            assert first.actors() == [caller] and second.actors() == [echo]
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 passed", done.stdout + done.stderr


def test_an_event_that_never_comes_fails_naming_it_and_what_came(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        def test_waits(edgehost_lattice):
            edgehost_lattice.wait_for_event("actor_started", timeout=0.5, public_key="MNONE")
    '''))
    done = run_pytest(tmp_path)
    assert summary(done) == "1 failed", done.stdout + done.stderr
    error = [line[1:].strip() for line in done.stdout.splitlines() if line.startswith("E ")]
    assert error[0].startswith("edgecli.benchboard.BoardTestError: no actor_started event "
                               "{'public_key': 'MNONE'} within 0.5 s on lattice "
                               "edgehost-test-"), error
    assert "host_started" in error[0]
