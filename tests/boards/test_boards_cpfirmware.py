"""`edgehost firmware build --runtime circuitpython`: the plan composed for CircuitPython's ESP32
port per profile, checked against the pinned CircuitPython sources (ESP-IDF is not here, so
the plan is all there is)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_boards_firmware import own_profile

from edgecli import cpbuild, cpfirmware, mpbuild, profiles

PROFILE_NAMES = [p.name for p in profiles.all_profiles()]


@pytest.fixture(scope="module")
def circuitpython_tree() -> Path:
    """The pinned CircuitPython sources (unpacked by the board's CircuitPython build)."""
    try:
        cpbuild.ensure_built()
    except mpbuild.MicroPythonBuildError as exc:
        pytest.fail(str(exc), pytrace=False)
    return cpbuild.OUTPUT / "src" / "circuitpython"


def make_variables(plan: cpfirmware.CircuitPythonPlan) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in plan.make_args() if "=" in arg)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_each_profiles_board_folder_takes_circuitpythons_own_board_for_its_chip(
        name, circuitpython_tree):
    plan = cpfirmware.plan(name, circuitpython=circuitpython_tree)
    files = {Path(path).name: text for path, text in plan.files.items()}
    assert set(files) == {"mpconfigboard.mk", "mpconfigboard.h", "board.c", "pins.c",
                          "sdkconfig"}
    assert all(Path(path).parent == plan.board_dir for path in plan.files)
    included = re.findall(r"^include (.*)$", files["mpconfigboard.mk"], re.M)
    included += [text.split('"')[1] for key, text in files.items() if key.endswith((".c", ".h"))]
    assert len(included) == 4 and all(Path(path).is_file() for path in included), included
    theirs = Path(included[0]).read_text()
    assert re.search(r"^IDF_TARGET = (\w+)$", theirs, re.M).group(1) == plan.profile.chip
    assert "CIRCUITPY_ESP_FLASH_SIZE = %dMB" % (plan.profile.flash_bytes >> 20) in \
        files["mpconfigboard.mk"].splitlines()


def test_the_make_command_adds_wasm3_and_freezes_the_host_code(circuitpython_tree):
    plan = cpfirmware.plan("esp32-s3-devkitc-n8r8", circuitpython=circuitpython_tree)
    args = plan.make_args()
    assert args[:2] == ["-C", str(circuitpython_tree / "ports" / "espressif")]
    assert (circuitpython_tree / "ports" / "espressif" / "Makefile").is_file()
    found = make_variables(plan)
    assert found["BOARD"] == plan.board_dir.name == "edgehost_esp32_s3_devkitc_n8r8"
    # CircuitPython's make rules take each USER_C_MODULES/*/micropython.mk, as MicroPython's do
    assert "$(wildcard $(USER_C_MODULES)/*/micropython.mk)" in (
        circuitpython_tree / "py" / "py.mk").read_text()
    assert (Path(found["USER_C_MODULES"]) / "wasm3" / "micropython.mk").is_file()
    assert Path(found["WASM3_DIR"], "source", "wasm3.h").is_file()
    assert "$(FROZEN_MPY_DIRS)" in (circuitpython_tree / "py" / "circuitpy_mpconfig.mk"
                                    ).read_text()
    frozen = [Path(folder) for folder in found["FROZEN_MPY_DIRS"].split()]
    for package in ("edgehost", "edgelink", "edgemodule", "edgeprofile"):
        assert sum((folder / package / "__init__.py").is_file() for folder in frozen) == 1


def test_the_dry_run_prints_the_plan(edgehost):
    done = edgehost("firmware", "build", "--profile", "esp32-c3-devkitm-1", "--runtime",
                    "circuitpython", "--dry-run", "--json")
    assert done.code == 0, done
    plan = json.loads(done.out)
    assert plan["board"] == "espressif_esp32c3_devkitm_1_n4"
    [command] = plan["commands"]
    assert command[0] == "make" and "BOARD=edgehost_esp32_c3_devkitm_1" in command
    assert any(name.endswith("/mpconfigboard.mk") for name in plan["files"])


def test_without_dry_run_the_circuitpython_build_says_it_is_a_plan_only(edgehost):
    done = edgehost("firmware", "build", "--profile", "esp32-c3-devkitm-1", "--runtime",
                    "circuitpython")
    assert (done.code, done.err) == (1, (
        "edgehost: firmware build --runtime circuitpython: only --dry-run for now; the build "
        "needs ESP-IDF and CircuitPython's submodules, which the pinned sources do not carry\n"))


def test_a_profile_that_names_no_circuitpython_board_is_refused(edgehost, tmp_path):
    env = own_profile(tmp_path, firmware={"board": "ESP32_GENERIC_S3"})
    done = edgehost("firmware", "build", "--profile", "mine", "--runtime", "circuitpython",
                    "--dry-run", env=env)
    assert (done.code, done.err) == (1, (
        "edgehost: profile mine: %s/mine.json has no firmware.circuitpython_board "
        "(CircuitPython's board folder in ports/espressif/boards, e.g. "
        "espressif_esp32s3_devkitc_1_n8r8)\n" % env["EDGEHOST_PROFILES_DIR"]))


def test_a_circuitpython_board_the_pinned_release_lacks_is_refused(edgehost, tmp_path):
    env = own_profile(tmp_path, firmware={"board": "ESP32_GENERIC_S3",
                                          "circuitpython_board": "no_such_board"})
    done = edgehost("firmware", "build", "--profile", "mine", "--runtime", "circuitpython",
                    "--dry-run", env=env)
    assert done.code == 1
    assert done.err == ("edgehost: profile mine: CircuitPython 10.2.1 has no board no_such_board "
                        "(%s)\n" % (cpbuild.OUTPUT / "src" / "circuitpython" / "ports" /
                                    "espressif" / "boards" / "no_such_board"))
