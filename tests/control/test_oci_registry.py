"""Actors pushed to and pulled from a real OCI registry (Debian's docker-registry)."""

from __future__ import annotations

import hashlib
import json

import pytest
from support.controlrig import OciRegistry
from support.latticerig import signed_actor

from edgegate.registries import ActorFetcher, OciClient, OciReference, RegistryError
from edgegate.registries.fetch import RegistrySettings, parse_credentials
from edgegate.registries.oci import ACTOR_CONFIG_TYPE, OCI_MANIFEST, Credential
from edgegate.registries.references import ReferenceError


def test_a_pushed_actor_has_wasmclouds_media_types_and_pulls_back_byte_for_byte(
        oci_registry, actors):
    registry = oci_registry()
    module, _ = signed_actor(actors["echo"], "echo")
    client = OciClient(insecure=[registry.host])
    ref = OciReference.parse(f"{registry.host}/edge/echo:0.1.0")
    digest = client.push(ref, module)
    status, headers, body = registry.get("edge/echo/manifests/0.1.0", accept=OCI_MANIFEST)
    assert status == 200
    assert headers["Docker-Content-Digest"] == digest
    manifest = json.loads(body)
    assert manifest["config"]["mediaType"] == ACTOR_CONFIG_TYPE
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.module.wasm.content.layer.v1+wasm"]
    assert manifest["layers"][0]["digest"] == "sha256:" + hashlib.sha256(module).hexdigest()
    assert client.pull(ref).module == module
    by_digest = OciReference.parse(f"{registry.host}/edge/echo@{digest}")
    assert client.pull(by_digest).module == module


def test_basic_auth_needs_the_registries_credentials(oci_registry, actors):
    registry = oci_registry("edge", "s3cret")
    module, _ = signed_actor(actors["echo"], "echo")
    ref = OciReference.parse(f"{registry.host}/edge/echo:0.2.0")
    anonymous = OciClient(insecure=[registry.host])
    with pytest.raises(RegistryError, match="asks for a user name and password"):
        anonymous.push(ref, module)
    wrong = OciClient({registry.host: Credential("edge", "nope")}, insecure=[registry.host])
    with pytest.raises(RegistryError, match="refused the credentials"):
        wrong.push(ref, module)
    right = OciClient({registry.host: Credential("edge", "s3cret")}, insecure=[registry.host])
    right.push(ref, module)
    assert right.pull(ref).module == module
    with pytest.raises(RegistryError, match="asks for a user name and password"):
        anonymous.pull(ref)


def test_token_auth_gets_a_token_with_the_credentials_and_reuses_it(oci_registry, actors):
    registry = oci_registry("edge", "s3cret", tokens=True)
    module, _ = signed_actor(actors["echo"], "echo")
    ref = OciReference.parse(f"{registry.host}/edge/echo:0.4.0")
    with pytest.raises(RegistryError, match="token service of .* answered HTTP 401"):
        OciClient(insecure=[registry.host]).push(ref, module)
    client = OciClient({registry.host: Credential("edge", "s3cret")}, insecure=[registry.host])
    client.push(ref, module)
    assert client.pull(ref).module == module
    asked = registry.tokens.requests
    assert client.pull(ref).module == module
    assert registry.tokens.requests == asked  # the pull token is kept for the next pull
    status, _, _ = registry.get("edge/echo/manifests/0.4.0")
    assert status == 401  # the registry itself takes no basic auth in token mode


def test_pull_errors_name_the_reference(oci_registry, actors):
    registry = oci_registry()
    client = OciClient(insecure=[registry.host])
    missing = OciReference.parse(f"{registry.host}/edge/nothing:1.0.0")
    with pytest.raises(RegistryError, match=r"nothing:1.0.0: the registry has no such manifest"):
        client.pull(missing)
    # https to a plain-HTTP registry: the hint names the variable
    with pytest.raises(RegistryError, match="WASMCLOUD_OCI_ALLOWED_INSECURE"):
        OciClient().pull(missing)
    module, _ = signed_actor(actors["echo"], "echo")
    ref = OciReference.parse(f"{registry.host}/edge/echo:1.0.0")
    digest = client.push(ref, module)
    wrong = "sha256:" + "0" * 64
    assert wrong != digest
    with pytest.raises(RegistryError, match="no such manifest|manifest digest mismatch"):
        client.pull(OciReference.parse(f"{registry.host}/edge/echo@{wrong}"))


def test_an_artifact_without_a_wasm_layer_is_not_an_actor(oci_registry):
    registry = oci_registry()
    registry.raw_push("edge/notes", "1.0.0", [("text/plain", b"not a module")])
    ref = OciReference.parse(f"{registry.host}/edge/notes:1.0.0")
    with pytest.raises(RegistryError, match="has no wasm layer .* is it an actor"):
        OciClient(insecure=[registry.host]).pull(ref)


def test_a_layer_whose_bytes_changed_in_the_registry_is_refused(oci_registry, actors):
    registry = oci_registry()
    module, _ = signed_actor(actors["echo"], "echo")
    client = OciClient(insecure=[registry.host])
    ref = OciReference.parse(f"{registry.host}/edge/echo:0.5.0")
    client.push(ref, module)
    registry.corrupt_blob("sha256:" + hashlib.sha256(module).hexdigest(), b"x" * len(module))
    with pytest.raises(RegistryError, match="layer digest mismatch"):
        client.pull(ref)


def test_a_registry_that_is_not_there_is_one_line():
    ref = OciReference.parse("127.0.0.1:9/edge/echo:1.0.0")
    with pytest.raises(RegistryError, match=r"cannot reach registry 127.0.0.1:9"):
        OciClient(insecure=["127.0.0.1:9"], timeout=5).pull(ref)


@pytest.mark.parametrize("text, rule", [
    ("", "non-empty"),
    ("echo:0.1.0", "must begin with a registry host"),
    ("registry.example.com/Echo:1", "lower-case"),
    ("registry.example.com/echo:bad tag", "not a valid tag"),
    ("registry.example.com/echo@sha256:abc", "64 lower-case hex"),
])
def test_bad_references_say_which_rule(text, rule):
    with pytest.raises(ReferenceError, match=rule):
        OciReference.parse(text)


def test_a_reference_without_a_tag_means_latest():
    ref = OciReference.parse("localhost:5000/a/b")
    assert (ref.registry, ref.repository, ref.tag, ref.is_latest) == (
        "localhost:5000", "a/b", "latest", True)


async def test_latest_is_refused_unless_allowed_and_a_second_fetch_pulls_nothing(
        oci_registry, actors):
    registry: OciRegistry = oci_registry()
    module, _ = signed_actor(actors["echo"], "echo")
    client = OciClient(insecure=[registry.host])
    for tag in ("latest", "0.3.0"):
        client.push(OciReference.parse(f"{registry.host}/edge/echo:{tag}"), module)
    strict = ActorFetcher(RegistrySettings(insecure={registry.host}))
    with pytest.raises(RegistryError, match="WASMCLOUD_OCI_ALLOW_LATEST=true"):
        await strict.fetch(f"{registry.host}/edge/echo:latest")
    first = await strict.fetch(f"{registry.host}/edge/echo:0.3.0")
    assert first.pulled and first.module == module
    registry.stop()  # nothing to pull from now: the cache must serve
    second = await strict.fetch(f"{registry.host}/edge/echo:0.3.0")
    assert not second.pulled and second.module == module
    loose = ActorFetcher(RegistrySettings(allow_latest=True, insecure={registry.host}))
    with pytest.raises(RegistryError, match="cannot reach"):
        await loose.fetch(f"{registry.host}/edge/echo:latest")  # fetched afresh each time


async def test_file_references_load_only_when_allowed(tmp_path, actors):
    path = tmp_path / "echo.wasm"
    path.write_bytes(actors["echo"])
    refused = ActorFetcher(RegistrySettings())
    with pytest.raises(RegistryError, match="WASMCLOUD_ALLOW_FILE_LOAD=true"):
        await refused.fetch(f"file://{path}")
    allowed = ActorFetcher(RegistrySettings(allow_file_load=True))
    assert (await allowed.fetch(f"file://{path}")).module == actors["echo"]
    with pytest.raises(RegistryError, match="cannot read"):
        await allowed.fetch(f"file://{tmp_path / 'absent.wasm'}")


@pytest.mark.parametrize("body, rule", [
    ([], "JSON object"),
    ({"r.example.com": "x"}, "expected an object"),
    ({"r.example.com": {"username": 5}}, "username must be a string"),
    ({"r.example.com": {"registryType": "bindle"}}, "only oci"),
])
def test_bad_registry_credentials_say_which_rule(body, rule):
    with pytest.raises(ValueError, match=rule):
        parse_credentials(body)


def test_settings_from_the_otp_hosts_variables():
    settings = RegistrySettings.from_env({"WASMCLOUD_OCI_ALLOWED_INSECURE": "a:5000, b:5001",
                                          "WASMCLOUD_OCI_ALLOW_LATEST": "true"}, False)
    assert settings.insecure == {"a:5000", "b:5001"} and settings.allow_latest
    assert not RegistrySettings.from_env({}, False).allow_latest


