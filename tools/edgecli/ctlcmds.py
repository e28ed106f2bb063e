"""`edgehost ctl ...`: a control-interface client like `wash ctl`, for any wasmCloud lattice."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgecli.ctlapply import apply_to_host, show_outcomes
from edgecli.ctlclient import CtlClient, CtlError, start_outcome
from edgecli.latticecalls import CallError, calling_key, invoke_actor, resolve
from edgecli.latticeoptions import lattice_config
from edgecli.natsurl import NatsUrlError, check_nats_url
from edgecli.output import fail, note, report, working
from edgecli.payloads import request_payload, show_answer
from edgegate.config import ConfigError, LatticeConfig
from edgegate.control.auctions import labels_match
from edgegate.gateway import GatewayError, connect_nats
from edgegate.manifests import ManifestError, load_manifest
from edgegate.registries import OciReference
from edgegate.registries.references import ReferenceError
from edgegate.wascap import InvalidKeyError, KeyPair
from edgegate.wascap.keys import public_key_kind

Work = Callable[[CtlClient, argparse.Namespace], Awaitable[int]]


def _run(args: argparse.Namespace, work: Work) -> int:
    """Connect to the lattice the flags and variables name, run `work`; errors in one line."""
    try:
        if not args.timeout > 0:
            raise ConfigError(f"--timeout {args.timeout:g}: must be a number of seconds above 0")
        config = _config(args)
    except ConfigError as exc:
        return fail(str(exc))

    async def session() -> int:
        closing = False
        try:
            await check_nats_url(config.ctl_url, args.timeout)
            nc = await connect_nats(config.ctl_url, config, "edgehost ctl", lambda: closing)
        except (GatewayError, NatsUrlError) as exc:
            return fail(str(exc))
        nc.options["max_reconnect_attempts"] = 0  # a client gives up, a gateway waits
        try:
            return await work(CtlClient(nc, config.lattice, config.ctl_prefix, args.timeout),
                              args)
        except CtlError as exc:
            return fail(str(exc))
        finally:
            closing = True
            await nc.close()

    return asyncio.run(session())


def _config(args: argparse.Namespace) -> LatticeConfig:
    """The gateway's settings and flags; a client signs nothing but `call`, which reads the
    cluster seed itself, so no seed is made (or written) for it here."""
    with _environment(WASMCLOUD_CLUSTER_SEED=os.environ.get("WASMCLOUD_CLUSTER_SEED")
                      or KeyPair.generate("cluster").seed,
                      WASMCLOUD_LATTICE_PREFIX=args.lattice
                      or os.environ.get("WASMCLOUD_LATTICE_PREFIX")):
        return lattice_config(args)


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is not None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- output


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())


def _show(args: argparse.Namespace, value: Any, rows: list[list[str]], header: list[str],
          empty: str) -> int:
    if args.json:
        print(json.dumps(value, indent=2))
    elif not rows:
        print(empty)
    else:
        _table(rows, header)
    return 0


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CtlError(f"{what} {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


# -- get


async def _get_hosts(ctl: CtlClient, args: argparse.Namespace) -> int:
    hosts = sorted(await ctl.gather("ping.hosts"), key=lambda h: h.get("id", ""))
    rows = [[h.get("id", ""), h.get("friendly_name", ""), h.get("uptime_human", ""),
             ",".join(f"{k}={v}" for k, v in sorted((h.get("labels") or {}).items())
                      if not k.startswith("hostcore."))] for h in hosts]
    return _show(args, hosts, rows, ["HOST ID", "FRIENDLY NAME", "UPTIME", "LABELS"],
                 f"no hosts answered on lattice {ctl.lattice!r} within {ctl.timeout:g} s")


async def _get_inventory(ctl: CtlClient, args: argparse.Namespace) -> int:
    args.host_id = await ctl.host_id(args.host_id)
    inv = await ctl.request("get", args.host_id, "inv")
    if isinstance(inv, dict) and "accepted" in inv:
        raise CtlError(f"inventory of {args.host_id}: {inv.get('error')}")
    rows = [[a["id"], a.get("name", ""), a.get("image_ref", ""),
             str(len(a.get("instances") or []))] for a in inv.get("actors", [])]
    if not rows and inv.get("providers") and not args.json:
        # a board host always has its board's own providers: say the actors are none first
        print(f"host {args.host_id} runs no actors")
    rows += [[p["id"], p.get("name", ""), p.get("image_ref", ""), f"provider {p.get('link_name')}"]
             for p in inv.get("providers", [])]
    return _show(args, inv, rows, ["ID", "NAME", "IMAGE REF", "INSTANCES"],
                 f"host {args.host_id} runs no actors and no providers")


async def _get_claims(ctl: CtlClient, args: argparse.Namespace) -> int:
    claims = (await ctl.request("get", "claims")).get("claims", [])
    rows = [[c.get("sub", ""), c.get("name", ""), c.get("call_alias", ""), c.get("caps", ""),
             c.get("rev", "")] for c in claims]
    return _show(args, claims, rows, ["SUBJECT", "NAME", "CALL ALIAS", "CAPABILITIES", "REV"],
                 "no claims on this lattice")


async def _get_links(ctl: CtlClient, args: argparse.Namespace) -> int:
    links = (await ctl.request("get", "links")).get("links", [])
    rows = [[ld.get("actor_id", ""), ld.get("provider_id", ""), ld.get("contract_id", ""),
             ld.get("link_name", ""), ",".join(f"{k}={v}" for k, v in
                                               sorted((ld.get("values") or {}).items()))]
            for ld in links]
    return _show(args, links, rows, ["ACTOR", "PROVIDER", "CONTRACT", "LINK NAME", "VALUES"],
                 "no links on this lattice")


# -- actors


async def _start_actor(ctl: CtlClient, args: argparse.Namespace) -> int:
    if args.count < 1:
        raise CtlError(f"--count {args.count}: must be at least 1")
    _check_reference(args.actor_ref, "actor")
    host_id = (await ctl.host_id(args.host_id) if args.host_id else
               await _auction_winner(ctl, args, "actor", {"actor_ref": args.actor_ref}))
    events = await ctl.events()
    await ctl.command("cmd", host_id, "la", body={"actor_ref": args.actor_ref,
                                                  "count": args.count, "host_id": host_id})
    with working(f"host {host_id[:12]}… fetches {args.actor_ref} and starts it on its board"):
        outcome = await start_outcome(events, host_id, args.actor_ref, ctl.timeout)
    if args.json:
        print(json.dumps(outcome))
    if outcome["type"].endswith("actor_start_failed"):
        return fail(f"start actor {args.actor_ref} on {host_id}: {outcome['data']['error']}")
    if not args.json:
        print(f"actor {outcome['data']['public_key']} started on host {host_id}")
    return 0


def _check_reference(ref: str, kind: str) -> None:
    """What a host would refuse without a word in the auction: a path that is not a
    reference, a file:// reference to no file, an OCI reference that does not parse."""
    if ref.startswith("file://"):
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(ref).path))
        if not path.is_file():
            raise CtlError(f"start {kind} {ref}: there is no file {path} (a host reads a "
                           f"file:// reference from its own disk: give an absolute path, "
                           f"file:///abs/path)")
        return
    if "://" not in ref and (Path(ref).exists() or ref.endswith((".wasm", ".par", ".gz"))):
        raise CtlError(f"start {kind} {ref}: a path is not a reference; give "
                       f"file://{Path(ref).resolve()} (for a host that allows file:// "
                       f"loads) or an OCI reference such as registry.example.com/echo:0.1.0")
    try:
        OciReference.parse(ref)
    except ReferenceError as exc:
        raise CtlError(f"start {kind} {ref}: {exc}") from None


def _labels(values: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(values.items()))


async def _auction_winner(ctl: CtlClient, args: argparse.Namespace, kind: str,
                          asked: dict[str, Any]) -> str:
    """The host that bids first in an actor or provider auction; CtlError when none does."""
    constraints = _pairs(args.constraint, "--constraint")
    bids = await ctl.gather("auction", kind, body={**asked, "constraints": constraints})
    bids = [b for b in bids if isinstance(b, dict) and b.get("host_id")]
    if not bids:
        ref = asked.get("actor_ref") or asked.get("provider_ref")
        why = await _why_no_bid(ctl, str(ref), constraints)
        raise CtlError(f"start {kind} {ref}: no host bid in the auction ({why})")
    return str(bids[0]["host_id"])


async def _why_no_bid(ctl: CtlClient, ref: str, constraints: dict[str, str]) -> str:
    """What can be known from outside of why no host bid: none there, none with the labels
    asked, a reference that hosts refuse by default; else where to look."""
    hosts = [h for h in await ctl.gather("ping.hosts") if isinstance(h, dict)]
    if not hosts:
        return f"no host answers on lattice {ctl.lattice!r}"
    matching = [h for h in hosts if labels_match(h.get("labels") or {}, constraints)]
    if not matching:
        seen = "; ".join(f"{str(h.get('id'))[:12]}…: " + _labels(
            {k: (h.get("labels") or {}).get(k, "(unset)") for k in constraints}) for h in hosts)
        return f"no host has the labels {_labels(constraints)}; the hosts have {seen}"
    matched = (f"constraints {_labels(constraints)}, " if constraints else "") + \
        f"{len(matching)} host(s) match"
    if ref.startswith("file://"):
        return (f"{matched}: a host loads file:// references only when it runs with "
                f"WASMCLOUD_ALLOW_FILE_LOAD=true, as `edgehost up` does")
    if OciReference.parse(ref).is_latest:
        return (f"{matched}: {ref} means the tag latest, which hosts refuse unless they run "
                f"with WASMCLOUD_OCI_ALLOW_LATEST=true; give a version tag")
    return (f"{matched}: they could not fetch {ref}, or their boards have no room for it; "
            f"the gateway's log says which")


async def _actor_key(ctl: CtlClient, actor: str) -> str:
    """An actor's key from its key or its call alias, as `board remove` takes either."""
    try:
        return await resolve(ctl.nc, ctl.lattice, None, actor)
    except CallError as exc:
        raise CtlError(str(exc)) from None


async def _stop_actor(ctl: CtlClient, args: argparse.Namespace) -> int:
    host_id = await ctl.host_id(args.host_id)
    actor = await _actor_key(ctl, args.actor_id)
    await ctl.command("cmd", host_id, "sa", body={"actor_ref": actor, "count": args.count})
    report(args, f"actor {actor} stopped on host {host_id}",
           {"result": "stopped", "actor": actor, "host_id": host_id})
    return 0


async def _scale_actor(ctl: CtlClient, args: argparse.Namespace) -> int:
    host_id = await ctl.host_id(args.host_id)
    actor = await _actor_key(ctl, args.actor_id)
    await ctl.command("cmd", host_id, "scale",
                      body={"actor_id": actor, "actor_ref": args.actor_ref,
                            "count": args.count, "host_id": host_id})
    report(args, f"actor {actor} on host {host_id}: scaling to {args.count}",
           {"result": "scaling", "actor": actor, "host_id": host_id, "count": args.count})
    return 0


async def _update_actor(ctl: CtlClient, args: argparse.Namespace) -> int:
    host_id = await ctl.host_id(args.host_id)
    actor = await _actor_key(ctl, args.actor_id)
    ctl.timeout = max(ctl.timeout, 60.0)  # the ack comes after the swap on the board
    with working(f"host {host_id[:12]}… fetches {args.new_actor_ref} and swaps it in"):
        await ctl.command("cmd", host_id, "upd",
                          body={"actor_id": actor, "new_actor_ref": args.new_actor_ref,
                                "host_id": host_id})
    report(args, f"actor {actor} on host {host_id} updated to {args.new_actor_ref}",
           {"result": "updated", "actor": actor, "host_id": host_id,
            "actor_ref": args.new_actor_ref})
    return 0


# -- providers


async def _start_provider(ctl: CtlClient, args: argparse.Namespace) -> int:
    ref, link_name = args.provider_ref, args.link_name
    _check_reference(ref, "provider")
    host_id = (await ctl.host_id(args.host_id) if args.host_id else await _auction_winner(
        ctl, args, "provider", {"provider_ref": ref, "link_name": link_name}))
    events = await ctl.events()
    body: dict[str, Any] = {"provider_ref": ref, "link_name": link_name, "host_id": host_id}
    if args.config_json is not None:
        body["configuration"] = args.config_json
    await ctl.command("cmd", host_id, "lp", body=body)
    with working(f"host {host_id[:12]}… fetches {ref} and starts it"):
        outcome = await start_outcome(events, host_id, ref, ctl.timeout, "provider_started",
                                      "provider_start_failed", "provider_ref")
    if args.json:
        print(json.dumps(outcome))
    if outcome["type"].endswith("provider_start_failed"):
        return fail(f"start provider {ref} on {host_id}: {outcome['data']['error']}")
    if not args.json:
        print(f"provider {outcome['data']['public_key']} ({link_name}) started on host "
              f"{host_id}")
    return 0


async def _stop_provider(ctl: CtlClient, args: argparse.Namespace) -> int:
    host_id = await ctl.host_id(args.host_id)
    await ctl.command("cmd", host_id, "sp",
                      body={"provider_ref": args.provider_id, "link_name": args.link_name})
    report(args, f"provider {args.provider_id} ({args.link_name}) stopping on host {host_id}",
           {"result": "stopping", "provider": args.provider_id, "link_name": args.link_name,
            "host_id": host_id})
    return 0


# -- links


def _provider_key(text: str) -> str:
    try:
        kind = public_key_kind(text)
    except InvalidKeyError as exc:
        raise CtlError(f"provider {text}: not a provider's public key ({exc})") from None
    if kind != "provider":
        raise CtlError(f"provider {text}: this is the key of a {kind}, not of a provider "
                       f"(V…)")
    return text


async def _link_put(ctl: CtlClient, args: argparse.Namespace) -> int:
    provider = _provider_key(args.provider_id)
    values = _pairs(args.values, "link value")
    actor = await _actor_key(ctl, args.actor_id)
    await ctl.command("linkdefs", "put", body={
        "actor_id": actor, "provider_id": provider, "contract_id": args.contract_id,
        "link_name": args.link_name, "values": values})
    report(args, f"link {actor} -> {provider} ({args.contract_id}, {args.link_name}) put",
           {"result": "put", "actor_id": actor, "provider_id": provider,
            "contract_id": args.contract_id, "link_name": args.link_name, "values": values})
    return 0


async def _link_del(ctl: CtlClient, args: argparse.Namespace) -> int:
    actor = await _actor_key(ctl, args.actor_id)
    await ctl.command("linkdefs", "del", body={
        "actor_id": actor, "contract_id": args.contract_id, "link_name": args.link_name})
    report(args, f"link of {actor} for {args.contract_id} ({args.link_name}) deleted",
           {"result": "deleted", "actor_id": actor, "contract_id": args.contract_id,
            "link_name": args.link_name})
    return 0


async def _registry_put(ctl: CtlClient, args: argparse.Namespace) -> int:
    if not (args.user or args.token):
        raise CtlError("registry put: give --user and --password, or --token")
    credential = {"username": args.user, "password": args.password, "registryType": "oci"}
    if args.token:
        credential["token"] = args.token
    await ctl.command("registries", "put", body={args.registry: credential})
    report(args, f"credentials for {args.registry} given to the lattice's hosts",
           {"result": "put", "registry": args.registry})
    return 0


# -- call


async def _call(ctl: CtlClient, args: argparse.Namespace) -> int:
    try:
        payload = request_payload(args)
    except ValueError as exc:
        raise CtlError(str(exc)) from None
    try:
        answer = await invoke_actor(ctl.nc, ctl.lattice, None, calling_key(), args.actor_id,
                                    args.operation, payload, args.timeout)
    except CallError as exc:
        raise CtlError(f"call: {exc}") from None
    try:
        show_answer(args, args.actor_id, answer)
    except ValueError as exc:
        raise CtlError(f"actor {args.actor_id} {args.operation}: {exc}") from None
    return 0


# -- watch

EVENT_DETAILS = ("public_key", "image_ref", "actor_ref", "provider_ref", "link_name",
                 "contract_id", "actor_id", "provider_id", "error")


def _event_line(event: dict[str, Any]) -> str:
    """One line per CloudEvent: its time, kind and host, and the data a person looks for."""
    kind = str(event.get("type", "?")).rsplit(".", 1)[-1]
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    details = " ".join(f"{name}={data[name]}" for name in EVENT_DETAILS if data.get(name))
    when = str(event.get("time", ""))[11:19] or "--:--:--"
    return f"{when}  {kind:<24} {str(event.get('source', '?'))[:12]}…  {details}".rstrip()


async def _watch(ctl: CtlClient, args: argparse.Namespace) -> int:
    """The lattice's events as they come, until Ctrl-C: a line each, or each as JSON."""
    events = await ctl.events()
    note(f"following the events of lattice {ctl.lattice!r}; Ctrl-C stops")
    while True:
        event = await events.get()
        print(json.dumps(event) if args.json else _event_line(event), flush=True)


# -- apply


def apply_manifest(args: argparse.Namespace) -> int:
    """`ctl apply FILE`: the manifest is checked whole before anything is sent."""
    try:
        manifest = load_manifest(Path(args.manifest), os.environ)
    except ManifestError as exc:
        return fail(str(exc))

    async def work(ctl: CtlClient, args: argparse.Namespace) -> int:
        with working(f"applying {args.manifest}"):
            host_id, outcomes = await apply_to_host(ctl, manifest, args.host_id)
        return show_outcomes(outcomes, host_id, args.json)

    return _run(args, work)


def _command(work: Work) -> Callable[[argparse.Namespace], int]:
    return lambda args: _run(args, work)


get_hosts = _command(_get_hosts)
get_inventory = _command(_get_inventory)
get_claims = _command(_get_claims)
get_links = _command(_get_links)
start_actor = _command(_start_actor)
stop_actor = _command(_stop_actor)
scale_actor = _command(_scale_actor)
update_actor = _command(_update_actor)
start_provider = _command(_start_provider)
stop_provider = _command(_stop_provider)
link_put = _command(_link_put)
link_del = _command(_link_del)
registry_put = _command(_registry_put)
call = _command(_call)
watch = _command(_watch)
