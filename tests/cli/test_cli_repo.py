"""The repository as a new user meets it: `tools/dev.py edgehost` runs in the caller's folder,
and what the README's examples make is not left untracked in the repository."""

from __future__ import annotations

import subprocess
import sys

from cli_paths import COMMAND_TIMEOUT, ROOT


def test_dev_py_resolves_relative_paths_in_the_callers_folder(edgehost, tmp_path):
    got = edgehost("edgehost", "keys", "gen", "account", "-o", "mine.nk",
                   command=[sys.executable, str(ROOT / "tools" / "dev.py")])
    assert got.code == 0, got
    assert (tmp_path / "mine.nk").read_text().startswith("SA")
    assert not (ROOT / "mine.nk").exists()


def test_what_the_readme_examples_make_is_ignored_by_git():
    done = subprocess.run(["git", "check-ignore", "board.key", "flash/", "boards.json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert done.returncode == 0 and done.stdout.split() == ["board.key", "flash/", "boards.json"]


def test_the_readme_examples_keep_their_files_in_a_state_folder():
    readme = (ROOT / "README.md").read_text()
    assert "--key-file board.key" not in readme and "--flash-dir flash " not in readme
    assert 'demo=~/.local/state/edgehost/demo' in readme


def _leaf_commands(parser, prefix: str = "edgehost") -> list[str]:
    import argparse

    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _leaf_commands(child, f"{prefix} {name}")
    return found or [prefix]


def test_the_readme_command_reference_names_every_command_of_help():
    from edgecli.main import build_parser

    readme = (ROOT / "README.md").read_text()
    reference = readme[readme.index("## Command reference"):readme.index("### Try a simulated")]
    rows = [line for line in reference.splitlines() if line.startswith("| `edgehost")]
    named = [line.split(" | ")[0] for line in rows]  # a row's first cell: one command or a few
    missing = [c for c in _leaf_commands(build_parser())
               if not any(f"`{c}`" in cell or f"`{c} " in cell for cell in named)]
    assert missing == []
