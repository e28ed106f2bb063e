"""A simulated board power-cut (SIGKILL) at a random moment of a module write, twenty times:
the half-written module is discarded and the old one still serves (a cut that comes after the
board committed the new one leaves the new one, whole), and a re-install works."""

from __future__ import annotations

import random

from edgegate.devices.boardclient import BoardClient, BoardError
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module
from edgegate.wascap.modules import custom_section
from edgelink.link import LinkError
from edgemodule.region import extent

CUTS = 20
PADDING = 128 * 1024
BAUD = "1000000"  # ~100 KB/s: a write lasts about a second, so that cuts land inside it


def two_versions(actors: dict[str, bytes]) -> tuple[bytes, bytes, str]:
    """echo, and shout padded out to a long write, signed as the same actor."""
    account, subject = KeyPair.generate("account"), KeyPair.generate("module")
    meta = ActorMetadata("speaker", [])
    old = sign_module(actors["echo"], account, subject, meta)
    new = sign_module(actors["shout"] + custom_section("padding", bytes(PADDING)), account,
                      subject, meta)
    return old, new, subject.public_key


async def connect(board) -> BoardClient:
    host, port = board.address.rsplit(":", 1)
    return await BoardClient.connect_tcp(host, int(port), board.key, timeout=20)


async def echo(client: BoardClient, actor: str) -> bytes:
    """Echo "hello" on a board just booted: a first request that crosses the board's own
    session opening fails (issue 18, item 3, fixed with the link work) and is sent again."""
    try:
        return await client.call(actor, "Echo", b"hello")
    except BoardError as exc:
        if "the board opened a new session" not in str(exc):
            raise
        return await client.call(actor, "Echo", b"hello")


async def test_a_power_cut_during_a_module_write_keeps_the_old_module_twenty_times(
        sim_boards, actors):
    old, new, actor = two_versions(actors)
    board = sim_boards("kitchen", "--baud", BAUD)
    await board.install(old)
    rng = random.Random(18)
    cut_mid_write = 0  # cuts before the board had the whole module, for the boot to discard
    old_token, new_token = SignedModule(old).token.text, SignedModule(new).token.text
    for cut in range(CUTS):
        client = await connect(board)
        served = await echo(client, actor)
        assert served in (b"hello", b"HELLO"), f"after cut {cut}: {served!r}"
        if served == b"HELLO":  # the last cut came after the commit: start from the old again
            await client.install(old, old_token, actor)
            assert await echo(client, actor) == b"hello"
        budget = client.hello["budget"]
        held = old if served == b"hello" else new
        assert budget["flash"] - budget["flash_free"] == extent(len(held)), \
            f"a half-written module still takes flash after cut {cut}"
        at = rng.randrange(1, len(new))
        killed_at = []

        def power_cut(sent: int, at: int = at, killed_at: list[int] = killed_at) -> None:
            if sent >= at and board.sim.process.poll() is None:
                board.kill()
                killed_at.append(sent)

        try:
            await client.install(new, new_token, actor, progress=power_cut)
        except (BoardError, LinkError):
            pass
        finally:
            await client.close()
        if board.sim.process.poll() is None:
            board.kill()
        cut_mid_write += bool(killed_at) and killed_at[0] < len(new)
        board.start()
    print(f"{CUTS} power cuts, {cut_mid_write} in the middle of the module's write")
    assert cut_mid_write >= CUTS // 2, cut_mid_write
    client = await connect(board)
    try:
        assert await echo(client, actor) in (b"hello", b"HELLO")
        await client.install(new, new_token, actor)
        assert await echo(client, actor) == b"HELLO"
    finally:
        await client.close()
