"""A rig for the control-interface tests: a real registry, a plain NATS control client, events.

The control client here is plain nats-py and JSON, on purpose: it shares nothing with the
gateway's code, so the tests check the wire shapes a wasmCloud client sees.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nats
import pytest

REGISTRY_BINARY = "docker-registry"
REGISTRY_START_SECONDS = 15.0
CTL = "wasmbus.ctl.default"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OciRegistry:
    """Debian's docker-registry (the CNCF distribution registry) on a loopback port."""

    def __init__(self, folder: Path, user: str | None = None, password: str | None = None,
                 tokens: bool = False):
        self.folder = folder
        self.user, self.password = user, password
        self.tokens: TokenService | None = None
        if tokens:
            folder.mkdir(parents=True, exist_ok=True)
            self.tokens = TokenService(folder, user or "", password or "")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OciRegistry:
        binary = shutil.which(REGISTRY_BINARY)
        if binary is None:
            pytest.fail("docker-registry is not installed: apt-get install -y docker-registry "
                        "(.ci/run does it)", pytrace=False)
        self.folder.mkdir(parents=True, exist_ok=True)
        auth = ""
        if self.tokens is not None:
            auth = self.tokens.start().registry_config()
        elif self.user:
            import bcrypt
            hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(4)).decode()
            (self.folder / "htpasswd").write_text(f"{self.user}:{hashed}\n")
            auth = (f"auth:\n  htpasswd:\n    realm: edgehost-test\n"
                    f"    path: {self.folder / 'htpasswd'}\n")
        config = self.folder / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {self.folder / 'storage'}\n"
            f"http:\n  addr: {self.host}\n{auth}")
        log = (self.folder / "registry.log").open("wb")
        self.process = subprocess.Popen([binary, "serve", str(config)], stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + REGISTRY_START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).close()
                return self
            except urllib.error.HTTPError:  # 401 with auth: it is up
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("docker-registry did not start: "
                                         + (self.folder / "registry.log").read_text()[-2000:])
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.tokens is not None:
            self.tokens.stop()

    def raw_push(self, repository: str, tag: str, layers: list[tuple[str, bytes]]) -> None:
        """An artifact put with the plain distribution API (no code of the gateway's):
        each (media type, bytes) a layer, an empty config."""
        import hashlib

        def upload(data: bytes) -> dict[str, Any]:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            status, headers, _ = self.send("POST", f"{repository}/blobs/uploads/")
            assert status == 202, status
            location = headers["Location"]
            separator = "&" if "?" in location else "?"
            status, _, body = self.send("PUT", f"{location}{separator}digest={digest}", data,
                                        "application/octet-stream")
            assert status == 201, (status, body)
            return {"digest": digest, "size": len(data)}

        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               **upload(b"{}")},
                    "layers": [{"mediaType": kind, **upload(data)} for kind, data in layers]}
        status, _, body = self.send("PUT", f"{repository}/manifests/{tag}",
                                    json.dumps(manifest).encode(),
                                    "application/vnd.oci.image.manifest.v1+json")
        assert status == 201, (status, body)

    def corrupt_blob(self, digest: str, data: bytes) -> None:
        """Replace a stored blob's bytes behind the registry's back (bit rot, a bad mirror)."""
        hexdigest = digest.split(":", 1)[1]
        path = (self.folder / "storage" / "docker" / "registry" / "v2" / "blobs" / "sha256"
                / hexdigest[:2] / hexdigest / "data")
        assert path.exists(), path
        path.write_bytes(data)

    def get(self, path: str, accept: str = "") -> tuple[int, dict[str, str], bytes]:
        return self.send("GET", path, accept=accept)

    def send(self, method: str, path: str, body: bytes | None = None, content_type: str = "",
             accept: str = "") -> tuple[int, dict[str, str], bytes]:
        """A raw request on the registry's API, with this registry's credentials if any."""
        url = path if path.startswith("http") else f"http://{self.host}/v2/{path}"
        if path.startswith("/"):
            url = f"http://{self.host}{path}"
        request = urllib.request.Request(url, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if accept:
            request.add_header("Accept", accept)
        if self.user:
            import base64
            pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {pair}")
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


async def ctl_request(nc, subject: str, body: Any = None, timeout: float = 20.0) -> dict:
    """One control request (`body` as JSON, or raw bytes) and its JSON answer."""
    data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    reply = await nc.request(f"{CTL}.{subject}", data, timeout=timeout)
    return json.loads(reply.data)


async def ctl_gather(nc, subject: str, body: Any = None, wait: float = 2.0) -> list[dict]:
    """Every answer within `wait` seconds (pings, auctions)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    await nc.publish(f"{CTL}.{subject}", data, reply=inbox)
    answers = []
    try:
        while True:
            msg = await sub.next_msg(timeout=wait)
            if msg.data:  # not NATS's empty "no responders" status
                answers.append(json.loads(msg.data))
    except nats.errors.TimeoutError:
        pass
    await sub.unsubscribe()
    return answers


class EventLog:
    """The lattice's CloudEvents as they come, to wait for one by type and data."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._sub = None

    async def start(self, nc, lattice: str = "default") -> EventLog:
        async def keep(msg) -> None:
            self.events.append(json.loads(msg.data))
        self._sub = await nc.subscribe(f"wasmbus.evt.{lattice}", cb=keep)
        return self

    async def wait(self, name: str, timeout: float = 20.0, **data: Any) -> dict:
        """The first event `com.wasmcloud.lattice.{name}` whose data has the given values."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["type"] == f"com.wasmcloud.lattice.{name}" and all(
                        event["data"].get(k) == v for k, v in data.items()):
                    return event
            if time.monotonic() > deadline:
                seen = sorted({e["type"].rsplit(".", 1)[-1] for e in self.events})
                raise AssertionError(f"no {name} event with {data} within {timeout:g} s "
                                     f"(seen: {', '.join(seen)})")
            await asyncio.sleep(0.05)

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events if e["type"] == f"com.wasmcloud.lattice.{name}"]


class TokenService:
    """The Docker token protocol's auth server for a registry in token mode: checks a basic
    user and password, and grants what the scope asks as a JWT signed with a key whose
    certificate the registry trusts (its `rootcertbundle`)."""

    SERVICE = "edgehost-test-registry"
    ISSUER = "edgehost-test-tokens"

    def __init__(self, folder: Path, user: str, password: str):
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.user, self.password = user, password
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edgehost test tokens")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.bundle = folder / "tokens.pem"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        import base64
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.requests = 0
        self._server = None

    def start(self) -> TokenService:
        import base64
        import http.server
        import threading
        import urllib.parse

        import jwt

        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                service.requests += 1
                pair = base64.b64encode(f"{service.user}:{service.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {pair}":
                    self.send_response(401)
                    self.end_headers()
                    return
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                access = []
                for scope in query.get("scope", []):
                    kind, name, actions = scope.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                now = int(time.time())
                token = jwt.encode({"iss": service.ISSUER, "sub": service.user,
                                    "aud": service.SERVICE, "exp": now + 300, "nbf": now - 10,
                                    "iat": now, "jti": str(now) + str(service.requests),
                                    "access": access}, service.key, algorithm="ES256",
                                   headers={"x5c": service.x5c})
                body = json.dumps({"token": token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def registry_config(self) -> str:
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {self.SERVICE}\n"
                f"    issuer: {self.ISSUER}\n    rootcertbundle: {self.bundle}\n")


@pytest.fixture
def oci_registry(tmp_path):
    """Start Debian's docker-registry: `oci_registry()` open, `oci_registry(user, password)`
    with basic auth, `oci_registry(user, password, tokens=True)` with token auth; each on its
    own loopback port and storage; stopped afterwards."""
    started: list[OciRegistry] = []

    def start(user: str | None = None, password: str | None = None,
              tokens: bool = False) -> OciRegistry:
        registry = OciRegistry(tmp_path / f"registry{len(started)}", user, password,
                               tokens).start()
        started.append(registry)
        return registry

    try:
        yield start
    finally:
        for registry in started:
            registry.stop()
