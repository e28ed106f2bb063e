"""Host manifests read and checked: every field, ${VAR} expansion, and each kind of mistake
refused with the entry and field it is in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgegate.manifests import ManifestError, load_manifest, parse_manifest
from edgegate.manifests.expand import expand
from edgegate.wascap import KeyPair

ACTOR = KeyPair.generate("module").public_key
PROVIDER = KeyPair.generate("provider").public_key

EVERY_FIELD = f"""\
labels:
  room: ${{ROOM}}
  floor: "${{FLOOR:1}}"
actors:
  - echo_s.wasm
  - registry.example.com:5000/greeter:0.1.0
capabilities:
  - image_ref: registry.example.com/httpserver:0.11.1
  - image_ref: registry.example.com/kv:0.1.0
    link_name: cache
links:
  - actor: ${{ECHO}}
    contract_id: wasmcloud:httpserver
    provider_id: {PROVIDER}
    values:
      PORT: "8080"
  - actor: {ACTOR}
    contract_id: wasmcloud:keyvalue
    provider_id: {PROVIDER}
    link_name: cache
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "echo_s.wasm").write_bytes(b"\0asm")
    return tmp_path


def test_a_yaml_manifest_with_every_field_reads_as_written(folder):
    path = folder / "host.yaml"
    path.write_text(EVERY_FIELD)
    manifest = load_manifest(path, {"ROOM": "kitchen", "ECHO": ACTOR})
    assert manifest.labels == {"room": "kitchen", "floor": "1"}
    assert [a.ref for a in manifest.actors] == [(folder / "echo_s.wasm").as_uri(),
                                                "registry.example.com:5000/greeter:0.1.0"]
    assert manifest.actors[0].path == folder / "echo_s.wasm"
    assert [(c.image_ref, c.link_name) for c in manifest.capabilities] == [
        ("registry.example.com/httpserver:0.11.1", "default"),
        ("registry.example.com/kv:0.1.0", "cache")]
    first, second = manifest.links
    assert (first.actor, first.contract_id, first.provider_id, first.link_name,
            first.values) == (ACTOR, "wasmcloud:httpserver", PROVIDER, "default",
                              {"PORT": "8080"})
    assert (second.link_name, second.values) == ("cache", {})


def test_a_json_manifest_reads_the_same(folder):
    path = folder / "host.json"
    path.write_text(json.dumps({"labels": {"room": "hall"}, "actors": ["echo_s.wasm"],
                                "links": [{"actor": ACTOR, "contract_id": "wasmcloud:x",
                                           "provider_id": PROVIDER}]}))
    manifest = load_manifest(path, {})
    assert manifest.labels == {"room": "hall"}
    assert manifest.actors[0].path == folder / "echo_s.wasm"
    assert manifest.links[0].link_name == "default"


def test_expansion_follows_the_seed_host():
    env = {"SET": "/tmp"}
    assert expand("echo $SET", env) == "echo $SET"
    assert expand("echo ${SET}", env) == "echo /tmp"
    assert expand("echo ${UNSET}", env) == "echo ${UNSET}"
    assert expand("echo ${SET:/etc}", env) == "echo /tmp"
    assert expand("echo ${UNSET:/etc}", env) == "echo /etc"
    assert expand("${UNSET:}x", env) == "x"


def test_a_value_from_the_environment_cannot_break_the_document(folder):
    path = folder / "host.yaml"
    path.write_text("labels:\n  note: ${NOTE}\n")
    assert load_manifest(path, {"NOTE": 'a "quoted": value'}).labels == {
        "note": 'a "quoted": value'}


LINK = {"actor": ACTOR, "contract_id": "wasmcloud:x", "provider_id": PROVIDER}


@pytest.mark.parametrize("document, words", [
    ([1, 2], "must be a map with labels, actors, capabilities, links, got a list"),
    ({"actor": ["x"]}, "actor: unknown field (known: labels, actors, capabilities, links)"),
    ({"labels": ["a"]}, "labels: must be a map of strings, got a list"),
    ({"labels": {"version": 2}}, "labels.version: must be a string, got 2 (quote it)"),
    ({"actors": "echo.wasm"}, "actors: must be a list, got a string"),
    ({"actors": [""]}, "actors[0]: must be a non-empty string"),
    ({"actors": [7]}, "actors[0]: must be a non-empty string, got 7"),
    ({"actors": ["./missing.wasm"]}, "actors[0]: './missing.wasm': no such file"),
    ({"actors": ["file:///nowhere/x.wasm"]}, "actors[0]: 'file:///nowhere/x.wasm': no such"),
    ({"actors": ["Echo:Latest"]}, "actors[0]: not a file, and not an OCI reference"),
    ({"capabilities": [{"link_name": "x"}]}, "capabilities[0].image_ref: is missing"),
    ({"capabilities": ["r.example.com/p:1"]}, "capabilities[0]: must be a map with image_ref"),
    ({"capabilities": [{"image_ref": "r.example.com/p:1", "linkname": "x"}]},
     "capabilities[0].linkname: unknown field (known: image_ref, link_name)"),
    ({"capabilities": [{"image_ref": "r.example.com/p:1", "link_name": 3}]},
     "capabilities[0].link_name: must be a non-empty string, got 3"),
    ({"links": [{**LINK, "actor": "echo"}]},
     "links[0].actor: must be an actor's public key (M…, 56 characters), got 'echo'"),
    ({"links": [{**LINK, "actor": PROVIDER}]}, "links[0].actor: must be an actor's public key"),
    ({"links": [{**LINK, "provider_id": ACTOR}]},
     "links[0].provider_id: must be a provider's public key (V…, 56 characters)"),
    ({"links": [{k: v for k, v in LINK.items() if k != "contract_id"}]},
     "links[0].contract_id: is missing"),
    ({"links": [{**LINK, "values": {"PORT": 8080}}]},
     "links[0].values.PORT: must be a string, got 8080"),
    ({"links": [LINK, {**LINK, "values": {"a": "b"}}]},
     "links[1]: the same link as links[0] (actor, contract_id and link_name)"),
])
def test_a_malformed_manifest_is_refused_naming_the_field(tmp_path, document, words):
    with pytest.raises(ManifestError) as refused:
        parse_manifest(document, {}, tmp_path, "manifest host.yaml")
    message = str(refused.value)
    assert message.startswith("manifest host.yaml: ") and words in message
    assert "\n" not in message


@pytest.mark.parametrize("name, text, words", [
    ("host.yaml", "actors: [a\nlabels: {}\n", "not YAML at line"),
    ("host.json", "actors:\n  - x\n", "not JSON"),
    ("host.yaml", "", "it is empty"),
    ("host.yml", "just text", "must be a map with labels"),
])
def test_a_file_that_is_not_a_manifest_is_refused(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ManifestError, match=words) as refused:
        load_manifest(path, {})
    assert str(refused.value).startswith(f"manifest {path}: ")


def test_a_missing_manifest_file_says_so(tmp_path):
    with pytest.raises(ManifestError, match="cannot read it"):
        load_manifest(tmp_path / "absent.yaml", {})


def test_relative_actor_paths_are_the_manifest_folders_not_the_callers(folder, monkeypatch,
                                                                     tmp_path_factory):
    path = folder / "host.yaml"
    path.write_text("actors: [echo_s.wasm]\n")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert load_manifest(Path(path), {}).actors[0].path == folder / "echo_s.wasm"
