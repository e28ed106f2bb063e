"""`edgehost up --manifest` and `edgehost ctl apply` bring a board host to a declared state,
each entry reported; a bad manifest is refused before anything starts or changes."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from support.up import EDGEHOST, UpProcess, free_port

from edgegate.registries import OciClient, OciReference
from edgegate.wascap import ActorMetadata, KeyPair, sign_module

pytestmark = pytest.mark.nats

PROVIDER = KeyPair.generate("provider").public_key


def signed(module: bytes, name: str, subject: KeyPair) -> bytes:
    return sign_module(module, KeyPair.generate("account"), subject, ActorMetadata(name))


class Up(UpProcess):
    """`edgehost up` on an embedded nats-server of its own port."""

    def __init__(self, env: dict[str, str], *args: str):
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        super().__init__(env, "--nats-port", str(self.port), *args)


def edgehost(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([EDGEHOST, *argv], env=env, capture_output=True, text=True,
                          timeout=90, stdin=subprocess.DEVNULL)


def ctl(up: Up, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return edgehost("ctl", *argv, "--nats", up.url, env=env)


def status_of(stdout: str) -> dict[str, str]:
    """{entry: status} from the printed outcome lines."""
    out = {}
    for line in stdout.splitlines():
        for status in ("applied", "already there", "failed"):
            if line.startswith(status + " "):
                entry = line[len(status):].strip().split(": ", 1)[0]
                out[entry] = status
    return out


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASMCLOUD_")}
    env.update(EDGEHOST_STATE_DIR=str(tmp_path / "state"), EDGEHOST_KEYS_DIR=str(tmp_path / "k"),
               ROOM="kitchen")
    return env


@pytest.fixture
def declared(tmp_path, actors, oci_registry, env):
    """A manifest with every field: labels, an actor from a file and one from a registry, a
    capability, and a link with a name and values."""
    registry = oci_registry()
    echo, shout = KeyPair.generate("module"), KeyPair.generate("module")
    (tmp_path / "echo_s.wasm").write_bytes(signed(actors["echo"], "echo", echo))
    ref = f"{registry.host}/shout:0.1.0"
    OciClient(insecure=[registry.host]).push(OciReference.parse(ref),
                                             signed(actors["shout"], "shout", shout))
    env["WASMCLOUD_OCI_ALLOWED_INSECURE"] = registry.host
    env["ECHO_KEY"] = echo.public_key
    manifest = tmp_path / "host.yaml"
    manifest.write_text(f"""\
labels:
  room: ${{ROOM}}
  floor: ${{FLOOR:3}}
actors:
  - echo_s.wasm
  - {ref}
capabilities:
  - image_ref: {registry.host}/httpserver:0.1.0
    link_name: web
links:
  - actor: ${{ECHO_KEY}}
    contract_id: wasmcloud:httpserver
    provider_id: {PROVIDER}
    link_name: web
    values:
      PORT: "8080"
""")
    return manifest, echo.public_key, shout.public_key, ref


def test_up_applies_a_manifest_and_ctl_apply_finds_it_in_place(declared, env, tmp_path,
                                                               actors):
    manifest, echo, shout, ref = declared
    up = Up(env, "--manifest", str(manifest))
    try:
        lines = up.summary()
        printed = "\n".join(lines)
        link = f"link {echo} -> {PROVIDER} (wasmcloud:httpserver, web)"
        capability = f"capability {ref.rsplit('/', 1)[0]}/httpserver:0.1.0 (link web)"
        assert status_of(printed) == {
            "labels floor=3, room=kitchen": "applied", "actor echo_s.wasm": "applied",
            f"actor {ref}": "applied", capability: "failed", link: "applied"}
        assert f"applied       actor echo_s.wasm: {echo}" in lines
        assert f"applied       actor {ref}: {shout}" in lines
        assert any(line.startswith(f"failed        {capability}: ") and
                   "httpserver:0.1.0" in line.split(": ", 1)[1] for line in lines)
        assert any(line.endswith("4 of 5 entries in place, 1 failed") for line in lines)

        hosts = json.loads(ok(ctl(up, "get", "hosts", "--json", env=env)))
        assert len(hosts) == 1 and hosts[0]["labels"]["room"] == "kitchen"
        assert hosts[0]["labels"]["floor"] == "3"
        inventory = json.loads(ok(ctl(up, "get", "inventory", hosts[0]["id"], "--json",
                                      env=env)))
        refs = {a["id"]: a["image_ref"] for a in inventory["actors"]}
        assert (refs[echo], refs[shout]) == ((tmp_path / "echo_s.wasm").as_uri(), ref)
        assert len(refs) == 3  # and the demo actor
        links = json.loads(ok(ctl(up, "get", "links", "--json", env=env)))
        assert [(ld["actor_id"], ld["link_name"], ld["values"]) for ld in links] == [
            (echo, "web", {"PORT": "8080"})]

        # the same manifest through the control interface: everything is there already
        again = ctl(up, "apply", str(manifest), env=env)
        assert again.returncode == 1, again.stderr  # the capability still fails
        assert status_of(again.stdout) == {
            "labels floor=3, room=kitchen": "already there",
            "actor echo_s.wasm": "already there", f"actor {ref}": "already there",
            capability: "failed", link: "already there"}

        # a new actor and other labels, to one host named by its id, as JSON
        greeter = tmp_path / "more" / "greeter_s.wasm"
        greeter.parent.mkdir()
        greeter.write_bytes(signed(actors["echo"], "greeter", KeyPair.generate("module")))
        more = tmp_path / "more" / "more.json"
        more.write_text(json.dumps({"labels": {"room": "hall"}, "actors": ["greeter_s.wasm"]}))
        done = ctl(up, "apply", str(more), "--host-id", hosts[0]["id"], "--json", env=env)
        assert done.returncode == 1
        report = json.loads(done.stdout)
        assert report["host_id"] == hosts[0]["id"]
        (labels, actor) = report["outcomes"]
        assert labels["status"] == "failed" and "other values for room" in labels["detail"]
        assert actor["status"] == "applied" and actor["detail"].startswith("M")

        wrong = ctl(up, "apply", str(more), "--host-id", "N" + "Q" * 55, env=env)
        assert wrong.returncode == 1
        assert wrong.stderr.strip().startswith(f"edgehost: host {'N' + 'Q' * 55}: no host on "
                                                   f"lattice 'default' has an id that starts so")
    finally:
        up.interrupt()


def test_a_bad_manifest_is_refused_before_anything_starts(tmp_path, env):
    bad = tmp_path / "bad.yaml"
    bad.write_text("actors:\n  - ./nowhere.wasm\n")
    port = free_port()
    done = edgehost("up", "--no-status", "--nats-port", str(port), "--manifest", str(bad),
                    env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"edgehost: manifest {bad}: actors[0]: './nowhere.wasm': "
                                   f"no such file ({tmp_path / 'nowhere.wasm'})")
    assert not (tmp_path / "state" / "nats").exists()  # no nats-server was started
    # ctl apply checks it before it connects: no lattice is needed to be told
    done = edgehost("ctl", "apply", str(bad), "--nats", f"nats://127.0.0.1:{port}", env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().startswith(f"edgehost: manifest {bad}: actors[0]: ")


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ctl_apply_on_a_lattice_without_hosts_says_so(nats_server, tmp_path, env):
    manifest = tmp_path / "host.json"
    manifest.write_text(json.dumps({"labels": {"room": "x"}}))
    done = edgehost("ctl", "apply", str(manifest), "--nats", nats_server.url, "--timeout", "0.5",
                    env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == "edgehost: no hosts answered on lattice 'default' within 0.5 s"
