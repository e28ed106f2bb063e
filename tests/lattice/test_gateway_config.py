"""wasmCloud's variables read as the OTP host reads them."""

from __future__ import annotations

import pytest

from edgegate.config import ConfigError, LatticeConfig
from edgegate.wascap import KeyPair


def test_the_variables_set_the_lattice_servers_labels_and_trust():
    other = KeyPair.generate("cluster").public_key
    seed = KeyPair.generate("cluster")
    config = LatticeConfig.from_env({
        "WASMCLOUD_LATTICE_PREFIX": "prod", "WASMCLOUD_CLUSTER_SEED": seed.seed,
        "WASMCLOUD_CLUSTER_ISSUERS": f"{other}, ", "WASMCLOUD_RPC_HOST": "10.0.0.5",
        "WASMCLOUD_CTL_PORT": "4333", "WASMCLOUD_JS_DOMAIN": "core",
        "WASMCLOUD_RPC_TIMEOUT_MS": "750", "HOST_Room": "lab", "HOST_": "ignored",
    }, nats_url="nats://127.0.0.1:4222")
    assert config.lattice == "prod"
    assert config.rpc_url == "nats://10.0.0.5:4222"
    assert config.ctl_url == "nats://127.0.0.1:4333"
    assert config.js_domain == "core" and config.rpc_timeout_ms == 750
    assert config.labels == {"room": "lab"}
    assert config.issuers == {seed.public_key, other}
    assert config.seed_note == ""


@pytest.mark.parametrize(("env", "message"), [
    ({"WASMCLOUD_RPC_PORT": "70000"}, "WASMCLOUD_RPC_PORT: '70000' is not a port number"),
    ({"WASMCLOUD_LATTICE_PREFIX": "a b"}, "WASMCLOUD_LATTICE_PREFIX: 'a b' cannot be part"),
    ({"WASMCLOUD_RPC_TIMEOUT_MS": "soon"}, "WASMCLOUD_RPC_TIMEOUT_MS: 'soon' is not a whole"),
    ({"WASMCLOUD_CLUSTER_ISSUERS": "Nabc"}, "WASMCLOUD_CLUSTER_ISSUERS: 'Nabc' is not a clus"),
    ({"WASMCLOUD_CLUSTER_SEED": KeyPair.generate("account").seed},
     "WASMCLOUD_CLUSTER_SEED: this is a seed of kind account, not a cluster seed"),
])
def test_a_bad_variable_is_one_error_naming_it(env, message):
    with pytest.raises(ConfigError, match="^" + message):
        LatticeConfig.from_env(env)


def test_without_a_seed_one_is_made_once_and_kept(tmp_path):
    first = LatticeConfig.from_env({}, keys_dir=tmp_path)
    again = LatticeConfig.from_env({}, keys_dir=tmp_path)
    assert "wrote its seed to" in first.seed_note and again.seed_note == ""
    assert first.cluster.public_key == again.cluster.public_key
