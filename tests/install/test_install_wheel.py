"""edgehost as a user installs it: the wheel built from this tree, installed into a fresh
virtualenv, runs its commands from a folder that is not the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT
from support.pytestruns import run_pytest, summary
from support.readmeexample import pytest_example
from support.unixboard import UnixBoard
from support.up import UpProcess, free_port

from edgecli import mpbuild

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 300.0  # pip resolves from its cache, as tools/dev.py does
NOT_SOURCE = shutil.ignore_patterns(".venv", "build", ".git", "__pycache__", "*.egg-info",
                                   ".pytest_cache", ".ruff_cache", ".hypothesis")
# building and installing the wheel comes first, in the first test's time
pytestmark = pytest.mark.timeout(600)
PROFILES = ["esp32-c3-devkitm-1", "esp32-devkitc", "esp32-s3-devkitc-n8r8", "esp32-wrover-e"]


class Installed:
    """The fresh virtualenv's `edgehost`, run in a folder of its own with its own state,
    keys and cache folders."""

    def __init__(self, venv: Path, home: Path):
        self.edgehost = str(venv / "bin" / "edgehost")
        self.folder = home / "work"
        self.folder.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("EDGEHOST_", "WASMCLOUD_", "PYTHON"))}
        self.env.update(EDGEHOST_STATE_DIR=str(home / "state"),
                        EDGEHOST_KEYS_DIR=str(home / "keys"), XDG_CACHE_HOME=str(home / "cache"),
                        PATH=os.pathsep.join([str(venv / "bin"), self.env.get("PATH", "")]))

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run([self.edgehost, *args], cwd=self.folder, env=self.env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    home = tmp_path_factory.mktemp("installed")
    source = home / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # a build leaves files in its tree
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(home / "dist"), str(source)],
                   check=True, timeout=INSTALL_TIMEOUT, capture_output=True)
    wheel = next((home / "dist").glob("edgehost-*.whl"))
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                   timeout=INSTALL_TIMEOUT)
    subprocess.run([str(venv / "bin" / "python"), *pip[1:], "install", str(wheel)], check=True,
                   timeout=INSTALL_TIMEOUT, capture_output=True)
    return Installed(venv, home)


@pytest.fixture(scope="module")
def with_pytest(installed) -> Installed:
    """The fresh virtualenv with pytest beside edgehost, as a user adds it to test actors."""
    python = str(Path(installed.edgehost).with_name("python"))
    subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "-q", "install",
                    "pytest==9.2.0"], check=True, timeout=INSTALL_TIMEOUT, capture_output=True)
    return installed


@pytest.fixture(scope="module")
def echo(installed) -> Path:
    """echo.wasm built by the installed `build-actors` from the sources the wheel carries."""
    # every actor the wheel carries, the 1.8 MB Rust-shaped ones too: longer than one command
    done = installed.run("build-actors", "--out", "actors", timeout=240.0)
    assert done.returncode == 0, done.stderr
    assert "greeter: " in done.stdout and "echo: " in done.stdout
    return installed.folder / "actors" / "echo.wasm"


def test_build_actors_builds_the_actors_the_wheel_carries(installed, echo):
    assert echo.read_bytes()[:4] == b"\0asm"
    assert not (installed.folder / "build").exists()


def test_board_fit_judges_a_module_against_the_profiles_the_wheel_carries(installed, echo):
    done = installed.run("board", "fit", str(echo))
    assert done.returncode == 0, done.stderr
    verdicts = [line.split()[0] for line in done.stdout.splitlines() if line.endswith("fits")]
    assert verdicts == PROFILES
    one = installed.run("board", "fit", str(echo), "--profile", "esp32-c3-devkitm-1")
    assert one.returncode == 0 and "Traceback" not in one.stderr


def test_sim_serves_a_board_of_the_default_profile(installed):
    port = free_port()
    key = installed.folder / "sim.key"
    sim = subprocess.Popen([installed.edgehost, "sim", "--tcp", f"127.0.0.1:{port}",
                            "--key-file", str(key), "--flash-dir", "flash"],
                           cwd=installed.folder, env=installed.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        seen = []
        for line in sim.stdout:
            seen.append(line)
            if f"on tcp://127.0.0.1:{port}" in line:
                break
        assert sim.poll() is None, "".join(seen)
        info = installed.run("board", "--tcp", f"127.0.0.1:{port}", "--key-file", str(key),
                             "info")
        assert info.returncode == 0, info.stderr
        assert "esp32-s3-devkitc-n8r8" in info.stdout
    finally:
        sim.terminate()
        sim.wait(COMMAND_TIMEOUT)


def test_deploy_copies_the_board_code_the_wheel_carries(installed, tmp_path):
    board = UnixBoard(mpbuild.ensure_built(), tmp_path / "board")  # the unix port on a pty
    try:
        done = installed.run("deploy", "--port", board.port, timeout=COMMAND_TIMEOUT * 4)
    finally:
        board.stop()
    assert done.returncode == 0, done.stderr
    assert (board.folder / "main.py").read_bytes() == (ROOT / "firmware" / "main.py").read_bytes()
    assert (board.folder / "edgelink" / "frame.mpy").exists()
    assert sorted(p.stem for p in (board.folder / "profiles").iterdir()) == PROFILES


def test_up_runs_the_demo_actor_and_call_reaches_it(installed):
    nats = f"nats://127.0.0.1:{free_port()}"
    up = UpProcess(installed.env, "--nats-port", nats.rsplit(":", 1)[1],
                   command=installed.edgehost, cwd=installed.folder)
    try:
        summary = up.summary()
        assert any(line.startswith("demo actor greeter") for line in summary), summary
        done = installed.run("call", "--nats", nats, "greeter", "Greet", "world")
        assert done.returncode == 0, done.stderr
        assert done.stdout.rstrip().endswith("world!")
    finally:
        up.interrupt()  # its exit status on Ctrl-C is tests/up's concern


def test_the_readmes_pytest_example_passes_on_the_simulated_board(with_pytest, tmp_path):
    folder = with_pytest.folder / "my-actor-tests"
    folder.mkdir()
    (folder / "test_on_board.py").write_text(pytest_example())
    python = str(Path(with_pytest.edgehost).with_name("python"))
    done = run_pytest(folder, python=python, env=with_pytest.env)
    assert summary(done) == "5 passed", done.stdout + done.stderr
