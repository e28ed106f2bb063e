"""`edgehost keys`: new nkeys for every wascap role, and public keys read from seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgecli.output import fail, missing_folder, report
from edgecli.signing import load_key, save_seed
from edgegate.wascap import InvalidKeyError, KeyPair


def keys_gen(args: argparse.Namespace) -> int:
    key = KeyPair.generate(args.kind)
    if args.output:
        path = Path(args.output)
        problem = missing_folder(path)
        if problem is not None:
            return fail(f"keys gen -o {path}: {problem}")
        try:
            save_seed(path, key)
        except FileExistsError:
            return fail(f"keys gen: {path} exists; a seed file is never overwritten")
        except OSError as exc:
            return fail(f"keys gen: cannot write {path}: {exc.strerror}")
        report(args, f"Public key: {key.public_key}\nSeed written to {path} (mode 0600)",
               {"kind": args.kind, "public_key": key.public_key, "seed_file": str(path)})
        return 0
    report(args, f"Public key: {key.public_key}\nSeed:       {key.seed}",
           {"kind": args.kind, "public_key": key.public_key, "seed": key.seed})
    return 0


def keys_get(args: argparse.Namespace) -> int:
    try:
        key = load_key(args.seed)
    except InvalidKeyError as exc:
        return fail(f"keys get: {exc}")
    report(args, key.public_key, {"public_key": key.public_key})
    return 0
