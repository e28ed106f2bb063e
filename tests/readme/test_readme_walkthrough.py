"""The README's shell blocks, run in order in the repository root as a new user pastes them.

A block after `<!-- walk-through: skip -->` is not run (it needs a real board, or it is the
test command itself); one after `<!-- walk-through: terminal -->` runs in a terminal of its
own, here in the background until it prints its hint. A command the README sends to the
background with `&` is waited for until it says it is ready, as a reader would wait; one
whose comment says `(exit N)` fails on purpose, with that status. `~` is a
temporary home, so keys and state stay out of the user's; the README's ports (NATS 4222, the
simulated board 4500, the registry 5000) are moved to free ones so that the walk-through does
not meet what else runs on this machine.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.up import free_port

ROOT = Path(__file__).resolve().parents[2]
WALK_SECONDS = 280  # about 40 s here; a walk-through that hangs fails within pytest's timeout
STOP_SECONDS = 30.0
# what each program prints once it serves, for a command sent to the background
READY = {"up": "Ctrl-C stops everything", "sim": " on tcp://", "gateway": " is host ",
         "docker-registry": "listening on"}
EXPECTED_EXIT = re.compile(r"\(exit (\d+)\)")
BACKGROUND = re.compile(r"^(.*?[^&>])&(?!&)(.*)$")  # `CMD &` or `CMD & REST`, not && or >&
PROLOGUE = """set -eo pipefail
trap 'echo "walk-through: failed: $BASH_COMMAND" >&2' ERR
ready() {  # LOG PATTERN PID: until the program logs PATTERN; fail when it ends first
  until grep -qF -- "$2" "$1"; do
    kill -0 "$3" 2>/dev/null || { echo "walk-through: it ended: $(tail -3 "$1")" >&2; exit 1; }
    sleep 0.1
  done
}
"""


def shell_blocks() -> list[tuple[str, str]]:
    """(marker, text) of each ```sh block of the README, in order; marker '' when none."""
    found = re.finditer(r"(?:<!-- walk-through: (\w+) -->\n)?```sh\n(.*?)```",
                        (ROOT / "README.md").read_text(), re.S)
    return [(m.group(1) or "", m.group(2)) for m in found]


def _program(command: str) -> str:
    named = re.search(r"edgehost (\w+)|tools/dev\.py (up)|(docker-registry)", command)
    assert named, f"the walk-through does not know when this is ready: {command}"
    return next(filter(None, named.groups()))


def _in_background(command: str, rest: str, number: int, logs: Path) -> str:
    log = logs / f"background{number}.log"
    return (f"{command} > {log} 2>&1 &{rest}\n"
            f"ready {log} {READY[_program(command)]!r} $!\n")


def script(ports: dict[str, int], logs: Path) -> str:
    lines = [PROLOGUE, f"cd {ROOT}"]
    for marker, text in shell_blocks():
        if marker == "skip":
            continue
        for old, new in ports.items():
            text = text.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
        text = text.replace("tools/dev.py up", f"tools/dev.py up --nats-port {ports['4222']}")
        for line in text.replace("\\\n", " ").splitlines():
            line, _, comment = line.partition("  #")
            line = line.rstrip()
            expected = EXPECTED_EXIT.search(comment)
            if expected:  # a failure the README shows on purpose
                line += f" || test $? -eq {expected.group(1)}"
            if marker == "terminal":
                line += " &"
            background = BACKGROUND.match(line)
            lines.append(_in_background(background.group(1).rstrip(), background.group(2),
                                        len(lines), logs) if background else line)
    return "\n".join(lines) + "\n"


def _untracked() -> set[str]:
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return {line[3:] for line in done.stdout.splitlines() if line.startswith("??")}


def _stop_all(group: int) -> None:
    """SIGTERM to everything the walk-through started, as closing its terminals would."""
    try:
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            os.killpg(group, 0)
            time.sleep(0.1)
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.timeout(WALK_SECONDS + 2 * STOP_SECONDS)
def test_the_readme_runs_in_order_as_written(tmp_path):
    ports = {"4222": free_port(), "4500": free_port(), "5000": free_port()}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EDGEHOST_", "WASMCLOUD_", "XDG_"))}
    env.update(HOME=str(tmp_path / "home"),
               WASMCLOUD_NATS_URL=f"nats://127.0.0.1:{ports['4222']}")  # what `up` moved
    (tmp_path / "home").mkdir()
    walk = tmp_path / "walk.sh"
    walk.write_text(script(ports, tmp_path))
    before = _untracked()
    trace = (tmp_path / "trace.log").open("w")
    run = subprocess.Popen(["bash", "-x", str(walk)], env=env, stdout=trace,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        code = run.wait(timeout=WALK_SECONDS)
    except subprocess.TimeoutExpired:
        code = None  # hung: what it printed last says where
    finally:
        _stop_all(run.pid)
    shown = (tmp_path / "trace.log").read_text()
    assert code == 0, shown[-4000:]
    for answer in ("hello board", "hello lattice", "updated to 127.0.0.1:", "started on host"):
        assert answer in shown
    hosts = re.findall(r"edgehost\.board=([\w-]+)", shown)  # `ctl get hosts`, once
    assert len(hosts) == len(set(hosts)) == 2, hosts  # up's board and the example's
    assert _untracked() - before == set()  # what the examples make stays in their folders
