"""Installing, calling, swapping and removing actors on a simulated board over the link."""

from __future__ import annotations

import asyncio
import hashlib

import msgpack
from support.gateway import connect_tcp, tcp_gateway
from support.signing import SignedActor

from edgegate.wascap.modules import custom_section


async def test_an_installed_actor_answers_by_key_and_by_call_alias(board_thread, sign):
    board = board_thread()
    echo = sign("echo", call_alias="echoer")
    async with tcp_gateway(board.url) as gw:
        assert gw.hello["actors"] == {}
        assert gw.hello["engine"] == "wasm3"
        reply = await gw.request(echo.install(), echo.module)
        assert reply == {"t": "installed", "id": reply["id"], "actor": echo.key,
                         "sha256": echo.sha256, "budget": reply["budget"],
                         "link": gw.device.epoch}
        # what the board has left now: one slot and the actor's RAM fewer than in its hello
        assert reply["budget"]["slots_free"] == gw.hello["budget"]["slots_free"] - 1
        assert reply["budget"]["ram_free"] < gw.hello["budget"]["ram_free"]
        by_key = await gw.invoke(echo.key, "Echo", b"hello board")
        by_alias = await gw.invoke("echoer", "Echo", b"by alias")
        assert (by_key["t"], by_key["body"]) == ("invoke_result", b"hello board")
        assert (by_alias["t"], by_alias["body"]) == ("invoke_result", b"by alias")


async def test_the_hello_of_a_new_session_lists_actors_with_digest_alias_and_name(
        board_thread, sign):
    board = board_thread()
    echo = sign("echo", call_alias="echoer")
    wasmbus = sign("wasmbus_echo")
    gw = await connect_tcp(board.url)
    await gw.request(echo.install(), echo.module)
    await gw.request(wasmbus.install(), wasmbus.module)
    await gw.close()
    async with tcp_gateway(board.url) as gw:
        hello = gw.hello
        assert hello["actors"] == {echo.key: echo.sha256, wasmbus.key: wasmbus.sha256}
        assert hello["actor_info"][echo.key] == {"alias": "echoer", "name": "echo",
                                                 "rpc_version": 0, "engine": "wasm3"}
        assert hello["actor_info"][wasmbus.key]["alias"] == ""
        assert hello["actor_info"][wasmbus.key]["rpc_version"] >= 1
        assert hello["board"] == "bench-3" and hello["uptime_ms"] >= 0


async def test_installing_the_same_module_again_is_a_quiet_success(board_thread, sign):
    board = board_thread()
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        first = await gw.request(echo.install(), echo.module)
        again = await gw.request(echo.install(), echo.module)
        assert first["t"] == again["t"] == "installed"
        assert list(board.board.table.actors) == [echo.key]


async def test_guest_errors_and_unknown_actors_come_back_as_error_codes(board_thread, sign):
    board = board_thread()
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        await gw.request(echo.install(), echo.module)
        unknown_op = await gw.invoke(echo.key, "Juggle", b"")
        assert (unknown_op["code"], unknown_op["message"]) == ("guest_error",
                                                              "unknown operation: Juggle")
        nobody = await gw.invoke("MNOBODY", "Echo", b"")
        assert nobody["code"] == "unknown_actor" and "MNOBODY" in nobody["message"]
        gone = await gw.request({"t": "remove", "actor": "MNOBODY"})
        assert gone["code"] == "unknown_actor"


async def test_remove_by_alias_takes_the_actor_off_the_board_and_its_flash(board_thread,
                                                                          sign, tmp_path):
    board = board_thread()
    echo = sign("echo", call_alias="echoer")
    async with tcp_gateway(board.url) as gw:
        await gw.request(echo.install(), echo.module)
        reply = await gw.request({"t": "remove", "actor": "echoer"})
        assert (reply["t"], reply["actor"]) == ("removed", echo.key)
        after = await gw.invoke(echo.key, "Echo", b"")
        assert after["code"] == "unknown_actor"
        assert board.board.store.restore() == ([], [])


async def test_a_module_whose_hash_is_not_the_one_its_claims_name_is_refused(board_thread,
                                                                            sign):
    board = board_thread()
    echo = sign("echo")
    shout = sign("shout", subject=echo.subject)
    async with tcp_gateway(board.url) as gw:
        # shout's module sent with echo's claims: same subject, different hash
        reply = await gw.request(shout.install(claims=echo.token), shout.module)
        assert reply["code"] == "refused"
        assert reply["message"].startswith(f"actor {echo.key}: claims: hash mismatch: module ")
        assert (await gw.invoke(echo.key, "Echo", b""))["code"] == "unknown_actor"


async def test_claims_for_another_actor_or_no_claims_are_refused(board_thread, sign):
    board = board_thread()
    echo = sign("echo")
    other = sign("echo")
    async with tcp_gateway(board.url) as gw:
        wrong_subject = await gw.request(echo.install(actor=other.key), echo.module)
        assert wrong_subject["code"] == "refused"
        assert f"the claims are for {echo.key}, not this actor" in wrong_subject["message"]
        empty = await gw.request(echo.install(claims=""), echo.module)
        assert empty["message"] == (f"actor {echo.key}: claims: the claims token sent with "
                                    "it is empty")
        garbled = await gw.request(echo.install(claims="not.a-jwt"), echo.module)
        assert garbled["code"] == "refused" and "malformed token" in garbled["message"]


async def test_modules_that_break_the_boards_limits_are_refused_with_the_rule(board_thread,
                                                                             sign):
    board = board_thread(limits={"max_pages_per_actor": 2})
    async with tcp_gateway(board.url) as gw:
        big = sign("big_memory")  # module and claims together are more than one frame
        reply = await gw.request(big.install(), big.module)
        assert reply["code"] == "refused"
        assert reply["message"] == (f"actor {big.key}: memory: declares 17 memory pages "
                                    "(1088 KiB), above the budget of 2 pages (128 KiB)")
        bad_import = sign("bad_import")
        reply = await gw.request(bad_import.install(claims=False), bad_import.module)
        assert reply["message"].startswith(f"actor {bad_import.key}: imports: ")
        no_call = sign("no_guest_call")
        reply = await gw.request(no_call.install(claims=False), no_call.module)
        assert reply["message"] == (f"actor {no_call.key}: exports: exports no __guest_call "
                                    "function")


async def test_the_board_refuses_more_actors_than_max_actors(board_thread, sign):
    board = board_thread(limits={"max_actors": 2, "max_pages_per_actor": 2, "max_frame": 1024,
                                 "max_payload": 65536, "window": 4})
    async with tcp_gateway(board.url) as gw:
        for _ in range(2):
            echo = sign("echo")
            assert (await gw.request(echo.install(), echo.module))["t"] == "installed"
        third = sign("echo")
        reply = await gw.request(third.install(), third.module)
        assert reply["message"] == (f"actor {third.key}: slots: the board holds 2 "
                                    "actors, its limit")


async def test_a_hot_swap_changes_the_answers_and_a_refused_swap_keeps_the_old_module(
        board_thread, sign):
    board = board_thread(limits={"max_pages_per_actor": 2})
    echo = sign("echo")
    shout = sign("shout", subject=echo.subject)
    big = sign("big_memory", subject=echo.subject)
    async with tcp_gateway(board.url) as gw:
        await gw.request(echo.install(), echo.module)
        swapped = await gw.request(shout.install(t="swap"), shout.module)
        assert (swapped["t"], swapped["sha256"]) == ("swapped", shout.sha256)
        assert (await gw.invoke(echo.key, "Echo", b"quiet"))["body"] == b"QUIET"
        refused = await gw.request(big.install(claims=False, t="swap"), big.module)
        assert refused["code"] == "refused" and ": memory: " in refused["message"]
        assert (await gw.invoke(echo.key, "Echo", b"still"))["body"] == b"STILL"
        stranger = sign("echo")
        unknown = await gw.request(stranger.install(t="swap"), stranger.module)
        assert unknown["code"] == "unknown_actor"


async def test_a_module_larger_than_one_frame_arrives_in_chunks(board_thread, sign):
    board = board_thread(limits={"max_actors": 4, "max_pages_per_actor": 2, "max_frame": 256,
                                 "max_payload": 65536, "window": 2})
    echo = sign("echo")
    assert len(echo.module) > 256
    async with tcp_gateway(board.url) as gw:
        assert (await gw.request(echo.install(claims=False), echo.module))["t"] == "installed"
        payload = bytes(range(256)) * 8
        assert (await gw.invoke(echo.key, "Echo", payload))["body"] == payload


async def test_without_claims_in_the_request_the_modules_own_claims_are_checked(
        board_thread, sign, actors):
    board = board_thread()
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        assert (await gw.request(echo.install(claims=False), echo.module))["t"] == "installed"
        unsigned = actors["shout"]
        reply = await gw.request(echo.install(claims=False, actor=sign("echo").key,
                                              sha256=hashlib.sha256(unsigned).digest()),
                                 unsigned)
        assert reply["code"] == "refused"
        assert reply["message"].endswith("claims: no claims: neither the request nor the "
                                         "module carry claims")


async def test_a_hello_too_large_for_the_boards_frame_is_cut_down_not_lost(board_thread,
                                                                          sign):
    board = board_thread(limits={"max_actors": 4, "max_pages_per_actor": 2, "max_frame": 256,
                                 "max_payload": 65536, "window": 2})
    gw = await connect_tcp(board.url)
    held = [sign("echo", call_alias=f"echo-number-{n}") for n in range(2)]
    for echo in held:
        await gw.request(echo.install(claims=False), echo.module)
    await gw.close()
    async with tcp_gateway(board.url) as gw:
        assert "actor_info" not in gw.hello
        assert set(gw.hello["actors"]) < {echo.key for echo in held}
        warning = await gw.receive("log")
        assert warning["text"].startswith("hello does not fit a frame of 256 bytes: "
                                          "actor_info, budget and ")
        again = held[0]
        assert (await gw.request(again.install(claims=False), again.module))["t"] == "installed"


async def test_a_payload_above_max_payload_is_too_large(board_thread,
                                                                               sign):
    board = board_thread(limits={"max_actors": 4, "max_pages_per_actor": 2, "max_frame": 1024,
                                 "max_payload": 1000, "window": 4})
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        await gw.request(echo.install(claims=False), echo.module)
        too_large = await gw.invoke(echo.key, "Echo", bytes(1001))
        assert too_large["code"] == "too_large"
        assert too_large["message"] == (f"actor {echo.key}: payload of 1001 bytes for Echo is "
                                        "above the limit of 1000")


async def test_an_actor_that_cannot_be_rebuilt_after_a_trap_is_failed(board_thread, sign):
    board = board_thread()
    # its start function asks the host (example:init) whether it may start
    fragile = sign("init_check", caps=["example:init"])
    async with tcp_gateway(board.url) as gw:
        installing = asyncio.create_task(gw.request(fragile.install(), fragile.module))
        ask = await gw.receive("host_call")
        assert (ask["namespace"], ask["op"]) == ("example:init", "Init.Check")
        gw.device.send({"t": "host_result", "id": ask["id"]}, b"")
        assert (await installing)["t"] == "installed"

        crashing = asyncio.create_task(gw.invoke(fragile.key, "Crash"))
        ask = await gw.receive("host_call")  # the rebuild after the trap asks again: refuse
        gw.device.send({"t": "error", "id": ask["id"], "code": "no", "message": "not now"})
        crashed = await crashing
        assert crashed["code"] == "trap"
        failed = await gw.invoke(fragile.key, "Echo", b"")
        assert failed["code"] == "failed"
        assert failed["message"].startswith(f"actor {fragile.key}: failed earlier: actor "
                                            f"{fragile.key}: trapped in Crash: ")


async def test_a_call_alias_already_taken_is_refused(board_thread, sign):
    board = board_thread()
    first = sign("echo", call_alias="greeter")
    second = sign("shout", call_alias="greeter")
    async with tcp_gateway(board.url) as gw:
        await gw.request(first.install(), first.module)
        reply = await gw.request(second.install(), second.module)
        assert reply["message"] == (f"actor {second.key}: call alias greeter is taken by "
                                    f"actor {first.key}")


async def test_a_module_over_the_flash_left_for_modules_is_refused_before_its_chunks(
        board_thread, sign):
    board = board_thread(limits={"module_flash_bytes": 2048, "max_frame": 1024})
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        reply = await gw.request(echo.install(), echo.module + bytes(2048))
        assert reply["code"] == "refused"
        assert reply["message"].startswith(f"actor {echo.key}: flash: the module of ")
        assert reply["message"].endswith("does not fit the 2048 bytes of flash free for modules")
        assert board.board.store.incoming_bytes() == 0
        assert any("install refused before upload" in line for line in board.console)


async def test_an_upload_cut_off_leaves_the_old_module_and_no_part_file(board_thread, sign,
                                                                         actors):
    board = board_thread()
    greeter = sign("rust_greeter")
    bulky = sign("rust_bulky", subject=greeter.subject)
    gw = await connect_tcp(board.url)
    await gw.request(greeter.install(), greeter.module)
    upload = asyncio.create_task(gw.request(bulky.install(t="swap"), bulky.module))
    store = board.board.store
    while not store.incoming_bytes():  # the swap's module is on its way to flash
        await asyncio.sleep(0.005)
    await gw.close()  # the line goes down in the middle of the upload
    upload.cancel()
    async with tcp_gateway(board.url) as gw:
        assert gw.hello["actors"] == {greeter.key: greeter.sha256}
        assert store.incoming_bytes() == 0
        answer = await gw.invoke(greeter.key, "Greeter.Greet", msgpack.packb({"name": "x"}))
        assert msgpack.unpackb(answer["body"])["greeting"] == "Hello, x!"


async def test_a_chunked_module_that_does_not_match_its_digest_is_dropped_from_flash(
        board_thread, sign):
    board = board_thread(limits={"max_frame": 1024})
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        reply = await gw.request(echo.install(sha256=bytes(32)), echo.module)
        assert reply["code"] == "digest_mismatch"
        assert board.board.store.incoming_bytes() == 0
        assert board.board.table.actors == {}
        stranger = await gw.request(echo.install(t="swap"), echo.module)  # nothing to swap
        assert stranger["code"] == "unknown_actor"
        assert board.board.store.incoming_bytes() == 0


async def test_max_payload_bounds_invocations_not_modules(board_thread, sign):
    board = board_thread(limits={"max_payload": 16384})
    bulky = sign("rust_bulky")
    async with tcp_gateway(board.url) as gw:
        assert (await gw.request(bulky.install(), bulky.module))["t"] == "installed"
        reply = await gw.invoke(bulky.key, "Blob.Size", bytes(20000))
        assert reply["code"] == "too_large"


async def test_the_board_checks_the_ram_a_module_takes_itself(board_thread, sign):
    board = board_thread(limits={"actor_ram_bytes": 1024 * 1024})
    greeter = sign("rust_greeter")  # 17 pages: 1088 KiB of linear memory alone
    async with tcp_gateway(board.url) as gw:
        reply = await gw.request(greeter.install(), greeter.module)
        assert reply["code"] == "refused"
        message = reply["message"]
        assert message.startswith(f"actor {greeter.key}: ram: needs 11")
        assert "KiB of RAM (linear memory 1088 KiB + engine " in message  # the module is mapped
        assert message.endswith("the board has 1024 KiB for actors")
        assert gw.hello["free_mem"] == 1024 * 1024


async def test_an_actor_over_a_lowered_budget_is_dropped_at_boot_with_the_reason(board_thread,
                                                                                 sign):
    greeter = sign("rust_greeter")
    first = board_thread(flash="kept")
    gw = await connect_tcp(first.url)
    assert (await gw.request(greeter.install(), greeter.module))["t"] == "installed"
    await gw.close()
    first.stop()
    second = board_thread(flash="kept", limits={"max_pages_per_actor": 16})
    async with tcp_gateway(second.url) as gw:
        assert gw.hello["actors"] == {}
        assert any(f"actor {greeter.key} dropped at boot: actor {greeter.key}: memory: declares "
                   "17 memory pages" in line for line in second.console)


async def test_a_module_that_needs_a_compaction_waits_for_the_call_in_flight(board_thread,
                                                                            sign, actors):
    board = board_thread(limits={"module_flash_bytes": 8 * 4096, "max_frame": 1024})
    relay = sign("hostcall", caps=["example:relay"])

    def padded(name: str, sectors: int) -> SignedActor:
        module = actors["echo"]
        padding = custom_section("padding", bytes(sectors * 4096 - 1500 - len(module)))
        return SignedActor(module + padding, name)

    gone, kept, big = padded("gone", 3), padded("kept", 3), padded("big", 4)
    async with tcp_gateway(board.url) as gw:
        for actor in (relay, gone, kept):
            assert (await gw.request(actor.install(), actor.module))["t"] == "installed"
        assert (await gw.request({"t": "remove", "actor": gone.key}))["t"] == "removed"
        pending = asyncio.create_task(gw.invoke(relay.key, "Relay", b"ping"))
        call = await gw.receive("host_call")  # the relay's module runs meanwhile
        refused = await gw.request(big.install(), big.module)
        assert refused["code"] == "store"
        assert refused["message"] == (
            f"cannot start writing a module of {len(big.module)} bytes to flash: its 16384 free "
            "bytes are in pieces until the call in flight ends; try again then")
        gw.device.send({"t": "host_result", "id": call["id"]}, b"pong")
        assert (await pending)["body"] == b"pong"
        assert (await gw.request(big.install(), big.module))["t"] == "installed"
        for actor in (kept, big):
            assert (await gw.invoke(actor.key, "Echo", b"still"))["body"] == b"still"
