"""`edgehost gateway`: serve the boards of a registry as hosts on a NATS lattice."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from edgecli.latticeoptions import lattice_config
from edgecli.output import fail
from edgecli.stopsignals import StopSignals
from edgegate.config import ConfigError
from edgegate.devices.registry import RegistryError, load_registry
from edgegate.gateway import Gateway, GatewayError
from edgegate.vhost.host import BoardHost


def _announce(host: BoardHost) -> None:
    print(f"edgehost: board {host.entry.board_id} is host {host.id} with "
          f"{len(host.actors)} actor(s)", file=sys.stderr, flush=True)


def gateway(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="edgehost: %(message)s")
    try:
        config = lattice_config(args)
        boards = load_registry(Path(args.boards))
    except (ConfigError, RegistryError) as exc:
        return fail(str(exc))
    if config.seed_note:
        print(f"edgehost: {config.seed_note}", file=sys.stderr)

    async def serve() -> int:
        from edgecli import aottranslator  # the ahead-of-time tier's, for boards that opt in

        gw = Gateway(config, boards, translator=aottranslator.translate)
        gw.on_host = _announce
        try:
            await gw.start()
        except GatewayError as exc:
            await gw.stop()
            return fail(str(exc))
        print(f"edgehost: gateway on {config.rpc_url}, lattice {config.lattice!r}, serving "
              f"{len(boards)} board(s): {', '.join(b.board_id for b in boards)}",
              file=sys.stderr, flush=True)
        code = await StopSignals().wait()
        await gw.stop()
        return code

    return asyncio.run(serve())
