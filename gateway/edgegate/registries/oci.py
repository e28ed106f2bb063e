"""A small client of the OCI distribution API: pull and push wasmCloud actor modules.

Written on the standard library rather than on a client library: the OCI client on the
package index (oras) is synchronous on top of `requests` and is built around pulling artifacts
into files; what wasmCloud's actors need — one manifest, one wasm layer, basic or token auth,
every digest checked — is a handful of HTTP requests, which this module makes (in a thread:
see `ActorFetcher`).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edgegate.registries.references import OciReference

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
# wasmCloud's actor layers: wash pushes the second; the first is the newer, generic one
WASM_LAYER_TYPES = ("application/vnd.wasm.content.layer.v1+wasm",
                    "application/vnd.module.wasm.content.layer.v1+wasm")
PUSHED_LAYER_TYPE = WASM_LAYER_TYPES[1]
PROVIDER_LAYER_TYPES = ("application/vnd.wasmcloud.provider.archive.layer.v1+par",)
LAYERS = {"actor": ("wasm layer", WASM_LAYER_TYPES),
          "provider": ("provider archive layer", PROVIDER_LAYER_TYPES)}
ACTOR_CONFIG_TYPE = "application/vnd.wasmcloud.actor.archive.config"
MAX_MODULE_BYTES = 32 * 1024 * 1024  # far above what a board holds; bounds a hostile registry
MAX_MANIFEST_BYTES = 1024 * 1024
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """A pull or push that failed; the message names the reference and what went wrong."""


@dataclass(frozen=True)
class Credential:
    """What `registries.put` gives for one registry host."""

    username: str = ""
    password: str = ""
    token: str = ""


@dataclass
class Pulled:
    module: bytes
    manifest_digest: str
    layer_digest: str


@dataclass
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class OciClient:
    """Pulls and pushes actor modules; `credentials` by registry host (`host[:port]`),
    `insecure` the registries reached over plain HTTP."""

    def __init__(self, credentials: Mapping[str, Credential] | None = None,
                 insecure: Iterable[str] = (), timeout: float = 30.0):
        self.credentials: dict[str, Credential] = dict(credentials or {})
        self.insecure = set(insecure)
        self.timeout = timeout
        self._tokens: dict[tuple[str, str], str] = {}

    def use_credentials(self, credentials: Mapping[str, Credential]) -> None:
        """Replace the credentials map (and forget tokens got with the old one)."""
        self.credentials = dict(credentials)
        self._tokens.clear()

    # -- pull

    def pull(self, ref: OciReference, kind: str = "actor") -> Pulled:
        """The wasm module (or, for a provider, the archive) of `ref`, its manifest and layer
        digests checked."""
        layer_name, layer_types = LAYERS[kind]
        response = self._request(ref, "GET", "manifests/" + ref.reference,
                                 headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"},
                                 limit=MAX_MANIFEST_BYTES)
        if response.status == 404:
            raise RegistryError(f"{ref}: the registry has no such manifest")
        if response.status != 200:
            raise RegistryError(f"{ref}: the registry answered HTTP {response.status} to the "
                                f"manifest request{_detail(response)}")
        digest = sha256_digest(response.body)
        if ref.digest and digest != ref.digest:
            raise RegistryError(f"{ref}: manifest digest mismatch: got {digest}")
        try:
            manifest = json.loads(response.body)
            layers = manifest["layers"]
            layer = next(item for item in layers if item.get("mediaType") in layer_types)
            layer_digest = str(layer["digest"])
        except StopIteration:
            raise RegistryError(f"{ref}: the manifest has no {layer_name} (media type one of "
                                f"{', '.join(layer_types)}); is it an {kind}?") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryError(f"{ref}: the manifest is not an OCI image manifest") from None
        module = self._blob(ref, layer_digest)
        return Pulled(module, digest, layer_digest)

    def _blob(self, ref: OciReference, digest: str) -> bytes:
        response = self._request(ref, "GET", "blobs/" + digest, limit=MAX_MODULE_BYTES)
        if response.status != 200:
            raise RegistryError(f"{ref}: the registry answered HTTP {response.status} to the "
                                f"layer {digest}{_detail(response)}")
        got = sha256_digest(response.body)
        if got != digest:
            raise RegistryError(f"{ref}: layer digest mismatch: manifest says {digest}, the "
                                f"registry sent {got}")
        return response.body

    # -- push

    def push(self, ref: OciReference, module: bytes, config: bytes = b"{}") -> str:
        """Put `module` under `ref` (a tag) as a wasmCloud actor; returns the manifest digest."""
        if not ref.tag or ref.digest:
            raise RegistryError(f"{ref}: push needs a tag, not a digest")
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": ACTOR_CONFIG_TYPE, "digest": self._upload(ref, config),
                       "size": len(config)},
            "layers": [{"mediaType": PUSHED_LAYER_TYPE, "digest": self._upload(ref, module),
                        "size": len(module)}],
        }
        body = json.dumps(manifest).encode()
        response = self._request(ref, "PUT", "manifests/" + ref.tag, body,
                                 {"Content-Type": OCI_MANIFEST}, push=True)
        if response.status not in (200, 201):
            raise RegistryError(f"{ref}: the registry refused the manifest (HTTP "
                                f"{response.status}){_detail(response)}")
        return sha256_digest(body)

    def _upload(self, ref: OciReference, data: bytes) -> str:
        digest = sha256_digest(data)
        if self._request(ref, "HEAD", "blobs/" + digest, push=True).status == 200:
            return digest  # the registry holds it already
        started = self._request(ref, "POST", "blobs/uploads/", b"", push=True)
        location = started.headers.get("Location")
        if started.status != 202 or not location:
            raise RegistryError(f"{ref}: the registry did not start an upload (HTTP "
                                f"{started.status}){_detail(started)}")
        url = urllib.parse.urljoin(self._base(ref) + "/", location)
        url += ("&" if "?" in url else "?") + "digest=" + urllib.parse.quote(digest)
        done = self._request(ref, "PUT", url, data,
                             {"Content-Type": "application/octet-stream"}, push=True)
        if done.status != 201:
            raise RegistryError(f"{ref}: the registry refused blob {digest} (HTTP "
                                f"{done.status}){_detail(done)}")
        return digest

    # -- HTTP with the registry's authentication

    def _base(self, ref: OciReference) -> str:
        scheme = "http" if ref.registry in self.insecure else "https"
        return f"{scheme}://{ref.registry}/v2/{ref.repository}"

    def _request(self, ref: OciReference, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, push: bool = False,
                 limit: int = MAX_MANIFEST_BYTES) -> _Response:
        url = path if "://" in path else f"{self._base(ref)}/{path}"
        scope = f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"
        headers = dict(headers or {})
        auth = self._known_auth(ref.registry, scope)
        response = self._send(ref, method, url, body, {**headers, **auth}, limit)
        if response.status == 401:
            auth = self._answer(ref, response.headers.get("WWW-Authenticate", ""), scope)
            response = self._send(ref, method, url, body, {**headers, **auth}, limit)
            if response.status == 401:
                raise RegistryError(f"{ref}: registry {ref.registry} refused the credentials "
                                    f"(HTTP 401); give others with registries.put")
        if response.status == 403:
            raise RegistryError(f"{ref}: registry {ref.registry} denies {method} (HTTP 403)")
        return response

    def _known_auth(self, registry: str, scope: str) -> dict[str, str]:
        token = self._tokens.get((registry, scope))
        if token:
            return {"Authorization": f"Bearer {token}"}
        credential = self.credentials.get(registry)
        if credential is not None and credential.token:
            return {"Authorization": f"Bearer {credential.token}"}
        return {}

    def _answer(self, ref: OciReference, challenge: str, scope: str) -> dict[str, str]:
        """The Authorization header that answers a 401's challenge (basic or token auth)."""
        credential = self.credentials.get(ref.registry, Credential())
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if not credential.username:
                raise RegistryError(f"{ref}: registry {ref.registry} asks for a user name and "
                                    f"password; give them with registries.put")
            return {"Authorization": _basic(credential)}
        if scheme != "bearer":
            raise RegistryError(f"{ref}: registry {ref.registry} asks for authentication this "
                                f"host does not speak ({challenge or 'no challenge'})")
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{ref}: registry {ref.registry} gave a token realm that is not "
                                f"an HTTP address: {realm!r}")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        url = realm + "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        headers = {"Authorization": _basic(credential)} if credential.username else {}
        answer = self._send(ref, "GET", url, None, headers, MAX_MANIFEST_BYTES)
        if answer.status != 200:
            raise RegistryError(f"{ref}: the token service of {ref.registry} answered HTTP "
                                f"{answer.status}{_detail(answer)}")
        try:
            data = json.loads(answer.body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{ref}: the token service of {ref.registry} sent no token")
        self._tokens[(ref.registry, scope)] = token
        return {"Authorization": f"Bearer {token}"}

    def _send(self, ref: OciReference, method: str, url: str, body: bytes | None,
              headers: dict[str, str], limit: int) -> _Response:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return _Response(reply.status, reply.headers, _read(reply, limit, ref))
        except urllib.error.HTTPError as exc:
            return _Response(exc.code, exc.headers, _read(exc, MAX_MANIFEST_BYTES, ref))
        except urllib.error.URLError as exc:
            reason = exc.reason
            hint = ""
            if isinstance(reason, ssl.SSLError):
                hint = ("; if it serves plain HTTP, list it in WASMCLOUD_OCI_ALLOWED_INSECURE")
            raise RegistryError(f"{ref}: cannot reach registry {ref.registry} ({reason}){hint}")
        except (OSError, ValueError) as exc:  # time-outs, resets, malformed addresses
            raise RegistryError(f"{ref}: cannot reach registry {ref.registry} ({exc})")
        except http.client.HTTPException as exc:  # something else listens there (NATS: INFO …)
            raise RegistryError(f"{ref}: {ref.registry} is not an HTTP registry: it answered "
                                f"{str(exc)[:40]!r}")


def _basic(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _read(reply: Any, limit: int, ref: OciReference) -> bytes:
    data = reply.read(limit + 1) if reply.fp is not None else b""
    if len(data) > limit:
        raise RegistryError(f"{ref}: the registry sent more than {limit} bytes")
    return data


def _detail(response: _Response) -> str:
    """The first error the registry gave in its JSON body, for the error line."""
    try:
        errors = json.loads(response.body).get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""
