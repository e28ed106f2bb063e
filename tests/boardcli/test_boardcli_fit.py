"""`edgehost board fit`: a module's needs and a verdict per board profile, before any upload."""

from __future__ import annotations

from edgegate.wascap.modules import custom_section
from edgemodule.fit import ENGINE_BASIS


def test_fit_against_every_profile_gives_a_verdict_each(edgehost, unsigned):
    module = unsigned("rust_greeter")
    shown = edgehost("board", "fit", module)
    assert shown.code == 0, shown
    lines = shown.out.splitlines()
    assert lines[0].startswith(f"module   {module} (")
    assert lines[1] == "memory   17 pages (1088 KiB) declared up front"
    assert lines[2].startswith("imports  wasmbus (")
    assert lines[3] == "exports  __guest_call, __wasmbus_rpc_version"
    assert lines[4].startswith("RAM      ") and "linear memory 1088 KiB + module " in lines[4]
    assert lines[5] == f"         engine estimate: {ENGINE_BASIS}"
    verdicts = {line.split()[0]: line.split("  ")[-1].strip() for line in lines[8:]}
    assert verdicts == {
        "esp32-c3-devkitm-1": "refused: memory: declares 17 memory pages (1088 KiB), above "
                              "the budget of 2 pages (128 KiB)",
        "esp32-devkitc": "refused: memory: declares 17 memory pages (1088 KiB), above the "
                         "budget of 2 pages (128 KiB)",
        "esp32-s3-devkitc-n8r8": "fits",
        "esp32-wrover-e": "fits",
    }


def test_fit_against_one_profile_exits_1_when_it_does_not_fit(edgehost, unsigned):
    bulky = unsigned("rust_bulky")
    refused = edgehost("board", "fit", bulky, "--profile", "esp32-wrover-e")
    assert refused.code == 1
    assert refused.out.splitlines()[-1].endswith(
        "refused: memory: declares 50 memory pages (3200 KiB), above the budget of 32 pages "
        "(2048 KiB)")
    assert edgehost("board", "fit", bulky, "--profile", "esp32-s3-devkitc-n8r8").code == 0


def test_fit_names_a_bad_module_or_profile_in_one_line(edgehost, unsigned, tmp_path):
    text = tmp_path / "notes.wasm"
    text.write_text("not a module")
    for argv, message in (
        ((tmp_path / "absent.wasm",), f"fit {tmp_path / 'absent.wasm'}: cannot read it "),
        ((text,), f"fit {text}: not a valid module: "),
        ((unsigned("echo"), "--profile", "esp32-s9"), "fit profile esp32-s9: not found in "),
    ):
        shown = edgehost("board", "fit", *argv)
        assert (shown.code, shown.out) == (1, ""), shown
        assert shown.err.startswith(f"edgehost: {message}") and shown.err.count("\n") == 1


def test_fit_against_a_live_board_uses_what_it_has_left(start_sim, board, signed, unsigned):
    sim = start_sim("--profile", "esp32-devkitc")
    module, _ = signed("echo")
    assert board(sim, "install", module).code == 0
    # the one actor there takes 217 KiB of the 224 (its module runs from mapped flash): a
    # second of its size no longer fits
    shown = board(sim, "fit", unsigned("echo"))
    assert shown.code == 1, shown
    assert shown.out.splitlines()[-1].startswith(
        "board sim (profile esp32-devkitc): refused: ram: needs 217 KiB of RAM (linear memory "
        "128 KiB + engine 89 KiB; the module's 2 KiB run from flash), the board has 224 KiB for "
        "actors, ")
    installed = board(sim, "install", "--dev-sign", unsigned("echo"))
    assert installed.code == 1
    assert "cannot take" in installed.err and ": ram: needs 217 KiB of RAM" in installed.err


def test_board_actions_other_than_fit_say_what_they_need(edgehost, key_file):
    # usage mistakes: exit status 2, as argparse has it
    shown = edgehost("board", "info")
    assert (shown.code, shown.err) == (2, "edgehost: board info: needs the board: --port "
                                          "PATH|URL, --tcp HOST:PORT or --nats URL (or "
                                          "EDGEHOST_PORT, EDGEHOST_TCP, EDGEHOST_NATS) (see "
                                          "edgehost --help)\n")
    shown = edgehost("board", "--tcp", "127.0.0.1:1", "call", "a", "b")
    assert (shown.code, shown.err) == (2, "edgehost: board call: needs --key-file FILE (the "
                                          "board's id and pairing key; or EDGEHOST_KEY_FILE) "
                                          "(see edgehost --help)\n")


def test_fit_counts_a_big_actor_in_the_flash_the_board_maps_not_in_its_ram(edgehost, actors,
                                                                           tmp_path):
    # wasmCloud's echo and kvcounter are 1.8 MB and 17 pages
    big = tmp_path / "big.wasm"
    big.write_bytes(actors["rust_greeter"] + custom_section("padding", bytes(1800 * 1024)))
    shown = edgehost("board", "fit", big)
    lines = shown.out.splitlines()
    assert lines[4] == ("RAM      2981 KiB (linear memory 1088 KiB + module 1804 KiB + engine 90 "
                        "KiB); 1178 KiB where the board runs it from mapped flash")
    verdicts = {line.split()[0]: line.split("  ")[-1].strip() for line in lines[8:]}
    assert verdicts["esp32-s3-devkitc-n8r8"] == "fits"
    assert verdicts["esp32-wrover-e"] == (
        "refused: flash: the module of 1804 KiB is larger than the board's 1768 KiB module "
        "region, all the flash it maps for modules")


def test_fit_with_no_profiles_to_judge_by_says_so_in_one_line(edgehost, unsigned, tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("EDGEHOST_PROFILES_DIR", str(tmp_path))
    shown = edgehost("board", "fit", unsigned("echo"))
    assert shown.code == 1
    assert shown.err == f"edgehost: fit no board profiles (NAME.json) in {tmp_path}\n"
