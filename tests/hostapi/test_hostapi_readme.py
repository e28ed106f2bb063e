"""The README's "Driving a board host from Python": its commands and its ten-line example run
as written, and its manifest example is a valid manifest."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import subprocess
from pathlib import Path

from edgegate.manifests import load_manifest

ROOT = Path(__file__).resolve().parents[2]


def section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Driving a board host from Python")
    return readme[start:readme.index("\n## ", start + 1)]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), re.S)


def test_the_readme_example_runs_as_written(tmp_path):
    code = blocks("python")[0]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    name = re.search(r"where `(\w+\.py)` is:", section()).group(1)
    (tmp_path / name).write_text(code)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # as in the repository root
    env = {**os.environ, "EDGEHOST_KEYS_DIR": str(tmp_path / "keys")}
    done = None
    for line in blocks("sh")[0].strip().splitlines():
        done = subprocess.run(shlex.split(line), cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"{line}: {done.stderr}"
    assert done is not None and done.stdout == "b'hello board'\n"
    assert "It prints `b'hello board'`" in section()


def test_the_readme_manifest_is_a_valid_manifest(tmp_path):
    manifest = tmp_path / "host.yaml"
    manifest.write_text(blocks("yaml")[0])
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "echo_s.wasm").write_bytes(b"\0asm")
    checked = load_manifest(manifest, {"ROOM": "lab"})
    assert checked.labels == {"room": "lab", "floor": "1"}
    assert len(checked.actors) == 2 and len(checked.capabilities) == 1
    assert checked.links[0].values == {"PORT": "8080"}


def test_the_readme_table_marks_each_coroutine_of_the_host_with_await():
    from edgegate import Host

    table = re.findall(r"^\| (.+?) \| .+ \|$", section(), re.M)
    listed = {}
    for cell in table[1:]:  # after the header
        for member in re.findall(r"`([^`]+)`", cell):
            named = re.match(r"(await )?(\w+)", member)
            if named and named.group(2) != "async":
                listed[named.group(2)] = bool(named.group(1))
    coroutines = {name for name, member in vars(Host).items()
                  if not name.startswith("_") and inspect.iscoroutinefunction(member)}
    assert coroutines <= set(listed), coroutines - set(listed)
    assert {name for name, awaited in listed.items() if awaited} == coroutines
