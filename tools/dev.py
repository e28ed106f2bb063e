#!/usr/bin/env python3
"""Set up the project's virtual environment (.venv/) when needed, then run a job in it.

    python3 tools/dev.py up [ARGS]     the main job: `edgehost up`
    python3 tools/dev.py test [ARGS]   the whole test suite: actor build, MicroPython and
                                       CircuitPython builds (need gcc, make and git), ruff,
                                       pytest
    python3 tools/dev.py edgehost ...  any other `edgehost` command

Only the Python standard library is used here, so it runs on a machine that has nothing but
Python 3. The environment is reused while pyproject.toml is unchanged.
"""

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".edgehost-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# setuptools looks up the packages of an editable install after sys.path, where a folder of the
# same name without __init__.py (the clone `edgehost` seen from its parent, with its own
# `hardware/`) would be imported first as a namespace package; this .pth line, read after
# setuptools' own, looks up ours first, as they are in an installed wheel
EDITABLE_FIRST_PTH = "edgehost-editable-first.pth"
EDITABLE_FIRST = ("import sys; sys.meta_path.sort(key=lambda finder: not getattr(finder, "
                  "'__module__', '').startswith('__editable___edgehost'))\n")


def _wanted_stamp() -> str:
    # an environment set up before the .pth line was added is set up again
    made = (ROOT / "pyproject.toml").read_bytes() + EDITABLE_FIRST.encode()
    return hashlib.sha256(made).hexdigest()


def ensure_venv() -> None:
    """Create .venv/ and install the project with its test and build extras, once."""
    if STAMP.exists() and STAMP.read_text().strip() == _wanted_stamp():
        return
    if not (BIN / "python").exists():
        print("edgehost: creating .venv/", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("edgehost: installing the project and its pinned dependencies into .venv/",
          file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "-e", f"{ROOT}[test,build]"], check=True)
    site = subprocess.run([str(BIN / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / EDITABLE_FIRST_PTH).write_text(EDITABLE_FIRST)
    STAMP.write_text(_wanted_stamp())


def run_tests(args: list[str]) -> int:
    """Build the actors and the board's MicroPython and CircuitPython (unix ports with the
    wasm3 module), lint, then run pytest; the first failing step's exit code wins."""
    py = str(BIN / "python")
    steps = [
        ("actor build", [str(BIN / "edgehost"), "build-actors"]),
        ("MicroPython build", [py, "-m", "edgecli.mpbuild"]),
        ("32-bit MicroPython build", [py, "-m", "edgecli.mpbuild", "--32bit"]),
        ("CircuitPython build", [py, "-m", "edgecli.cpbuild"]),
        ("ruff", [str(BIN / "ruff"), "check", str(ROOT)]),
        ("pytest", [py, "-m", "pytest", *args]),
    ]
    for name, cmd in steps:
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        if name == "pytest" and rc == 5:
            print("edgehost: pytest ran no test, which counts as a failure", file=sys.stderr)
        if rc != 0:
            print(f"edgehost: {name} failed (exit {rc})", file=sys.stderr)
            return rc
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    job, rest = argv[0], argv[1:]
    try:
        ensure_venv()
    except subprocess.CalledProcessError as exc:
        print(f"edgehost: setting up .venv/ failed ({exc})", file=sys.stderr)
        return 1
    if job == "test":
        return run_tests(rest)
    if job == "up":
        rest = ["up", *rest]
    elif job != "edgehost":
        print(f"edgehost: unknown job {job!r}; expected up, test or edgehost", file=sys.stderr)
        return 2
    return run_child([str(BIN / "edgehost"), *rest])  # in the caller's folder


def run_child(cmd: list[str]) -> int:
    """Run `cmd` to its end. The terminal's Ctrl-C reaches it as well as us: it stops in its
    own way and its exit status is ours (130 for Ctrl-C), with no traceback of ours."""
    child = subprocess.Popen(cmd)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C while .venv/ was being set up
        print("edgehost: interrupted", file=sys.stderr)
        sys.exit(130)
