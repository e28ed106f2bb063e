"""`edgehost ctl watch`: the lattice's events followed live, until Ctrl-C."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time

import pytest
from lattice_rig import EDGEHOST
from test_ctl_cli import ctl, ok

from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats
WAIT = 30.0  # a hang guard, not a measure


def read_line_with(stream, text: str) -> str:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if select.select([stream], [], [], 1)[0]:
            line = stream.readline()
            if not line:
                break
            if text in line:
                return line
    raise AssertionError(f"no line with {text!r}")


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_watch_shows_a_link_put_as_it_happens_and_ctrl_c_ends_it(lab, as_json):
    url, env, host_id, _ = lab
    watch = subprocess.Popen([EDGEHOST, "ctl", "watch", "--nats", url,
                              *(["--json"] if as_json else [])],
                             env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        read_line_with(watch.stderr, "following the events of lattice 'default'")
        actor = KeyPair.generate("module").public_key
        provider = KeyPair.generate("provider").public_key
        ok(ctl(url, "link", "put", actor, provider, "wasmcloud:httpserver", env=env))
        line = read_line_with(watch.stdout, "linkdef_set")
        if as_json:
            event = json.loads(line)
            assert event["type"].endswith("linkdef_set") and event["source"] == host_id
            assert event["data"]["actor_id"] == actor
        else:
            assert f"{host_id[:12]}…" in line and f"actor_id={actor}" in line
            assert f"provider_id={provider}" in line
        watch.send_signal(signal.SIGINT)
        assert watch.wait(WAIT) == 130
        assert watch.stderr.read() == "edgehost: interrupted\n"
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
