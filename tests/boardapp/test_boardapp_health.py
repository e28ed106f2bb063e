"""Health reports, and a trapping actor that does not disturb the others."""

from __future__ import annotations

import asyncio

from support.gateway import tcp_gateway


async def test_health_reports_call_each_actors_health_operation(board_thread, sign):
    board = board_thread(health_period_s=1)
    echo = sign("echo")
    wasmbus = sign("wasmbus_echo")
    faults = sign("faults")
    async with tcp_gateway(board.url) as gw:
        for actor in (echo, wasmbus, faults):
            await gw.request(actor.install(claims=False), actor.module)
        report = await gw.receive("health")
        while len(report["actors"]) < 3:  # a report may start before the last install
            report = await gw.receive("health")
        assert report["actors"][echo.key] == "healthy"
        assert report["actors"][wasmbus.key] == "healthy"  # answers Actor.HealthRequest
        assert report["actors"][faults.key] == (f"unhealthy: actor {faults.key}: HealthRequest "
                                                "failed: unknown operation: HealthRequest")
        assert report["uptime_ms"] > 0 and report["free_flash"] > 0
        assert board.board.watchdog.feeds > 0


async def test_an_actor_failed_for_good_is_reported_failed(board_thread, sign):
    board = board_thread(health_period_s=1)
    fragile = sign("init_check", caps=["example:init"])
    async with tcp_gateway(board.url) as gw:
        installing = asyncio.create_task(gw.request(fragile.install(), fragile.module))
        gw.device.send({"t": "host_result", "id": (await gw.receive("host_call"))["id"]}, b"")
        await installing
        crashing = asyncio.create_task(gw.invoke(fragile.key, "Crash"))
        ask = await gw.receive("host_call")
        gw.device.send({"t": "error", "id": ask["id"], "code": "no", "message": "not now"})
        await crashing
        report = await gw.receive("health")
        if fragile.key not in report["actors"]:  # one report may have begun before the crash
            report = await gw.receive("health")
        assert report["actors"][fragile.key].startswith(
            f"failed: actor {fragile.key}: trapped in Crash: ")


async def test_a_trap_in_one_actor_leaves_the_others_serving(board_thread, sign):
    board = board_thread()
    echo = sign("echo")
    faults = sign("faults")
    async with tcp_gateway(board.url) as gw:
        await gw.request(echo.install(claims=False), echo.module)
        await gw.request(faults.install(claims=False), faults.module)
        trapped = await gw.invoke(faults.key, "Unreachable", b"")
        assert trapped["code"] == "trap"
        assert trapped["message"].startswith(f"actor {faults.key}: trapped in Unreachable: ")
        event = await gw.receive("event")
        while event["kind"] != "actor_trapped":
            event = await gw.receive("event")
        assert event["data"]["actor"] == faults.key and event["data"]["rebuilt"] is True
        assert (await gw.invoke(echo.key, "Echo", b"unharmed"))["body"] == b"unharmed"
        # the trapping actor was rebuilt from its module and serves again
        assert (await gw.invoke(faults.key, "Count", b""))["t"] == "invoke_result"


async def test_board_and_actor_log_lines_reach_the_gateway(board_thread, sign):
    board = board_thread()
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        await gw.request(echo.install(claims=False), echo.module)
        line = await gw.receive("log")
        while "installed actor" not in line["text"]:
            line = await gw.receive("log")
        assert line["level"] == "info" and echo.key in line["text"]
        assert any(echo.key in text for text in board.console)
