"""The ahead-of-time tier: actors translated by edgecli.aot give, on the board's MicroPython,
the answers, traps and deadline that wasm3 gives, on the 64-bit port (x64) and on the 32-bit
one `sim --micropython` runs (x86)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from boardcode import BoardPython, run_board_code
from support.bench import short_run

from edgecli import actorbuild, aot
from edgecli.aotdeadline import LOOP_BATCH, instrument
from edgehost.aotengine import COUNTDOWN

pytestmark = pytest.mark.micropython

ARCHES = {"x64": "board_micropython", "x86": "sim_micropython"}


@pytest.fixture(scope="module")
def translations(tmp_path_factory):
    return tmp_path_factory.mktemp("aot-cache")


def _both_engines(actor: str, arch: str, request, translations: Path, tmp_path: Path,
                  scenario: str = "run", *more):
    """The lines aot_scenarios.`scenario` prints for `actor` on wasm3 and on the tier (`more`:
    its arguments after the engine's name)."""
    wasm = actorbuild.OUTPUT / (actor + ".wasm")
    mpy = aot.translate(wasm.read_bytes(), arch, translations)
    board = BoardPython("micropython", request.getfixturevalue(ARCHES[arch]))
    lines = {}
    for engine in ("wasm3", "aot"):
        lines[engine] = run_board_code(
            board, "import aot_scenarios\naot_scenarios.%s%r\n"
            % (scenario, (actor, str(wasm), str(mpy), engine, *more)), tmp_path)
    return lines


@pytest.mark.parametrize("arch", sorted(ARCHES))
@pytest.mark.parametrize("actor", ["echo", "crunch"])
def test_a_translated_actor_answers_as_on_wasm3(actor, arch, actors, request, translations,
                                                 tmp_path):
    lines = _both_engines(actor, arch, request, translations, tmp_path)
    assert lines["aot"] == lines["wasm3"]
    if actor == "crunch":
        assert lines["aot"][0].startswith("Crunch -> b'")  # an answer, not an error
        assert "GuestError" in lines["aot"][1]


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_traps_on_the_tier_are_those_of_wasm3_and_the_actor_goes_on(arch, actors, request,
                                                                     translations, tmp_path):
    lines = _both_engines("faults", arch, request, translations, tmp_path)
    assert lines["aot"] == lines["wasm3"]
    for cause in ("unreachable executed", "out of bounds memory access",
                  "integer divide by zero", "stack overflow"):
        assert any(cause in line for line in lines["aot"]), (cause, lines["aot"])
    assert lines["aot"][-1] == "Count -> b'\\x02'"


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_deep_recursion_stops_at_micropythons_stack_limit_as_on_wasm3(arch, actors, request,
                                                                      translations, tmp_path):
    """The engine's stack budget is set past the native stack: MicroPython's own limit is what
    stops the recursion, with wasm3's cause, and the actor goes on."""
    lines = _both_engines("faults", arch, request, translations, tmp_path, "deep_recursion")
    assert lines["aot"] == lines["wasm3"]
    assert lines["aot"][0] == ("Recurse -> TrapError: actor faults: trapped in Recurse: "
                               "stack overflow")
    assert lines["aot"][1] == "Count -> b'\\x01'"
    assert lines["aot"][2:] == lines["aot"][:2]  # rebuilt after each trap


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_a_runaway_call_on_the_tier_stops_at_its_deadline_and_memory_at_its_cap(
        arch, actors, request, translations, tmp_path):
    lines = _both_engines("runaway", arch, request, translations, tmp_path)
    assert lines["aot"] == lines["wasm3"]
    assert lines["aot"][0] == ("Spin -> TrapError: actor runaway: trapped in Spin: "
                               "deadline exceeded")
    assert lines["aot"][1] == "Count -> b'\\x01'"
    assert lines["aot"][2] == "Grow -> b'\\xff\\xff\\xff\\xff'"  # 20 more pages: past the cap
    assert not lines["aot"][3].startswith("Grow -> b'\\xff")  # one more page: within it


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_time_in_the_host_does_not_count_against_the_deadline_on_the_tier_as_on_wasm3(
        arch, actors, request, translations, tmp_path):
    """A host call and a console line that each take longer than the deadline, followed by a
    little work of the guest's own, answer on both engines; a guest that spins after them
    still stops at the deadline."""
    # more loop passes than the tier's countdown lets go by between two looks at the clock
    short, endless = 2 * LOOP_BATCH * COUNTDOWN, 0  # 0: the actor never stops
    lines = _both_engines("afterhost", arch, request, translations, tmp_path, "host_time",
                          short, endless)
    assert lines["aot"] == lines["wasm3"]
    assert lines["aot"] == [
        "%d passes: Relay -> b'relayed'" % short,
        "log: working",
        "%d passes: Log -> b'logged'" % short,
        "%d passes: Relay -> TrapError: actor afterhost: trapped in Relay: deadline exceeded"
        % endless,
        "log: working",
        "%d passes: Log -> TrapError: actor afterhost: trapped in Log: deadline exceeded"
        % endless,
    ]


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_the_tier_serves_wapc_in_c_as_wasm3_does(arch, actors, request, translations,
                                                 tmp_path):
    """Both engines serve the waPC host functions but __host_call in C; the tier refuses to
    link its exchange where it does not serve."""
    lines = _both_engines("faults", arch, request, translations, tmp_path, "exchange")
    assert lines["wasm3"] == ["served by the engine: True", "Log -> b'logged'", "['in C']"]
    assert lines["aot"][:3] == lines["wasm3"]
    assert lines["aot"][3:] == ["EngineError: cannot link wapc.__host_call as i(iiiiiiii): the "
                                "exchange does not serve it"]


# the host's scenarios whose actors are all built ahead (the store's make modules on the fly),
# with the actors they load
HOST_SCENARIOS = ("echo_and_health", "start_functions", "host_calls", "traps",
                  "console_lines_and_host_errors", "deadline", "memory_cap", "heap_per_call")
SCENARIO_ACTORS = ("echo", "wasmbus_echo", "tinygo_style", "startup_order", "hostcall",
                   "faults", "runaway", "grow")


def test_the_hosts_scenarios_give_the_same_outcomes_on_the_tier(actors, request, translations,
                                                                 tmp_path):
    mpys = [str(aot.translate((actorbuild.OUTPUT / (name + ".wasm")).read_bytes(), "x64",
                              translations)) for name in SCENARIO_ACTORS]
    board = BoardPython("micropython", request.getfixturevalue("board_micropython"))
    lines = {}
    for engine in ("wasm3", "aot"):
        lines[engine] = run_board_code(
            board, "import aot_scenarios\naot_scenarios.host_scenarios(%r, %r, %r, %r)\n"
            % (HOST_SCENARIOS, str(actorbuild.OUTPUT), mpys, engine), tmp_path, timeout=300)
    assert lines["aot"] == lines["wasm3"]
    assert len(lines["aot"]) > 40


def test_a_translation_offered_another_module_is_refused(actors, request, translations,
                                                        tmp_path):
    echo = aot.translate((actorbuild.OUTPUT / "echo.wasm").read_bytes(), "x64", translations)
    board = BoardPython("micropython", request.getfixturevalue("board_micropython"))
    lines = run_board_code(board, "import aot_scenarios\naot_scenarios.mismatched(%r, %r)\n"
                           % (str(actorbuild.OUTPUT / "crunch.wasm"), str(echo)), tmp_path)
    assert len(lines) == 1
    assert lines[0].startswith("ModuleRefused: ") and "no translation of module" in lines[0]


def test_a_translation_is_built_once_per_module_and_architecture(actors, tmp_path):
    module = (actorbuild.OUTPUT / "echo.wasm").read_bytes()
    first = aot.translate(module, "x64", tmp_path)
    built = first.stat().st_mtime_ns
    assert aot.translate(module, "x64", tmp_path) == first
    assert first.stat().st_mtime_ns == built
    assert aot.translate(module, "x86", tmp_path) != first


def test_a_translation_for_the_esp32_c3_builds_with_the_cross_compiler(actors, tmp_path):
    """rv32imc modules cannot run here; they must build (Debian's gcc-riscv64-unknown-elf)."""
    module = (actorbuild.OUTPUT / "crunch.wasm").read_bytes()
    built = aot.translate(module, "rv32imc", tmp_path).read_bytes()
    assert built[:1] == b"M" and len(built) > len(module)


def test_a_module_that_is_not_wasm_is_refused_in_one_line(tmp_path):
    with pytest.raises(aot.TranslationError) as refused:
        aot.translate(b"not wasm at all", "x64", tmp_path)
    assert "\n" not in str(refused.value)
    assert "not a wasm module" in str(refused.value)


def test_an_architecture_the_tier_does_not_build_is_named(tmp_path):
    with pytest.raises(aot.TranslationError, match="architecture 'xtensa'"):
        aot.translate(b"\0asm\x01\0\0\0", "xtensa", tmp_path)


def _crunch_on_pywasm3(module: bytes, countdown) -> bytes:
    """Crunch 50 rounds through a bare waPC exchange on pywasm3; returns the response."""
    import wasm3

    env = wasm3.Environment()
    runtime = env.new_runtime(64 * 1024)
    parsed = env.parse_module(module)
    runtime.load(parsed)
    answer = []

    def request(operation, payload):
        memory = runtime.get_memory(0)
        memory[operation:operation + 6] = b"Crunch"
        memory[payload:payload + 4] = (50).to_bytes(4, "little")

    def respond(pointer, length):
        answer.append(bytes(runtime.get_memory(0)[pointer:pointer + length]))

    if countdown is not None:
        parsed.link_function("edgehost", "deadline", "i()", countdown)
    parsed.link_function("wapc", "__guest_request", "v(ii)", request)
    parsed.link_function("wapc", "__guest_response", "v(ii)", respond)
    parsed.link_function("wapc", "__guest_error", "v(ii)", lambda *args: None)
    assert runtime.find_function("__guest_call")(6, 4) == 1
    return answer[0]


def test_the_instrumented_module_gives_the_same_answer_and_looks_at_the_clock(actors):
    """The countdown is valid wasm that changes no answer: pywasm3 (the simulator's engine)
    runs the instrumented CPU-bound actor, and its deadline function is called."""
    module = (actorbuild.OUTPUT / "crunch.wasm").read_bytes()
    looks = []
    instrumented = _crunch_on_pywasm3(instrument(module, countdown=10),
                                      lambda: looks.append(1) or 10)
    assert instrumented == _crunch_on_pywasm3(module, None)
    assert len(looks) > 1


def test_the_aot_benchmark_completes_and_prints_its_speedup(actors):
    run = short_run("aot_call.py", "--rounds", 1, "--crunch-rounds", 20, "--echo-calls", 20,
                    timeout=300)
    assert run.last_line.startswith("aot_speedup=")
    assert run.number("aot_speedup") > 0 and run.number("crunch_x64_mpy_bytes") > 0


def test_an_export_with_a_64_bit_value_is_refused_not_cut(tmp_path):
    """The glue carries i32 only: an i64 export would come back cut, so it is refused."""
    module = (b"\0asm\x01\0\0\0"
              b"\x01\x06\x01\x60\x01\x7e\x01\x7e"  # type 0: (i64) -> i64
              b"\x03\x02\x01\x00"  # function 0 of type 0
              b"\x05\x03\x01\x00\x01"  # one memory of one page
              b"\x07\x11\x02\x04wide\x00\x00\x06memory\x02\x00"  # exports wide and memory
              b"\x0a\x06\x01\x04\x00\x20\x00\x0b")  # body: local.get 0
    with pytest.raises(aot.TranslationError) as refused:
        aot.translate(module, "x64", tmp_path)
    assert str(refused.value) == ("export wide has type I(I): the tier passes only i32 values "
                                  "between the guest and the host")


def _path_without_xtensa(monkeypatch) -> None:
    """PATH as it is, less any folder that holds an Xtensa compiler."""
    folders = [folder for folder in os.environ.get("PATH", "").split(os.pathsep)
               if not any((Path(folder) / (prefix + "gcc")).exists()
                          for prefix in aot.TOOLCHAINS["xtensawin"])]
    monkeypatch.setenv("PATH", os.pathsep.join(folders))


XTENSA_MISSING = ("architecture xtensawin: its toolchain is missing (no xtensa-esp32-elf-gcc or "
                  "xtensa-esp-elf-gcc on PATH); the actor runs on wasm3")


def test_an_esp32_translation_without_espressifs_toolchain_says_so_in_one_line(
        actors, monkeypatch, tmp_path):
    _path_without_xtensa(monkeypatch)
    module = (actorbuild.OUTPUT / "echo.wasm").read_bytes()
    with pytest.raises(aot.TranslationError) as refused:
        aot.translate(module, "xtensawin", tmp_path)
    assert str(refused.value) == XTENSA_MISSING
    assert not list(tmp_path.iterdir())  # nothing half-built left behind


def test_the_translate_command_without_espressifs_toolchain_says_so_in_one_line(
        actors, monkeypatch, tmp_path, capsys):
    _path_without_xtensa(monkeypatch)
    wasm = actorbuild.OUTPUT / "echo.wasm"
    assert aot.main([str(wasm), "--arch", "xtensawin", "--cache", str(tmp_path)]) == 1
    shown = capsys.readouterr()
    assert shown.out == ""
    assert shown.err == "edgehost: %s\n" % XTENSA_MISSING
