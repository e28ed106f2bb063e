"""`edgehost par create`: pack a provider binary and its signed claims into a .par archive."""

from __future__ import annotations

import argparse
import gzip
import io
import re
import tarfile
from pathlib import Path

from edgecli.output import fail, missing_folder, report
from edgecli.signing import BAD_INPUT, signing_key
from edgegate.providers.archive import platform_target
from edgegate.wascap.archives import CLAIMS_MEMBER, provider_token

_CONTRACT_ID = re.compile(r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.:-]+")
_TARGET = re.compile(r"[a-z0-9_]+-[a-z0-9_]+")


def archive_bytes(token: str, binaries: dict[str, bytes], compress: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        members = {CLAIMS_MEMBER: token.encode(),
                   **{f"{t}.bin": data for t, data in sorted(binaries.items())}}
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o755, 0
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


def par_create(args: argparse.Namespace) -> int:
    out = Path(args.destination)
    problem = missing_folder(out)
    if problem is not None:
        return fail(f"par create --destination {out}: {problem}")
    try:
        if not _CONTRACT_ID.fullmatch(args.capid):
            raise ValueError(f"--capid {args.capid!r}: a contract id looks like "
                             f"wasmcloud:keyvalue")
        arch = args.arch or platform_target()
        if not _TARGET.fullmatch(arch):
            raise ValueError(f"--arch {arch!r}: a target is ARCH-OS, like x86_64-linux")
        binaries = {arch: Path(args.binary).read_bytes()}
        issuer = signing_key(args.issuer, "default", "account", "--issuer")
        subject = signing_key(args.subject, _key_name(args.name), "provider", "--subject")
        token = provider_token(issuer, subject, args.name, args.capid, args.vendor, binaries,
                                args.rev or 0, args.version or "")
        out.write_bytes(archive_bytes(token, binaries, args.compress))
    except BAD_INPUT as exc:
        what = exc.filename if isinstance(exc, OSError) and exc.filename else args.binary
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return fail(f"par create {what}: {reason}")
    report(args, f"{out}: provider {subject.public_key} ({args.capid}) for {arch}, issuer "
           f"{issuer.public_key}",
           {"path": str(out), "subject": subject.public_key, "issuer": issuer.public_key,
            "capid": args.capid, "targets": [arch]})
    return 0


def _key_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "provider"


def add_par(sub: argparse._SubParsersAction, add_json) -> None:
    par = sub.add_parser("par", help="make provider archives (.par)")
    actions = par.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="pack a provider binary and signed claims")
    create.add_argument("--binary", required=True, help="the provider's executable")
    create.add_argument("--capid", required=True, help="the contract it implements")
    create.add_argument("--name", required=True, help="the provider's name")
    create.add_argument("--vendor", default="edgehost", help="vendor (default edgehost)")
    create.add_argument("--arch", help="target ARCH-OS of the binary (default: this machine's)")
    create.add_argument("--destination", "-o", required=True, help="the .par file to write")
    create.add_argument("--compress", action="store_true", help="gzip it (.par.gz)")
    create.add_argument("--issuer", metavar="SEED", help="account seed or seed file (default: "
                        "default_account.nk in the keys folder, made if absent)")
    create.add_argument("--subject", metavar="SEED", help="provider seed or seed file "
                        "(default: NAME_provider.nk in the keys folder, made if absent)")
    create.add_argument("--rev", type=int, help="revision")
    create.add_argument("--version", help="version text")
    add_json(create)
    create.set_defaults(run=par_create)
