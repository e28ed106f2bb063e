"""`edgehost push REF MODULE`: put a signed actor into an OCI registry as wasmCloud does."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edgecli.output import fail, report, working
from edgegate.registries import OciClient, OciReference, RegistryError
from edgegate.registries.fetch import RegistrySettings
from edgegate.registries.oci import Credential
from edgegate.registries.references import ReferenceError
from edgegate.wascap import ClaimsError, SignedModule
from edgemodule.wasmsections import WasmFormatError


def push(args: argparse.Namespace) -> int:
    try:
        ref = OciReference.parse(args.ref)
        module = Path(args.module).read_bytes()
    except ReferenceError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"{args.module}: cannot read it ({exc.strerror})")
    try:
        claims = SignedModule(module).verify()
    except ClaimsError as exc:
        return fail(f"{args.module}: not pushed, its claims fail ({exc}); sign it with "
                    f"edgehost claims sign")
    except WasmFormatError as exc:
        return fail(f"{args.module}: not pushed, {exc}; push takes a signed actor (.wasm), "
                    f"not a provider archive (.par) or other file")
    insecure = RegistrySettings.from_env(os.environ, False).insecure
    if args.insecure:
        insecure.add(ref.registry)
    user = args.user or os.environ.get("WASH_REG_USER", "")
    password = args.password or os.environ.get("WASH_REG_PASSWORD", "")
    credentials = {ref.registry: Credential(user, password)} if user else {}
    try:
        with working(f"pushing {args.module} ({len(module):,} bytes) to {ref}"):
            digest = OciClient(credentials, insecure).push(ref, module)
    except RegistryError as exc:
        return fail(str(exc))
    report(args, f"pushed actor {claims['sub']} ({len(module)} bytes) to {ref} ({digest})",
           {"actor": claims["sub"], "ref": str(ref), "bytes": len(module), "digest": digest})
    return 0
