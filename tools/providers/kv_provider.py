#!/usr/bin/env python3
"""A test capability provider: wasmcloud:keyvalue on an in-memory map, over plain nats-py.

It is what a native provider of the wasmbus-rpc era does, written here on its own (none of the
gateway's code): read the host data line from stdin, subscribe its subjects, check every
invocation (every anti-forgery check of the spec), serve the linked actors, answer health, take
linkdefs, and leave on a shutdown request or when its host closes stdin.

Configuration (`config_json`, a JSON object): `{"health": false}` leaves health unanswered;
`{"answer_shutdown": false}` leaves on a shutdown request without answering it, as wasmCloud's
Go provider SDK does.
Bad host data is one line on stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import sys
import threading
import time
import uuid

import msgpack
import nacl.exceptions
import nacl.signing
import nats

CONTRACT = "wasmcloud:keyvalue"
NEEDED = ("host_id", "lattice_rpc_prefix", "link_name", "provider_key", "lattice_rpc_url",
          "cluster_issuers")


class BadHostData(ValueError):
    pass


class Forged(ValueError):
    pass


def read_host_data(line: bytes) -> dict:
    try:
        data = json.loads(base64.b64decode(line.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise BadHostData("the host data line is not base64 of a JSON object") from None
    if not isinstance(data, dict):
        raise BadHostData("the host data is not a JSON object")
    for name in NEEDED:
        if not data.get(name):
            raise BadHostData(f"the host data has no {name}")
    config = data.get("config_json")
    if config:
        try:
            data["config"] = json.loads(config)
        except ValueError:
            raise BadHostData(f"config_json is not JSON: {config[:40]!r}") from None
        if not isinstance(data["config"], dict):
            raise BadHostData("config_json is not a JSON object")
    else:
        data["config"] = {}
    return data


# -- anti-forgery, as a wasmbus-rpc provider checks it


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify_key(public_key: str) -> nacl.signing.VerifyKey:
    raw = base64.b32decode(public_key + "=" * (-len(public_key) % 8))
    return nacl.signing.VerifyKey(raw[1:33])


def entity_url(entity: dict) -> str:
    key = entity.get("public_key", "")
    if key.upper().startswith("M"):
        return f"wasmbus://{key}"
    contract = entity.get("contract_id", "").replace(":", "/").replace(" ", "_").lower()
    link = entity.get("link_name", "").replace(" ", "_").lower()
    return f"wasmbus://{contract}/{link}/{key}"


def check_invocation(inv: dict, issuers: set[str]) -> None:
    """Raise Forged naming the first check the invocation fails."""
    parts = str(inv.get("encoded_claims") or "").split(".")
    if len(parts) != 3:  # 1
        raise Forged("the claims are not a three-part token")
    try:
        header, claims = json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (binascii.Error, ValueError):
        raise Forged("the token does not decode") from None
    if header.get("alg") != "Ed25519" or header.get("typ") != "jwt":  # 2
        raise Forged("the token's header is not typ jwt, alg Ed25519")
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not issuer or not subject:  # 3
        raise Forged("the token has no issuer or no subject")
    try:  # 4
        _verify_key(issuer).verify(f"{parts[0]}.{parts[1]}".encode(), signature)
    except (nacl.exceptions.BadSignatureError, ValueError, binascii.Error):
        raise Forged("the token's signature does not verify") from None
    now = time.time()
    if claims.get("exp") and now >= claims["exp"] or claims.get("nbf") and now < claims["nbf"]:
        raise Forged("the token is expired or not valid yet")  # 5
    wascap = claims.get("wascap")
    if not isinstance(wascap, dict):  # 6
        raise Forged("the token has no wascap claims")
    origin_url = entity_url(inv.get("origin") or {})
    target_url = entity_url(inv.get("target") or {}) + "/" + inv.get("operation", "")
    msg = bytes(inv.get("msg") or b"")
    if msg:  # 7; an empty (or chunked) msg is not hashed, as the OTP host has it
        digest = hashlib.sha256(origin_url.encode() + target_url.encode()
                                + inv.get("operation", "").encode() + msg).hexdigest().upper()
        if digest != wascap.get("hash"):
            raise Forged("the invocation hash does not match")
    if issuer not in issuers:  # 8
        raise Forged(f"issuer {issuer} is not a cluster issuer here")
    if wascap.get("target_url") != target_url or wascap.get("origin_url") != origin_url:  # 9
        raise Forged("the claimed target or origin URL does not match the envelope")


class KeyValueProvider:
    def __init__(self, data: dict):
        self.data = data
        self.store: dict[str, str] = {}
        self.links: dict[str, dict] = {}  # actor key -> link definition
        self.instance_id = data.get("instance_id") or str(uuid.uuid4())
        self.issuers = set(data["cluster_issuers"])
        self.done = asyncio.Event()

    def subject(self, *parts: str) -> str:
        d = self.data
        return ".".join(("wasmbus.rpc", d["lattice_rpc_prefix"], d["provider_key"],
                         d["link_name"], *parts))

    async def run(self) -> None:
        for ld in self.data.get("link_definitions") or []:
            self.links[ld["actor_id"]] = ld
        options = {}
        if self.data.get("lattice_rpc_user_jwt"):
            seed = self.data["lattice_rpc_user_seed"].encode()
            options["user_jwt_cb"] = lambda: self.data["lattice_rpc_user_jwt"].encode()
            options["signature_cb"] = lambda nonce: base64.b64encode(
                nacl.signing.SigningKey(_seed_bytes(seed)).sign(nonce.encode()).signature)
        nc = await nats.connect(self.data["lattice_rpc_url"], **options)
        self.nc = nc
        await nc.subscribe(self.subject(), queue="rpc", cb=self.on_invocation)
        if self.data["config"].get("health", True):
            await nc.subscribe(self.subject("health"), cb=self.on_health)
        await nc.subscribe(self.subject("linkdefs", "put"), cb=self.on_link_put)
        await nc.subscribe(self.subject("linkdefs", "del"), cb=self.on_link_del)
        await nc.subscribe(self.subject("shutdown"), cb=self.on_shutdown)
        await nc.flush()
        print(f"kv provider {self.data['provider_key']} serving link "
              f"{self.data['link_name']}", flush=True)
        await self.done.wait()
        await nc.drain()

    async def on_health(self, msg) -> None:
        await msg.respond(msgpack.packb({"healthy": True, "message": ""}))

    async def on_link_put(self, msg) -> None:
        ld = msgpack.unpackb(msg.data)
        self.links[ld["actor_id"]] = ld

    async def on_link_del(self, msg) -> None:
        self.links.pop(msgpack.unpackb(msg.data).get("actor_id"), None)

    async def on_shutdown(self, msg) -> None:
        if self.data["config"].get("answer_shutdown", True):
            await msg.respond(b"shutting down")
        self.done.set()

    async def on_invocation(self, msg) -> None:
        answer = {"invocation_id": "", "instance_id": self.instance_id, "msg": b""}
        try:
            inv = msgpack.unpackb(msg.data)
            answer["invocation_id"] = inv.get("id", "")
            check_invocation(inv, self.issuers)
        except Forged as exc:
            answer["error"] = f"Anti-forgery check failed: {exc}"
        except Exception as exc:
            answer["error"] = f"unreadable invocation: {exc}"
        else:
            try:
                answer["msg"] = self.serve(inv)
            except ValueError as exc:
                answer["error"] = str(exc)
        answer["content_length"] = len(answer["msg"])
        await msg.respond(msgpack.packb(answer))

    def serve(self, inv: dict) -> bytes:
        actor = (inv.get("origin") or {}).get("public_key", "")
        if actor not in self.links:
            raise ValueError(f"actor {actor} is not linked to provider "
                             f"{self.data['provider_key']}")
        op = inv.get("operation")
        args = msgpack.unpackb(bytes(inv.get("msg") or b"")) if inv.get("msg") else None
        if op == "KeyValue.Set":
            if not isinstance(args, dict) or not isinstance(args.get("key"), str):
                raise ValueError("KeyValue.Set needs a map with key and value")
            self.store[args["key"]] = str(args.get("value", ""))
            return b""
        if not isinstance(args, str):
            raise ValueError(f"{op} needs a key (a msgpack string)")
        if op == "KeyValue.Get":
            return msgpack.packb({"value": self.store.get(args, ""), "exists": args in self.store})
        if op == "KeyValue.Contains":
            return msgpack.packb(args in self.store)
        if op == "KeyValue.Del":
            return msgpack.packb(self.store.pop(args, None) is not None)
        raise ValueError(f"{CONTRACT} has no operation {op}")


def _seed_bytes(seed: bytes) -> bytes:
    raw = base64.b32decode(seed + b"=" * (-len(seed) % 8))
    return raw[2:34]


def watch_stdin(loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    """The host keeps our stdin open; its end means the host is gone, and so do we."""
    def wait() -> None:
        # os.read, not the buffered stdin: a thread blocked holding that buffer's lock makes
        # the interpreter abort at exit ("could not acquire lock ... at interpreter shutdown")
        while os.read(sys.stdin.fileno(), 4096):
            pass
        loop.call_soon_threadsafe(done.set)
    threading.Thread(target=wait, daemon=True).start()


async def main() -> int:
    line = sys.stdin.buffer.readline()
    try:
        data = read_host_data(line)
    except BadHostData as exc:
        print(f"kv provider: bad host data: {exc}", file=sys.stderr, flush=True)
        return 2
    provider = KeyValueProvider(data)
    watch_stdin(asyncio.get_running_loop(), provider.done)
    try:
        await provider.run()
    except Exception as exc:  # NATS not reachable, above all
        print(f"kv provider: {exc or type(exc).__name__}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
