"""Shell completion: `eval "$(edgehost completion bash)"` in a real bash completes commands,
actions and options."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST

COMPLETE = """eval "$(edgehost completion bash)"
read -r -a COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$LINE"
COMP_POINT=${#LINE}
_python_argcomplete edgehost
printf '%s\\n' "${COMPREPLY[@]}"
"""


def completed(line: str) -> list[str]:
    env = {**os.environ, "PATH": f"{Path(EDGEHOST).parent}{os.pathsep}{os.environ['PATH']}",
           "LINE": line}
    done = subprocess.run(["bash", "-c", COMPLETE], env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)
    assert done.returncode == 0 and done.stderr == "", done
    return sorted(word.strip() for word in done.stdout.splitlines())


@pytest.mark.parametrize("line, words", [
    ("edgehost bo", ["board"]),
    ("edgehost ctl get ", ["claims", "hosts", "inventory", "links"]),
    ("edgehost up --state", ["--state-dir"]),
    ("edgehost completion ", ["bash", "fish", "zsh"]),
])
def test_bash_completes_commands_actions_and_options(line, words):
    assert completed(line) == words


def test_an_unknown_shell_is_a_usage_mistake():
    done = subprocess.run([EDGEHOST, "completion", "tcsh"], capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)
    assert (done.returncode, done.stdout) == (2, "")
    assert "invalid choice: 'tcsh'" in done.stderr
