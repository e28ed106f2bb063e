"""`edgehost claims`: verify, inspect and sign wascap claims of modules and provider archives."""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgecli.output import fail, missing_folder, report
from edgecli.signing import ACCOUNT, BAD_INPUT, check_caps, load_key, signing_key
from edgegate.config import keys_dir
from edgegate.wascap import (
    ActorMetadata,
    InvalidKeyError,
    ProviderArchive,
    SignedModule,
    sign_module,
)
from edgegate.wascap.modules import strip_claims
from edgegate.wascap.tokens import utc_text
from edgemodule.wasmsections import WASM_MAGIC

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d+[smhdw])+")


def parse_duration(text: str, option: str) -> int:
    """Seconds in a human duration such as 30d, 12h, 90m, 45s or 1h30m."""
    if not _DURATION.fullmatch(text.strip().lower()):
        raise ValueError(f"{option} {text!r}: not a duration like 30d, 12h, 90m, 45s or 1w")
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", text.lower()))


def _ago(seconds: float) -> str:
    span = abs(seconds)
    if span < 2:
        return "just now"
    amount = f"{int(span)} seconds"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if span >= 1.5 * size:
            amount = f"{round(span / size)} {unit}s"
            break
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def human_time(timestamp: int | None, now: float, absent: str) -> str:
    if timestamp is None:
        return absent
    return f"{utc_text(timestamp)} ({_ago(timestamp - now)})"


def _is_archive(path: Path, head: bytes) -> bool:
    if head.startswith(WASM_MAGIC):
        return False
    return path.name.endswith((".par", ".par.gz")) or head.startswith(b"\x1f\x8b")


def open_claims(path: Path) -> SignedModule | ProviderArchive:
    """A signed module or a provider archive, by content (and name for archives)."""
    with path.open("rb") as stream:
        head = stream.read(4)
    if _is_archive(path, head):
        return ProviderArchive(path)
    return SignedModule(path.read_bytes())


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


# -- verify -------------------------------------------------------------------------------------


def claims_verify(args: argparse.Namespace) -> int:
    path = Path(args.module)
    try:
        found = open_claims(path)
        claims = found.verify()
    except BAD_INPUT as exc:
        return fail(f"claims verify {path}: {_reason(exc)}")
    if isinstance(found, ProviderArchive):
        what = "provider"
        detail = "targets " + ", ".join(c.target for c in found.target_checks())
    else:
        what, detail = "module", f"hash {found.hash}"
    report(args, f"{path}: claims valid: {what} {claims['sub']}, issuer {claims['iss']}, {detail}",
           {"path": str(path), "valid": True, "kind": what, "subject": claims["sub"],
            "issuer": claims["iss"]})
    return 0


# -- inspect ------------------------------------------------------------------------------------


def _meta(claims: dict[str, Any]) -> dict[str, Any]:
    meta = claims.get("wascap")
    return meta if isinstance(meta, dict) else {}


TIMES = (("issued", "iat", "unknown"), ("not_before", "nbf", "immediately"),
         ("expires", "exp", "never"))


def _times(claims: dict[str, Any]) -> dict[str, str | None]:
    """The claims' times as ISO 8601 in UTC, None where the claims have none (for JSON)."""
    def iso(timestamp: Any) -> str | None:
        if not isinstance(timestamp, int | float):
            return None
        return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")

    return {name: iso(claims.get(field)) for name, field, _ in TIMES}


def _human_times(summary: dict[str, Any], now: float) -> dict[str, str]:
    """The same times for a person: the date and how far it is from now."""
    claims = summary["claims"]
    return {name: human_time(claims.get(field), now, absent) for name, field, absent in TIMES}


def module_summary(module: SignedModule) -> dict[str, Any]:
    claims = module.claims
    meta = _meta(claims)
    return {
        "kind": "module",
        "subject": claims.get("sub"),
        "issuer": claims.get("iss"),
        "name": meta.get("name"),
        "capabilities": meta.get("caps") or [],
        "tags": meta.get("tags") or [],
        "revision": meta.get("rev"),
        "version": meta.get("ver"),
        "call_alias": meta.get("call_alias"),
        **_times(claims),
        "module_hash": module.hash,
        "claims_hash": module.claimed_hash,
        "hash_matches": module.hash == module.claimed_hash,
        "claims": claims,
    }


def provider_summary(archive: ProviderArchive) -> dict[str, Any]:
    claims = archive.claims
    meta = _meta(claims)
    checks = archive.target_checks()
    return {
        "kind": "provider",
        "subject": claims.get("sub"),
        "issuer": claims.get("iss"),
        "name": meta.get("name"),
        "contract_id": meta.get("capid"),
        "vendor": meta.get("vendor"),
        "revision": meta.get("rev"),
        "version": meta.get("ver"),
        **_times(claims),
        "targets": [
            {"target": c.target, "hash": c.actual, "claims_hash": c.claimed, "ok": c.ok}
            for c in checks
        ],
        "hashes_match": all(c.ok for c in checks),
        "claims": claims,
    }


def _show(label: str, value: Any) -> None:
    if isinstance(value, list):
        value = ", ".join(map(str, value)) or "(none)"
    elif value is None or value == "":
        value = "(not set)"
    print(f"{label:<14}{value}")


def _print_module(s: dict[str, Any]) -> None:
    for label, key in (("Module", "subject"), ("Account", "issuer"), ("Name", "name"),
                       ("Capabilities", "capabilities"), ("Tags", "tags"),
                       ("Revision", "revision"), ("Version", "version"),
                       ("Call alias", "call_alias"), ("Issued", "issued"),
                       ("Not before", "not_before"), ("Expires", "expires")):
        _show(label, s[key])
    verdict = "matches the claims" if s["hash_matches"] else f"the claims say {s['claims_hash']}"
    _show("Module hash", f"{s['module_hash']} ({verdict})")


def _print_provider(s: dict[str, Any]) -> None:
    for label, key in (("Provider", "subject"), ("Account", "issuer"), ("Name", "name"),
                       ("Contract id", "contract_id"), ("Vendor", "vendor"),
                       ("Revision", "revision"), ("Version", "version"), ("Issued", "issued"),
                       ("Not before", "not_before"), ("Expires", "expires")):
        _show(label, s[key])
    print("Targets")
    for t in s["targets"]:
        if t["ok"]:
            verdict = "ok"
        elif t["hash"] is None:
            verdict = "MISSING: no binary in the archive"
        elif t["claims_hash"] is None:
            verdict = "NOT IN CLAIMS"
        else:
            verdict = f"MISMATCH: the claims say {t['claims_hash']}"
        print(f"  {t['target']:<22}{t['hash'] or '-'}  {verdict}")


def claims_inspect(args: argparse.Namespace) -> int:
    path = Path(args.module)
    now = time.time()
    try:
        found = open_claims(path)
        if isinstance(found, ProviderArchive):
            summary = provider_summary(found)
        else:
            summary = module_summary(found)
    except BAD_INPUT as exc:
        return fail(f"claims inspect {path}: {_reason(exc)}")
    if args.json:
        print(json.dumps(summary))
    elif summary["kind"] == "provider":
        _print_provider({**summary, **_human_times(summary, now)})
    else:
        _print_module({**summary, **_human_times(summary, now)})
    return 0 if summary.get("hash_matches", summary.get("hashes_match")) else 1


# -- sign ---------------------------------------------------------------------------------------


def _stored_subject(public_key: str):
    """The module key of `public_key` from the keys folder; InvalidKeyError when it is not
    there (re-signing as a new subject would make a new actor identity unasked)."""
    folder = keys_dir()
    for seed_file in sorted(folder.glob("*.nk")) if folder.is_dir() else []:
        try:
            key = load_key(str(seed_file))
        except InvalidKeyError:
            continue
        if key.public_key == public_key:
            return key
    raise InvalidKeyError(f"it is signed as {public_key}, whose seed is not in the keys folder "
                          f"{folder}; give that seed with --subject, or another to make it a "
                          f"new actor")


def _existing_claims(data: bytes) -> dict[str, Any]:
    module = SignedModule(data)
    return module.claims if module.token is not None else {}


def claims_sign(args: argparse.Namespace) -> int:
    path = Path(args.module)
    out = Path(args.output) if args.output else path.with_name(path.stem + "_s.wasm")
    problem = missing_folder(out)
    if problem is not None:
        return fail(f"claims sign -o {out}: {problem}")
    try:
        check_caps(args.cap)
        if args.rev is not None and args.rev < 0:
            raise ValueError(f"--rev {args.rev}: a revision is a whole number from 0 up")
        expires_in = parse_duration(args.expires_in, "--expires-in") if args.expires_in else None
        not_before = parse_duration(args.not_before, "--not-before") if args.not_before else None
        data = path.read_bytes()
        strip_claims(data)  # refuse a bad module before any key is generated
        # a signed module keeps its identity (subject) and name unless told otherwise
        before = _existing_claims(data)
        if args.subject is None and before.get("sub"):
            subject = _stored_subject(before["sub"])
        else:
            subject = signing_key(args.subject, path.stem, "module", "--subject")
        issuer = signing_key(args.issuer, ACCOUNT, "account", "--issuer")
        name = args.name or _meta(before).get("name") or path.stem
        metadata = ActorMetadata(name, args.cap, args.tag, args.rev, args.ver, args.call_alias)
        signed = sign_module(data, issuer, subject, metadata, expires_in, not_before)
        out.write_bytes(signed)
    except BAD_INPUT as exc:
        return fail(f"claims sign {path}: {_reason(exc)}")
    report(args, f"{out}: signed module {subject.public_key}, issuer {issuer.public_key}",
           {"path": str(out), "subject": subject.public_key, "issuer": issuer.public_key,
            "name": name})
    return 0

