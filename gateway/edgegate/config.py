"""A gateway's lattice settings: flags and wasmCloud's own environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edgegate.wascap import InvalidKeyError, KeyPair

DEFAULT_NATS = "nats://127.0.0.1:4222"
DEFAULT_RPC_TIMEOUT_MS = 2000  # the OTP host's default for WASMCLOUD_RPC_TIMEOUT_MS
HEARTBEAT_SECONDS = 30
PROVIDER_HEALTH_SECONDS = 30.0  # the OTP host's interval between provider health checks
CLUSTER_SEED_FILE = "cluster.nk"
KEYS_DIR_ENV = "EDGEHOST_KEYS_DIR"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and the rule it broke."""


@dataclass
class LatticeConfig:
    """Where the lattice is and who this gateway's hosts are on it.

    The variables mean what they mean on the OTP host: `WASMCLOUD_RPC_HOST`/`_PORT` and
    `WASMCLOUD_CTL_HOST`/`_PORT` name the NATS servers for invocations and for the control
    interface (both default to `--nats`), `HOST_*` variables become host labels.
    """

    rpc_url: str = DEFAULT_NATS
    ctl_url: str = DEFAULT_NATS
    lattice: str = "default"
    ctl_prefix: str = "wasmbus.ctl"
    cluster: KeyPair = field(default_factory=lambda: KeyPair.generate("cluster"))
    cluster_issuers: list[str] = field(default_factory=list)
    js_domain: str | None = None
    rpc_timeout_ms: int = DEFAULT_RPC_TIMEOUT_MS
    labels: dict[str, str] = field(default_factory=dict)
    allow_file_load: bool = False
    credentials: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    seed_note: str = ""  # said once when a cluster seed was generated
    provider_health_s: float = PROVIDER_HEALTH_SECONDS

    @property
    def issuers(self) -> set[str]:
        """The cluster issuers trusted here, always including this gateway's own."""
        return {self.cluster.public_key, *self.cluster_issuers}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, nats_url: str | None = None,
                 keys_dir: Path | None = None) -> LatticeConfig:
        """Settings from the environment; `nats_url` is the --nats flag (None: not given)."""
        env = os.environ if env is None else env
        base = nats_url or env.get("WASMCLOUD_NATS_URL") or DEFAULT_NATS
        config = cls(
            rpc_url=_server_url(env, "RPC", base),
            ctl_url=_server_url(env, "CTL", base),
            lattice=_name(env, "WASMCLOUD_LATTICE_PREFIX", "default"),
            ctl_prefix=_name(env, "WASMCLOUD_CTL_TOPIC_PREFIX", "wasmbus.ctl"),
            js_domain=env.get("WASMCLOUD_JS_DOMAIN") or None,
            rpc_timeout_ms=_positive(env, "WASMCLOUD_RPC_TIMEOUT_MS", DEFAULT_RPC_TIMEOUT_MS),
            labels=host_labels(env),
            allow_file_load=env.get("WASMCLOUD_ALLOW_FILE_LOAD", "").lower() == "true",
            credentials=env.get("WASMCLOUD_RPC_CREDSFILE") or None,
            provider_health_s=_positive(env, "EDGEHOST_PROVIDER_HEALTH_MS",
                                        int(PROVIDER_HEALTH_SECONDS * 1000)) / 1000,
        )
        config.cluster, config.seed_note = _cluster_key(env, keys_dir)
        issuers = env.get("WASMCLOUD_CLUSTER_ISSUERS", "")
        for issuer in filter(None, (part.strip() for part in issuers.split(","))):
            if not (issuer.startswith("C") and len(issuer) == 56):
                raise ConfigError(f"WASMCLOUD_CLUSTER_ISSUERS: {issuer!r} is not a cluster "
                                  f"public key (56 characters starting with C)")
            config.cluster_issuers.append(issuer)
        return config


def keys_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where generated seeds are kept: $EDGEHOST_KEYS_DIR, else ~/.edgehost/keys."""
    configured = (os.environ if env is None else env).get(KEYS_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".edgehost" / "keys"


def host_labels(env: Mapping[str, str]) -> dict[str, str]:
    """`HOST_*` variables as labels: prefix dropped, name lower-cased (as the OTP host does)."""
    return {name[5:].lower(): value for name, value in env.items()
            if name.startswith("HOST_") and len(name) > 5}


def _server_url(env: Mapping[str, str], which: str, default: str) -> str:
    host = env.get(f"WASMCLOUD_{which}_HOST")
    port = env.get(f"WASMCLOUD_{which}_PORT")
    if not host and not port:
        return default
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(f"WASMCLOUD_{which}_PORT: {port!r} is not a port number (1-65535)")
    scheme, _, rest = default.partition("://")
    default_host, _, default_port = rest.rpartition("@")[-1].partition(":")
    return f"{scheme}://{host or default_host}:{port or default_port or '4222'}"


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if any(c in value for c in " *>\t\r\n") or value.startswith(".") or value.endswith("."):
        raise ConfigError(f"{name}: {value!r} cannot be part of a NATS subject "
                          f"(no spaces, '*', '>' or leading/trailing dots)")
    return value


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) == 0:
        raise ConfigError(f"{name}: {value!r} is not a whole number of milliseconds above 0")
    return int(value)


def _cluster_key(env: Mapping[str, str], keys_dir: Path | None) -> tuple[KeyPair, str]:
    """WASMCLOUD_CLUSTER_SEED, else the seed kept in the keys folder, else a new one saved
    there (so that the gateways of one machine share a cluster; the note says where)."""
    seed = env.get("WASMCLOUD_CLUSTER_SEED")
    if seed:
        try:
            key = KeyPair.from_seed(seed.strip())
        except InvalidKeyError as exc:
            raise ConfigError(f"WASMCLOUD_CLUSTER_SEED: {exc}") from None
        if key.kind != "cluster":
            raise ConfigError(f"WASMCLOUD_CLUSTER_SEED: this is a seed of kind {key.kind}, "
                              f"not a cluster seed (SC…)")
        return key, ""
    if keys_dir is None:
        return KeyPair.generate("cluster"), "a new cluster seed was generated (kept in memory)"
    path = keys_dir / CLUSTER_SEED_FILE
    if path.exists():
        try:
            return KeyPair.from_seed(path.read_text().strip()), ""
        except (OSError, InvalidKeyError) as exc:
            raise ConfigError(f"cluster seed file {path}: {exc}") from None
    key = KeyPair.generate("cluster")
    keys_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.seed + "\n")
    return key, (f"no WASMCLOUD_CLUSTER_SEED given: generated cluster {key.public_key} and "
                 f"wrote its seed to {path}")
