"""`edgehost gateway`: serve the boards of a registry as hosts on a NATS lattice."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from edgecli.commands import fail
from edgecli.keycmds import keys_dir
from edgecli.stopsignals import StopSignals
from edgegate.config import ConfigError, LatticeConfig
from edgegate.devices.registry import RegistryError, load_registry
from edgegate.gateway import Gateway, GatewayError
from edgegate.vhost.host import BoardHost


def lattice_config(args: argparse.Namespace) -> LatticeConfig:
    """The lattice settings from the environment and the flags; ConfigError when bad."""
    config = LatticeConfig.from_env(nats_url=args.nats, keys_dir=keys_dir())
    config.credentials = args.creds or config.credentials
    config.tls_ca, config.tls_cert, config.tls_key = args.tls_ca, args.tls_cert, args.tls_key
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    for path in filter(None, (config.credentials, args.tls_ca, args.tls_cert, args.tls_key)):
        if not Path(path).is_file():
            raise ConfigError(f"{path}: no such file")
    return config


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
        gw = Gateway(config, boards)
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
