"""The host data line a native provider reads: every field of spec §8, credentials from a
.creds file, configuration as the OTP host passes it, and what cannot be built named."""

from __future__ import annotations

import base64
import json

import pytest

from edgegate.config import LatticeConfig
from edgegate.providers.hostdata import (
    HostDataError,
    config_json,
    credentials,
    host_data,
    stdin_line,
)

SPEC_FIELDS = {"host_id", "lattice_rpc_prefix", "link_name", "provider_key", "instance_id",
               "lattice_rpc_user_jwt", "lattice_rpc_user_seed", "lattice_rpc_url",
               "lattice_rpc_tls", "env_values", "link_definitions", "config_json",
               "default_rpc_timeout_ms", "cluster_issuers", "invocation_seed", "js_domain",
               "structured_logging", "log_level"}
CREDS = """-----BEGIN NATS USER JWT-----
eyJ0eXAiOiJKV1QifQ.payload.sig
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
SUAEXAMPLESEED
------END USER NKEY SEED------
"""


def test_the_line_is_base64_json_with_every_field_of_the_spec():
    config = LatticeConfig(lattice="kitchen", rpc_timeout_ms=1500)
    data = host_data(config, "NHOST", "VPROV", "default", "i-1",
                     [{"actor_id": "MA", "provider_id": "VPROV"}], '{"a": 1}')
    line = stdin_line(data)
    assert line.endswith(b"\n") and b"\n" not in line[:-1]
    decoded = json.loads(base64.b64decode(line))
    assert set(decoded) == SPEC_FIELDS
    assert decoded["lattice_rpc_prefix"] == "kitchen"
    assert decoded["invocation_seed"] == config.cluster.seed
    assert decoded["cluster_issuers"] == [config.cluster.public_key]
    assert decoded["default_rpc_timeout_ms"] == 1500
    assert decoded["link_definitions"] == [{"actor_id": "MA", "provider_id": "VPROV"}]


def test_credentials_come_from_a_creds_file(tmp_path):
    path = tmp_path / "user.creds"
    path.write_text(CREDS)
    assert credentials(str(path)) == ("eyJ0eXAiOiJKV1QifQ.payload.sig", "SUAEXAMPLESEED")
    assert credentials(None) == ("", "")


def test_unusable_credentials_and_configuration_are_named(tmp_path):
    path = tmp_path / "odd.creds"
    path.write_text("just text")
    with pytest.raises(HostDataError, match="no user JWT and seed blocks"):
        credentials(str(path))
    with pytest.raises(HostDataError, match="configuration must be a string or an object"):
        config_json(7)
    assert config_json({"port": 8080}) == '{"port": 8080}'
    assert config_json("raw text") == "raw text" and config_json(None) is None


def test_the_health_interval_is_a_setting_and_a_bad_one_is_named():
    from edgegate.config import ConfigError
    assert LatticeConfig.from_env({}).provider_health_s == 30.0  # the OTP host's
    assert LatticeConfig.from_env({"EDGEHOST_PROVIDER_HEALTH_MS": "250"}).provider_health_s \
        == 0.25
    with pytest.raises(ConfigError, match="EDGEHOST_PROVIDER_HEALTH_MS: 'soon' is not a whole "
                                          "number of milliseconds"):
        LatticeConfig.from_env({"EDGEHOST_PROVIDER_HEALTH_MS": "soon"})
