"""Instruments a wasm module so that translated code keeps the call deadline.

Translated code never yields to the engine, so the module is rewritten before wasm2c sees
it: a countdown in a new global, and, when it reaches zero, a call to the host function
edgehost.aotengine.DEADLINE_IMPORT, which raises the trap once the entry's deadline has passed
and otherwise returns the next countdown. The global counts down at the entry of every
function that calls out (recursion, and calls nested without loops, are bounded so) and once
every LOOP_BATCH passes through a loop header, which count down a local of their function: a
local stays in a register, where a global is a memory access on every pass of a tight loop.
Written here rather than taken from a library: the metering tools that exist (parity's
wasm-instrument, npm's wasm-metering) count gas for blockchains in Rust or JavaScript, not time,
and none is on PyPI; this needs one import, one global and a decoder of instruction
immediates.
"""

from __future__ import annotations

from edgehost.aotengine import COUNTDOWN, DEADLINE_IMPORT

LOOP_BATCH = 64  # passes through a function's loop headers per step of the global countdown


class InstrumentError(ValueError):
    """The module cannot be instrumented; the message says which part and why."""


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 number at `pos`, and the position after it."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise InstrumentError("truncated LEB128 number at byte %d" % pos)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def skip_leb(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _sleb(value: int) -> bytes:
    """Signed LEB128, as i32.const wants its operand."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _name(text: str) -> bytes:
    return _leb(len(text.encode())) + text.encode()


# opcodes by the immediates that follow them
_ONE_LEB = {0x0C, 0x0D, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26}
_TWO_LEB = {0x11, 0x13} | set(range(0x28, 0x3F))  # call_indirect, loads and stores (memarg)
_ONE_BYTE = {0x3F, 0x40, 0xD0}  # memory.size, memory.grow, ref.null
_BLOCKS = {0x02, 0x03, 0x04}
_CALLS = {0x10, 0x12, 0xD2}  # call, return_call, ref.func: a function index
# 0xFC sub-opcodes: how many LEB immediates, then how many single bytes
_FC = {8: (1, 1), 9: (1, 0), 10: (0, 2), 11: (0, 1), 12: (2, 0), 13: (1, 0), 14: (2, 0),
       15: (1, 0), 16: (1, 0), 17: (1, 0)}


def _after_immediates(data: bytes, op: int, pos: int) -> int:
    """The position after the immediates of instruction `op` (not a block, call or ref.func),
    whose immediates start at `pos`."""
    if op in _ONE_LEB or op in (0x41, 0x42):
        return skip_leb(data, pos)
    if op in _TWO_LEB:
        return skip_leb(data, skip_leb(data, pos))
    if op in _ONE_BYTE:
        return pos + 1
    if op == 0x0E:  # br_table
        count, pos = uleb(data, pos)
        for _ in range(count + 1):
            pos = skip_leb(data, pos)
        return pos
    if op == 0x1C:  # select with types
        count, pos = uleb(data, pos)
        return pos + count
    if op == 0x43:
        return pos + 4
    if op == 0x44:
        return pos + 8
    if op == 0xFC:
        sub, pos = uleb(data, pos)
        lebs, single = _FC.get(sub, (0, 0))
        for _ in range(lebs):
            pos = skip_leb(data, pos)
        return pos + single
    if op in (0xFB, 0xFD, 0xFE):
        raise InstrumentError("opcode 0x%02X (SIMD, GC or threads) at byte %d: the tier "
                              "translates the core instruction set only" % (op, pos - 1))
    return pos


class _Rewriter:
    """Copies instructions, shifting function indices past the new import and putting the
    countdown after every loop header."""

    def __init__(self, first_shifted: int, check: bytes):
        self.first_shifted = first_shifted
        self.check = check
        self.batch_local = None  # the function's local that counts loop passes
        self.calls = self.loops = False  # whether the function copied calls out, loops

    def start_function(self, batch_local: int) -> None:
        self.batch_local = batch_local
        self.calls = self.loops = False

    def loop_check(self) -> bytes:
        local = _leb(self.batch_local)
        return (b"\x20" + local + b"\x41\x01\x6b\x22" + local + b"\x45\x04\x40"
                + b"\x41" + _sleb(LOOP_BATCH) + b"\x21" + local + self.check + b"\x0b")

    def function_index(self, index: int) -> int:
        return index + 1 if index >= self.first_shifted else index

    def code(self, data: bytes, pos: int, end: int, out: bytearray) -> None:
        while pos < end:
            op = data[pos]
            start = pos
            pos += 1
            if op in _CALLS:
                index, pos = uleb(data, pos)
                out.append(op)
                out += _leb(self.function_index(index))
                self.calls = self.calls or op != 0xD2
                continue
            if op in (0x11, 0x13):  # call_indirect, return_call_indirect
                self.calls = True
            if op in _BLOCKS:
                if data[pos] in (0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
                    pos += 1
                else:
                    pos = skip_leb(data, pos)
                out += data[start:pos]
                if op == 0x03:
                    self.loops = True
                    out += self.loop_check()
                continue
            pos = _after_immediates(data, op, pos)
            out += data[start:pos]


def _sections(module: bytes) -> list[tuple[int, bytes]]:
    if module[:8] != b"\0asm\x01\0\0\0":
        raise InstrumentError("not a wasm module of version 1 (its first 8 bytes)")
    sections, pos = [], 8
    while pos < len(module):
        section = module[pos]
        size, pos = uleb(module, pos + 1)
        sections.append((section, module[pos:pos + size]))
        pos += size
    return sections


def _entries(payload: bytes) -> tuple[int, int]:
    return uleb(payload, 0)


def instrument(module: bytes, countdown: int = COUNTDOWN) -> bytes:
    """`module` with the deadline countdown (from `countdown`) at the entries of functions that
    call out and at every loop header."""
    sections = _sections(module)
    ids = [section for section, _ in sections]
    payloads = dict(sections)
    for section in (1, 2, 6):  # types, imports and globals are needed, even if empty
        if section not in payloads:
            payloads[section] = _leb(0)
    types, _ = _entries(payloads[1])
    imported_functions = imported_globals = 0
    count, pos = _entries(payloads[2])
    data = payloads[2]
    for _ in range(count):
        for _ in range(2):
            size, pos = uleb(data, pos)
            pos += size
        kind = data[pos]
        pos += 1
        if kind == 0:
            imported_functions += 1
            pos = skip_leb(data, pos)
        elif kind == 1:  # table: reftype, limits
            pos += 1
            flags, pos = uleb(data, pos)
            pos = skip_leb(data, pos)
            if flags & 1:
                pos = skip_leb(data, pos)
        elif kind == 2:  # memory: limits
            flags, pos = uleb(data, pos)
            pos = skip_leb(data, pos)
            if flags & 1:
                pos = skip_leb(data, pos)
        elif kind == 3:  # global: valtype, mutability
            imported_globals += 1
            pos += 2
        else:
            raise InstrumentError("import of kind %d: not one of wasm 1.0's" % kind)
    globals_defined, _ = _entries(payloads[6])
    countdown = imported_globals + globals_defined
    deadline = imported_functions
    check = (b"\x23" + _leb(countdown) + b"\x41\x01\x6b\x24" + _leb(countdown)
             + b"\x23" + _leb(countdown) + b"\x45\x04\x40\x10" + _leb(deadline)
             + b"\x24" + _leb(countdown) + b"\x0b")
    rewriter = _Rewriter(imported_functions, check)

    out = dict(payloads)
    out[1] = _leb(types + 1) + payloads[1][_entries(payloads[1])[1]:] + b"\x60\x00\x01\x7f"
    out[2] = (_leb(count + 1) + data[_entries(data)[1]:] + _name(DEADLINE_IMPORT[0])
              + _name(DEADLINE_IMPORT[1]) + b"\x00" + _leb(types))
    out[6] = (_leb(globals_defined + 1) + payloads[6][_entries(payloads[6])[1]:]
              + b"\x7f\x01\x41" + _sleb(countdown) + b"\x0b")
    if 7 in payloads:
        out[7] = _exports(payloads[7], rewriter)
    if 8 in payloads:
        start, _ = uleb(payloads[8], 0)
        out[8] = _leb(rewriter.function_index(start))
    if 9 in payloads:
        out[9] = _elements(payloads[9], rewriter)
    if 10 in payloads:
        params = [_param_count(payloads[1], index) for index in _function_types(payloads.get(3))]
        out[10] = _code(payloads[10], rewriter, params)
    result = bytearray(b"\0asm\x01\0\0\0")
    order = list(ids)
    for section in (1, 2, 6):
        if section not in order:
            order.append(section)
    # known sections in their required order (data count, 12, goes before code); custom
    # sections other than "name" (whose function indices would be stale) where they were
    rank = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}
    kept = [s for s in sections if s[0] == 0 and not s[1][1:].startswith(b"name")]
    for section in sorted(set(order) - {0}, key=rank.__getitem__):
        result.append(section)
        result += _leb(len(out[section])) + out[section]
    for _, payload in kept:
        result.append(0)
        result += _leb(len(payload)) + payload
    return bytes(result)


def _exports(payload: bytes, rewriter: _Rewriter) -> bytes:
    count, pos = uleb(payload, 0)
    out = bytearray(_leb(count))
    for _ in range(count):
        start = pos
        size, pos = uleb(payload, pos)
        pos += size
        kind = payload[pos]
        index, pos = uleb(payload, pos + 1)
        out += payload[start:pos - len(_leb(index))]
        out += _leb(rewriter.function_index(index) if kind == 0 else index)
    return bytes(out)


def _expression(payload: bytes, pos: int, rewriter: _Rewriter, out: bytearray) -> int:
    """Copies one constant expression (up to its `end`), shifting ref.func; returns the
    position after it."""
    end = pos
    while payload[end] != 0x0B:
        op = payload[end]
        end = _after_immediates(payload, op, end + 1)
        if op in _CALLS:
            end = skip_leb(payload, end)
    rewriter.code(payload, pos, end + 1, out)
    return end + 1


def _elements(payload: bytes, rewriter: _Rewriter) -> bytes:
    count, pos = uleb(payload, 0)
    out = bytearray(_leb(count))
    for _ in range(count):
        flags, pos = uleb(payload, pos)
        out += _leb(flags)
        if flags & 2 and not flags & 1:  # an explicit table index
            index, pos = uleb(payload, pos)
            out += _leb(index)
        if not flags & 1:  # active: an offset expression
            pos = _expression(payload, pos, rewriter, out)
        if flags & 3:  # an element kind or reference type
            out.append(payload[pos])
            pos += 1
        items, pos = uleb(payload, pos)
        out += _leb(items)
        for _ in range(items):
            if flags & 4:
                pos = _expression(payload, pos, rewriter, out)
            else:
                index, pos = uleb(payload, pos)
                out += _leb(rewriter.function_index(index))
    return bytes(out)


def _function_types(payload: bytes | None) -> list[int]:
    """The type index of each function the module defines."""
    if payload is None:
        return []
    count, pos = uleb(payload, 0)
    indices = []
    for _ in range(count):
        index, pos = uleb(payload, pos)
        indices.append(index)
    return indices


def _param_count(types: bytes, wanted: int) -> int:
    count, pos = uleb(types, 0)
    if wanted >= count:
        raise InstrumentError("function of type %d: the module has %d types" % (wanted, count))
    for index in range(wanted + 1):
        pos += 1  # 0x60
        params, pos = uleb(types, pos)
        if index == wanted:
            return params
        pos += params
        results, pos = uleb(types, pos)
        pos += results
    return 0


def _code(payload: bytes, rewriter: _Rewriter, params: list[int]) -> bytes:
    count, pos = uleb(payload, 0)
    if count != len(params):
        raise InstrumentError("%d function bodies for %d functions" % (count, len(params)))
    out = bytearray(_leb(count))
    for function in range(count):
        size, pos = uleb(payload, pos)
        end = pos + size
        groups, at = uleb(payload, pos)
        locals_count = 0
        for _ in range(groups):
            group, at = uleb(payload, at)
            locals_count += group
            at += 1
        rewriter.start_function(params[function] + locals_count)
        instructions = bytearray()
        rewriter.code(payload, at, end, instructions)
        body = bytearray()
        if rewriter.loops:  # one more local, the loop passes' count, from LOOP_BATCH down
            body += _leb(groups + 1) + payload[skip_leb(payload, pos):at] + b"\x01\x7f"
            body += b"\x41" + _sleb(LOOP_BATCH) + b"\x21" + _leb(rewriter.batch_local)
        else:
            body += payload[pos:at]
        # A function that calls none runs in a time its loops' countdown bounds; one that
        # calls counts its entries, so that recursion, and calls nested without loops, are
        # bounded too.
        if rewriter.calls:
            body += rewriter.check
        body += instructions
        out += _leb(len(body)) + body
        pos = end
    return bytes(out)
