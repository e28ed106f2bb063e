"""Hot swap of a running actor's module: in-flight calls finish, refused modules change nothing."""

from __future__ import annotations

import threading
import time

import pytest

from edgehost import engine
from edgehost.wapc import GuestError, ModuleRefused, TrapError, WapcHost


def test_swap_replaces_the_module(actors):
    host = WapcHost("echo", actors["echo"])
    assert host.call("Echo", b"quiet") == b"quiet"
    host.swap(actors["shout"])
    assert host.call("Echo", b"quiet") == b"QUIET"


def test_swap_to_a_wasmbus_actor_changes_its_health_operation(actors):
    host = WapcHost("echo", actors["echo"])
    host.swap(actors["wasmbus_echo"])
    assert (host.rpc_version, host.health_operation) == (1, "Actor.HealthRequest")
    assert host.call(host.health_operation) == b"\x81\xa7healthy\xc3"


@pytest.mark.parametrize(
    "replacement, rule",
    [("bad_import", "imports"), ("no_guest_call", "exports"), ("big_memory", "memory"),
     (b"\x00asm\x01\x00\x00", "format")],
)
def test_refused_swap_leaves_the_old_module_serving(actors, replacement, rule):
    host = WapcHost("echo", actors["echo"])
    new = actors[replacement] if isinstance(replacement, str) else replacement
    with pytest.raises(ModuleRefused) as caught:
        host.swap(new)
    assert caught.value.rule == rule
    assert host.call("Echo", b"still me") == b"still me"
    assert "__guest_call" in host.inspection.exports


def test_swap_whose_start_function_traps_leaves_the_old_module_serving(actors):
    def no(*args):
        raise PermissionError("not now")

    host = WapcHost("echo", actors["echo"], host_call=no)
    with pytest.raises(TrapError, match="^actor echo: trapped in wapc_init: unreachable"):
        host.swap(actors["init_check"])
    assert host.call("Echo", b"old") == b"old"


class NotingEngine:
    """The real pywasm3 engine, noting each instance it builds (to know when a swap loaded)."""

    EngineError = engine.EngineError
    trap_cause = staticmethod(engine.trap_cause)

    def __init__(self):
        self.built = threading.Semaphore(0)

    def Instance(self, module_bytes, stack_bytes, *limits):  # noqa: N802 - the engine API's name
        instance = engine.Instance(module_bytes, stack_bytes, *limits)
        self.built.release()
        return instance


def test_call_in_flight_finishes_on_the_old_module_before_the_swap_lands(actors):
    noting = NotingEngine()
    order: list[str] = []
    swapper: list[threading.Thread] = []

    def relay(binding, namespace, operation, payload):
        # While this call is in flight, swap the actor and wait until the new module is
        # loaded; the pause gives a swap that does not wait every chance to land early.
        swapper.append(threading.Thread(target=swap))
        swapper[0].start()
        assert noting.built.acquire(timeout=30)
        time.sleep(0.2)
        order.append("host call answered")
        return b"old module: " + payload

    def swap():
        host.swap(actors["shout"])
        order.append("swap returned")

    host = WapcHost("hostcall", actors["hostcall"], host_call=relay, engine=noting)
    assert noting.built.acquire(timeout=1)  # the first instance
    assert host.call("Relay", b"in flight") == b"old module: in flight"
    order.append("call returned")
    swapper[0].join(timeout=30)
    assert order == ["host call answered", "call returned", "swap returned"]
    assert host.call("Echo", b"new") == b"NEW"


def test_hot_swap_under_load(actors):
    host = WapcHost("echo", actors["echo"])
    answers: list[tuple[bool, bytes, bytes]] = []  # (started after the last swap, sent, got)
    failures: list[BaseException] = []
    swaps_done = threading.Event()

    def load():
        n = after = 0
        try:
            while n < 200 or after < 50:
                done = swaps_done.is_set()
                payload = b"call %d" % n
                answers.append((done, payload, host.call("Echo", payload)))
                n += 1
                after += done
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    worker = threading.Thread(target=load)
    worker.start()
    for module in ("shout", "echo", "shout", "echo", "shout"):
        host.swap(actors[module])
        answer = host.call("Echo", b"after swap")
        assert answer == (b"AFTER SWAP" if module == "shout" else b"after swap")
    swaps_done.set()
    worker.join(timeout=60)
    assert not failures
    assert all(got in (sent, sent.upper()) for _, sent, got in answers)
    late = [got == sent.upper() for done, sent, got in answers if done]
    assert len(late) >= 50 and all(late)


def test_swap_from_inside_its_own_call_is_refused(actors):
    holder = {}

    def swap_me(*args):
        holder["host"].swap(actors["echo"])
        return b""

    host = WapcHost("hostcall", actors["hostcall"], host_call=swap_me)
    holder["host"] = host
    with pytest.raises(GuestError, match="cannot swap its module from inside its own call"):
        host.call("Relay", b"x")
    assert host.call("HealthRequest") == b"\x81\xa7healthy\xc3"
