"""A simulated board power-cut (SIGKILL) at a random moment of a module write, twenty times:
the half-written module is discarded, the old one still serves, and a re-install works."""

from __future__ import annotations

import random

from edgegate.boardclient import BoardClient, BoardError
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module
from edgegate.wascap.modules import custom_section
from edgelink.link import LinkError

CUTS = 20
PADDING = 256 * 1024  # enough bytes on the wire for a cut to land in the middle


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
    board = sim_boards("kitchen")
    await board.install(old)
    rng = random.Random(18)
    incoming = board.folder / "flash" / "incoming"
    assert incoming.is_dir()
    cut_mid_write = 0  # cuts that left a part-written module on flash for the boot to discard
    for cut in range(CUTS):
        client = await connect(board)
        assert await echo(client, actor) == b"hello", f"after cut {cut}"
        assert not any(incoming.glob("*")), f"a half-written module left after cut {cut}"
        at = rng.randrange(1, len(new))

        def power_cut(sent: int, at: int = at) -> None:
            if sent >= at and board.sim.process.poll() is None:
                board.kill()

        try:
            await client.install(new, SignedModule(new).token.text, actor, progress=power_cut)
        except (BoardError, LinkError):
            pass
        else:
            raise AssertionError(f"cut {cut} at byte {at} came after the write had finished")
        finally:
            await client.close()
        if board.sim.process.poll() is None:
            board.kill()
        cut_mid_write += any(incoming.glob("*.part"))
        board.start()
    assert cut_mid_write >= CUTS // 2, cut_mid_write
    client = await connect(board)
    try:
        assert await echo(client, actor) == b"hello"
        await client.install(new, SignedModule(new).token.text, actor)
        assert await echo(client, actor) == b"HELLO"
    finally:
        await client.close()
