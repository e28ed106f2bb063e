"""`edgehost firmware build`: what is composed for ESP-IDF per profile, checked against the pinned
MicroPython sources, and the one line said when no ESP-IDF is here. (The frozen host booting on
the unix port is in test_boards_deploy.py.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_boards_flash import esp_image

from edgecli import firmware, flashing, mpbuild, portpatch, profiles

PROFILE_NAMES = [p.name for p in profiles.all_profiles()]


@pytest.fixture(scope="module")
def micropython_tree() -> Path:
    """The pinned MicroPython sources (unpacked by the unix-port build)."""
    try:
        mpbuild.ensure_built()
    except mpbuild.MicroPythonBuildError as exc:
        pytest.fail(str(exc), pytrace=False)
    return mpbuild.OUTPUT / "src" / "micropython"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_each_profiles_board_folder_builds_on_micropythons_own_board_files(name,
                                                                           micropython_tree):
    plan = firmware.plan(name, micropython=micropython_tree)
    cmake = plan.files[str(plan.board_dir / "mpconfigboard.cmake")]
    included = re.findall(r"include\((.*)\)", cmake)
    assert included and all(Path(path).is_file() for path in included), cmake
    header = plan.files[str(plan.board_dir / "mpconfigboard.h")]
    assert Path(header.split('"')[1]).is_file()
    # the generic board's cmake names the chip ESP-IDF builds for (none: the ESP32)
    target = re.search(r"set\(IDF_TARGET (\w+)\)", Path(included[0]).read_text())
    assert (target.group(1) if target else "esp32") == plan.profile.chip


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_each_profiles_sdkconfig_fragment_sets_its_flash_size_and_psram(name):
    profile = profiles.profile(name)
    lines = firmware.sdkconfig_fragment(profile).splitlines()
    size = profile.flash_bytes >> 20
    assert "CONFIG_ESPTOOLPY_FLASHSIZE_%dMB=y" % size in lines
    assert [line for line in lines if line.endswith("MB=y")] == [
        "CONFIG_ESPTOOLPY_FLASHSIZE_%dMB=y" % size]
    assert ("CONFIG_SPIRAM=y" if profile.psram_bytes else "# CONFIG_SPIRAM is not set") in lines


def test_the_idf_command_builds_the_esp32_port_with_wasm3_and_the_frozen_host(micropython_tree):
    plan = firmware.plan("esp32-s3-devkitc-n8r8", micropython=micropython_tree)
    args = plan.idf_args()
    defines = dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "-D")
    assert args[:2] == ["-C", str(micropython_tree / "ports" / "esp32")] and args[-1] == "build"
    assert Path(defines["USER_C_MODULES"]) == (mpbuild.CMODULES / "wasm3"
                                               / "micropython.cmake")
    assert Path(defines["USER_C_MODULES"]).is_file()
    assert defines["MICROPY_BOARD_DIR"] == str(plan.board_dir)
    manifest = plan.files[defines["MICROPY_FROZEN_MANIFEST"]]
    assert 'include("%s")' % mpbuild.HOST_MANIFEST in manifest
    assert 'freeze("$(PORT_DIR)/modules")' in manifest  # _boot.py mounts the filesystem
    assert (micropython_tree / "ports" / "esp32" / "modules" / "_boot.py").is_file()


def test_the_image_is_merged_by_micropythons_makeimg_from_what_idf_py_writes(micropython_tree):
    plan = firmware.plan("esp32-devkitc", micropython=micropython_tree)
    script, *files = plan.makeimg_args()
    assert Path(script).is_file()
    makefile = (micropython_tree / "ports" / "esp32" / "Makefile").read_text()
    # the port's Makefile passes the same build products, in the same order
    named = re.findall(r"\$\(BUILD\)/(\S+)", makefile.split("makeimg.py", 1)[1])[:6]
    assert [str(Path(f).relative_to(plan.build_dir)) for f in files] == named


def test_the_dry_run_prints_the_files_and_the_commands(edgehost):
    done = edgehost("firmware", "build", "--profile", "esp32-c3-devkitm-1", "--dry-run",
                    "--json")
    assert done.code == 0, done
    plan = json.loads(done.out)
    assert (plan["board"], plan["variant"]) == ("ESP32_GENERIC_C3", "")
    build, merge = plan["commands"]
    assert build[0] == "idf.py" and build[-1] == "build"
    assert merge[:2] == ["python", firmware.plan("esp32-c3-devkitm-1").makeimg_args()[0]]
    assert any(name.endswith("sdkconfig.edgehost") for name in plan["files"])


def test_the_dry_run_lists_the_patches_of_the_esp32_port_and_of_wasm3(edgehost):
    done = edgehost("firmware", "build", "--profile", "esp32-devkitc", "--dry-run")
    assert done.code == 0, done
    assert ("# patch ports/esp32/main.c (pystack), after the line "
            "'mp_cstack_init_with_top((void *)sp, MICROPY_TASK_STACK_SIZE);':") in done.out
    assert "    mp_pystack_init(edgehost_pystack, " in done.out
    assert "#define MICROPY_ENABLE_PYSTACK (1)" in done.out.splitlines()
    assert ("# patch wasm3/source/m3_exec.h (loop-if-deadline), after the line '{':\n"
            "        m3StackCheck();  // edgehost: the deadline's probe, as op_ContinueLoop has "
            "it\n") in done.out
    plan = json.loads(edgehost("firmware", "build", "--profile", "esp32-devkitc", "--dry-run",
                               "--json").out)
    assert [(p["name"], p["file"]) for p in plan["patches"]] == [
        ("pystack", "ports/esp32/main.c"), ("loop-if-deadline", "wasm3/source/m3_exec.h")]


def esp32_port_copy(micropython_tree: Path, into: Path) -> Path:
    """The pinned ESP32 port's main.c in a tree of its own, to patch."""
    main = into / "ports" / "esp32" / "main.c"
    main.parent.mkdir(parents=True)
    shutil.copyfile(micropython_tree / "ports" / "esp32" / "main.c", main)
    return main


def test_the_pystack_is_set_up_in_the_pinned_esp32_ports_main_task_before_mp_init(
        micropython_tree, tmp_path):
    main = esp32_port_copy(micropython_tree, tmp_path)
    firmware.patch_port(tmp_path)
    patched = main.read_text()
    task = patched[patched.index("void mp_task(void *pvParameter) {"):]
    task = task[:task.index("\n}\n")]
    # each soft reset starts the pystack afresh, before mp_init as py/mpconfig.h asks
    assert (task.index("soft_reset:") < task.index("mp_pystack_init(")
            < task.index("    mp_init();"))
    assert patched.count("mp_pystack_init(") == 1
    firmware.patch_port(tmp_path)  # a checkout reused by the next build keeps one copy
    assert main.read_text() == patched
    for name in PROFILE_NAMES:
        plan = firmware.plan(name, micropython=micropython_tree)
        header = plan.files[str(plan.board_dir / "mpconfigboard.h")].splitlines()
        assert "#define MICROPY_ENABLE_PYSTACK (1)" in header
        assert "#define EDGEHOST_PYSTACK_BYTES (%d)" % portpatch.PYSTACK_BYTES in header


def test_the_pystack_set_up_compiles_against_the_pinned_micropython_headers(micropython_tree,
                                                                           tmp_path):
    """What can be checked here without ESP-IDF: the inserted C, with the board header's
    defines, compiles against MicroPython 1.28's own headers (the unix port's configuration)."""
    genhdr = sorted((micropython_tree / "ports" / "unix").glob("build-*/genhdr"))
    source = tmp_path / "pystack.c"
    source.write_text(portpatch.config_defines() + '#include "py/runtime.h"\n'
                      "void edgehost_main_task(void) {\n" + portpatch.PYSTACK_SETUP.text + "}\n")
    unix = micropython_tree / "ports" / "unix"
    done = subprocess.run(["gcc", "-fsyntax-only", "-Wall", "-Werror", "-I", micropython_tree,
                           "-I", unix, "-I", unix / "variants" / "standard",
                           "-I", genhdr[0].parent, source], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_patch_that_no_longer_applies_is_one_line_naming_the_file(micropython_tree, tmp_path):
    main = esp32_port_copy(micropython_tree, tmp_path)
    main.write_text(main.read_text().replace("soft_reset:\n", "soft_restart:\n"))
    with pytest.raises(firmware.FirmwareError) as caught:
        firmware.patch_port(tmp_path)
    assert str(caught.value) == (
        "ports/esp32/main.c: the pystack patch no longer applies: the lines it goes after "
        "(from 'soft_reset:') are there 0 times, not once; it is written for MicroPython "
        "1.28.0's sources")
    main.unlink()
    with pytest.raises(firmware.FirmwareError) as caught:
        firmware.patch_port(tmp_path)
    assert str(caught.value) == ("ports/esp32/main.c: the pystack patch cannot read it: "
                                 "No such file or directory")


def test_without_esp_idf_or_a_container_runtime_the_build_says_what_to_get(edgehost, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    done = edgehost("firmware", "build", "--profile", "esp32-s3-devkitc-n8r8", path=str(empty),
                    env={"IDF_PATH": ""})
    assert (done.code, done.out) == (1, "")
    assert done.err == (
        "edgehost: building firmware for esp32-s3-devkitc-n8r8 needs ESP-IDF v5.5.1, and none "
        "is here: activate one (. $IDF_PATH/export.sh; install it: %s) or run docker or podman "
        "to use the image espressif/idf:v5.5.1\n" % firmware.IDF_GUIDE)


def fake_idf(tmp_path: Path, version: str) -> tuple[Path, Path]:
    """An ESP-IDF folder of `version` and an idf.py that records being run (it must not be)."""
    idf = tmp_path / "esp-idf"
    (idf / "tools").mkdir(parents=True)
    (idf / "version.txt").write_text(version + "\n")
    script = idf / "tools" / "idf.py"
    script.write_text("#!/bin/sh\ntouch %s/ran\n" % tmp_path)
    script.chmod(0o755)
    return idf, script


def test_an_esp_idf_version_micropython_does_not_support_is_refused(edgehost, tmp_path):
    idf, script = fake_idf(tmp_path, "v4.4.7")
    done = edgehost("firmware", "build", "--profile", "esp32-s3-devkitc-n8r8",
                    path=str(script.parent), env={"IDF_PATH": str(idf)})
    assert (done.code, done.err) == (1, (
        "edgehost: ESP-IDF v4.4.7 at %s: MicroPython 1.28.0 supports v5.3, v5.4, v5.4.1, "
        "v5.4.2, v5.5.1 (recommended v5.5.1); activate one of those\n" % idf))
    assert not (tmp_path / "ran").exists()


def test_an_active_esp_idf_is_the_one_the_build_runs(edgehost, tmp_path):
    idf, script = fake_idf(tmp_path, "v5.5.1")
    done = edgehost("firmware", "build", "--profile", "esp32-wrover-e", "--dry-run",
                    "--runner", "--json", path=str(script.parent), env={"IDF_PATH": str(idf)})
    assert done.code == 0, done
    plan = json.loads(done.out)
    assert plan["commands"][0][0] == str(script)
    assert plan["idf"] == "ESP-IDF v5.5.1 (%s)" % idf
    assert not (tmp_path / "ran").exists()


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker's client is not installed")
def test_a_container_runtime_that_does_not_answer_is_named(edgehost, tmp_path):
    if firmware.container_runtime_answers(shutil.which("docker")):
        pytest.skip("docker answers here: the build would run in its container")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(shutil.which("docker"))
    done = edgehost("firmware", "build", "--profile", "esp32-devkitc", path=str(bin_dir),
                    env={"IDF_PATH": ""})
    assert done.code == 1
    assert done.err.rstrip().endswith("; docker is installed but its service does not answer "
                                      "(start it)")


def own_profile(tmp_path: Path, **changes) -> dict[str, str]:
    """A profiles folder with one profile `mine` (the S3's, changed); the env that selects it."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    data = json.loads((profiles.PROFILES_DIR / "esp32-s3-devkitc-n8r8.json").read_text())
    data.update(name="mine", **changes)
    data = {k: v for k, v in data.items() if v is not None}
    (folder / "mine.json").write_text(json.dumps(data))
    return {"EDGEHOST_PROFILES_DIR": str(folder)}


def test_a_profile_whose_flash_size_esp_idf_does_not_know_is_refused(edgehost, tmp_path):
    done = edgehost("firmware", "build", "--profile", "mine", "--dry-run",
                    env=own_profile(tmp_path, flash_bytes=3 << 20))
    assert (done.code, done.err) == (1, "edgehost: profile mine: flash_bytes 3145728 is not a "
                                        "flash size ESP-IDF knows (2, 4, 8, 16, 32 MiB)\n")


def test_a_profile_that_names_no_micropython_board_is_refused(edgehost, tmp_path):
    env = own_profile(tmp_path, firmware=None)
    done = edgehost("firmware", "build", "--profile", "mine", "--dry-run", env=env)
    assert done.code == 1
    assert done.err == ("edgehost: profile mine: %s/mine.json has no firmware.board "
                        "(MicroPython's board for the chip, e.g. ESP32_GENERIC_S3)\n"
                        % env["EDGEHOST_PROFILES_DIR"])


def test_the_manifest_a_build_writes_is_the_one_flash_accepts(tmp_path):
    plan = firmware.plan("esp32-s3-devkitc-n8r8", output=tmp_path / "edgehost-s3.bin")
    esp_image(plan.image, "esp32s3")  # stands in for what idf.py would have made
    manifest = firmware.image_manifest(plan, idf="ESP-IDF v5.5.1")
    firmware.manifest_path(plan.image).write_text(json.dumps(manifest))
    assert manifest["inputs"]["micropython"] == "1.28.0 " + mpbuild.MICROPYTHON.commit
    assert manifest["inputs"]["wasm3"] == mpbuild.WASM3.commit
    assert (manifest["profile"], manifest["chip"]) == ("esp32-s3-devkitc-n8r8", "esp32s3")
    checked = flashing.check_image(plan.image, plan.profile, "esp32s3")
    assert checked.manifest == manifest and checked.notes == []


def csv_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split(",")][:5] for line in text.splitlines()
            if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_each_profiles_partition_table_holds_its_module_region_after_the_app(name,
                                                                              micropython_tree):
    plan = firmware.plan(name, micropython=micropython_tree)
    table = plan.board_dir / "partitions-edgehost.csv"
    assert ('CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="%s"' % table
            in plan.files[str(plan.board_dir / "sdkconfig.edgehost")].splitlines())
    rows = csv_rows(plan.files[str(table)])
    parts = {row[0]: (row[1], row[2], int(row[3], 16), int(row[4], 16)) for row in rows}
    # MicroPython's own table up to the end of its app
    own = (micropython_tree / "ports" / "esp32" / "partitions-4MiBplus.csv").read_text()
    assert rows[:3] == csv_rows(own)
    profile = plan.profile
    kind, subtype, offset, size = parts["modules"]
    app = parts["factory"]
    assert (kind, subtype) == ("data", "undefined") and offset == app[2] + app[3]
    assert size == profile.region_bytes() <= profile.mappable_flash_bytes
    assert profile.flash_bytes - (offset + size) >= firmware.MIN_FILESYSTEM_BYTES


def test_a_module_region_that_leaves_no_room_for_the_filesystem_is_one_line():
    data = json.loads(profiles.profile_file("esp32-devkitc").read_text())
    data["limits"]["module_flash_bytes"] = 2 * 2**20 - 64 * 1024
    with pytest.raises(firmware.FirmwareError) as caught:
        firmware.partition_table(profiles.Profile(data, "profile esp32-devkitc"))
    assert str(caught.value) == (
        "profile esp32-devkitc: limits.module_flash_bytes 2031616 leaves 56 KiB of its 4 MiB of "
        "flash for the filesystem, less than 256 KiB")


def test_a_module_region_that_does_not_fit_the_partition_table_is_refused_in_one_line(edgehost,
                                                                                      tmp_path):
    # the ESP32-C3 maps 6 MiB, so the profile itself allows a 3 MiB region; its 4 MiB of
    # flash have 2 MiB after the app
    data = json.loads(profiles.profile_file("esp32-c3-devkitm-1").read_text())
    data["limits"]["module_flash_bytes"] = 3 * 2**20
    (tmp_path / "esp32-c3-devkitm-1.json").write_text(json.dumps(data))
    done = edgehost("firmware", "build", "--profile", "esp32-c3-devkitm-1", "--dry-run",
                    env={"EDGEHOST_PROFILES_DIR": str(tmp_path)})
    assert done.code != 0 and done.out == ""
    assert done.err.strip() == (
        "edgehost: profile esp32-c3-devkitm-1: limits.module_flash_bytes 3145728 needs a "
        "module region of 3153920 bytes, which does not fit its partition table: 2097152 bytes "
        "of its 4 MiB of flash follow the app (from 0x200000)")
