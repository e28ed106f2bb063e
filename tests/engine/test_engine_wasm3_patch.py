"""The pinned wasm3 as every build of the board's module patches it: the deadline's probe on a
loop's conditional branch back, made once in a tree that is reused, afresh when it changes, and
one line when it no longer applies."""

from __future__ import annotations

import dataclasses
import re

import pytest

from edgecli import cpbuild, mpbuild, portpatch


def continue_loop_if(tree) -> str:
    """The body of wasm3's op_ContinueLoopIf in the tree at `tree`."""
    source = (tree / "source" / "m3_exec.h").read_text()
    return re.search(r"d_m3Op  \(ContinueLoopIf\)\n\{\n(.*?)\n\}\n", source, re.S).group(1)


def test_the_loop_if_branch_back_runs_the_deadlines_probe_as_the_plain_one_does(tmp_path):
    body = continue_loop_if(mpbuild.wasm3_tree(mpbuild.VENDOR, tmp_path))
    taken = body[body.index("if (condition)"):body.index("else nextOp ();")]
    assert taken.count("m3StackCheck();") == 1
    assert taken.index("m3StackCheck();") < taken.index("return loopId;")
    assert body.count("m3StackCheck();") == 1  # not on the way out of the loop


def test_a_patched_tree_is_reused_and_one_from_before_the_patch_is_unpacked_afresh(tmp_path):
    tree = mpbuild.wasm3_tree(mpbuild.VENDOR, tmp_path)
    header = tree / "source" / "m3_exec.h"
    patched, stamp = header.read_text(), header.stat().st_mtime_ns
    assert mpbuild.wasm3_tree(mpbuild.VENDOR, tmp_path) == tree
    assert header.stat().st_mtime_ns == stamp  # make has nothing to redo
    # a tree a build unpacked before the patch existed carries the pin alone
    (tree / ".edgehost-pin").write_text(mpbuild.WASM3.sha256 + mpbuild.WASM3.commit)
    header.write_text(header.read_text().replace(portpatch.LOOP_IF_PROBE.text, ""))
    mpbuild.wasm3_tree(mpbuild.VENDOR, tmp_path)
    assert header.read_text() == patched


def test_a_changed_wasm3_patch_makes_every_build_of_the_module_rebuild(monkeypatch):
    before = (mpbuild.inputs_digest(), mpbuild.inputs_digest(bits32=True),
              cpbuild.inputs_digest())
    changed = dataclasses.replace(portpatch.LOOP_IF_PROBE, text="        /* changed */\n")
    monkeypatch.setattr(portpatch, "INSERTIONS", (portpatch.PYSTACK_SETUP, changed))
    after = (mpbuild.inputs_digest(), mpbuild.inputs_digest(bits32=True),
             cpbuild.inputs_digest())
    assert [b != a for b, a in zip(before, after, strict=True)] == [True, True, True]


def test_a_wasm3_patch_that_no_longer_applies_is_one_line_naming_the_file(tmp_path,
                                                                           monkeypatch):
    # as if the pinned wasm3 had renamed the register the condition is read from
    moved = dataclasses.replace(portpatch.LOOP_IF_PROBE,
                                after=portpatch.LOOP_IF_PROBE.after.replace("_r0", "_fp0"))
    monkeypatch.setattr(portpatch, "INSERTIONS", (portpatch.PYSTACK_SETUP, moved))
    with pytest.raises(mpbuild.MicroPythonBuildError) as caught:
        mpbuild.wasm3_tree(mpbuild.VENDOR, tmp_path)
    assert str(caught.value) == (
        "wasm3/source/m3_exec.h: the loop-if-deadline patch no longer applies: the lines it "
        "goes after (from 'd_m3Op  (ContinueLoopIf)') are there 0 times, not once; it is "
        "written for wasm3 0.9.0 (c9b579d)'s sources")
