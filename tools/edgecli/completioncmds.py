"""`edgehost completion SHELL`: the shell code that completes edgehost's commands and options."""

from __future__ import annotations

import argparse

import argcomplete

SHELLS = ("bash", "zsh", "fish")


def completion(args: argparse.Namespace) -> int:
    print(argcomplete.shellcode(["edgehost"], shell=args.shell))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    comp = sub.add_parser("completion", help="print shell code that completes edgehost's "
                          "commands and options: eval \"$(edgehost completion bash)\"")
    comp.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    comp.set_defaults(run=completion)


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell and exit, when the shell code above runs us to complete a word."""
    argcomplete.autocomplete(parser, always_complete_options=False)
