"""The project's own actors: built from source with zig, reproducibly, and speaking waPC."""

from __future__ import annotations

import wasm3

from edgecli import actorbuild


class BareWapc:
    """The smallest waPC exchange over pywasm3, enough to show the built actors work.

    The project's real host lives in firmware/edgehost; this is the test's own yardstick.
    """

    def __init__(self, module_bytes: bytes, host_call=None):
        self.env = wasm3.Environment()
        self.runtime = self.env.new_runtime(64 * 1024)
        self.module = self.env.parse_module(module_bytes)
        self.runtime.load(self.module)
        self.host_call = host_call
        self.request = (b"", b"")
        self.response = self.error = self.host_response = self.host_error = b""
        self.logs: list[bytes] = []
        links = {
            "__guest_request": ("v(ii)", self._guest_request),
            "__guest_response": ("v(ii)", self._set("response")),
            "__guest_error": ("v(ii)", self._set("error")),
            "__host_call": ("i(iiiiiiii)", self._host_call),
            "__host_response_len": ("i()", lambda: len(self.host_response)),
            "__host_response": ("v(i)", lambda p: self._write(p, self.host_response)),
            "__host_error_len": ("i()", lambda: len(self.host_error)),
            "__host_error": ("v(i)", lambda p: self._write(p, self.host_error)),
            "__console_log": ("v(ii)", lambda p, n: self.logs.append(self._read(p, n))),
        }
        for name, (sig, fn) in links.items():
            self.module.link_function("*", name, sig, fn)
        self.guest_call = self.runtime.find_function("__guest_call")

    def _read(self, ptr, n):
        return bytes(self.runtime.get_memory(0)[ptr : ptr + n])

    def _write(self, ptr, data):
        self.runtime.get_memory(0)[ptr : ptr + len(data)] = data

    def _set(self, field):
        return lambda p, n: setattr(self, field, self._read(p, n))

    def _guest_request(self, op_ptr, ptr):
        self._write(op_ptr, self.request[0])
        self._write(ptr, self.request[1])

    def _host_call(self, bp, bl, np_, nl, op, ol, p, n):
        args = [self._read(a, b) for a, b in ((bp, bl), (np_, nl), (op, ol), (p, n))]
        ok, self.host_response, self.host_error = self.host_call(*args)
        return 1 if ok else 0

    def call(self, operation: bytes, payload: bytes):
        self.request = (operation, payload)
        self.response = self.error = b""
        ok = self.guest_call(len(operation), len(payload))
        return ok, self.response if ok == 1 else self.error


def test_actor_build_is_reproducible_byte_for_byte(tmp_path, actors):
    rebuilt = actorbuild.build_all(tmp_path)
    assert set(rebuilt) >= {"echo", "hostcall"}
    for name, path in rebuilt.items():
        assert path.read_bytes() == actors[name], name


def test_echo_actor_echoes_through_guest_request_and_response(actors):
    host = BareWapc(actors["echo"])
    assert host.call(b"Echo", b"hello board") == (1, b"hello board")
    big = bytes(range(256)) * 400  # 100 KiB: the actor grows its memory to hold it
    assert host.call(b"Echo", big) == (1, big)


def test_echo_actor_reports_an_unknown_operation_as_guest_error(actors):
    host = BareWapc(actors["echo"])
    assert host.call(b"Frobnicate", b"") == (0, b"unknown operation: Frobnicate")


def test_hostcall_actor_round_trips_through_the_host(actors):
    seen = []

    def host_call(binding, namespace, operation, payload):
        seen.append((binding, namespace, operation, payload))
        return True, payload.upper(), b""

    host = BareWapc(actors["hostcall"], host_call)
    assert host.call(b"Relay", b"ping") == (1, b"PING")
    assert seen == [(b"default", b"example:relay", b"Relay.Forward", b"ping")]


def test_hostcall_actor_passes_a_host_error_back_as_guest_error(actors):
    host = BareWapc(actors["hostcall"], lambda *a: (False, b"", b"no route"))
    assert host.call(b"Relay", b"ping") == (0, b"host call failed: no route")
