"""The lattice settings a command takes from the environment and its flags."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgegate.config import ConfigError, LatticeConfig, keys_dir


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
