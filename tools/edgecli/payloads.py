"""A call's payload as the command line gives it, and the actor's answer as it is shown."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

import msgpack


def as_json(value: Any) -> Any:
    """msgpack values JSON can carry: bin as UTF-8 text when it is text, else base64."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(as_json(k)): as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    return value


def request_payload(args: argparse.Namespace) -> bytes:
    """The payload bytes from PAYLOAD or --file, msgpack-encoded JSON with --msgpack-json."""
    if args.payload is not None and args.file is not None:
        raise ValueError("call: give PAYLOAD or --file, not both")
    if args.file == "-":
        raw = sys.stdin.buffer.read()  # `… | edgehost call ACTOR OP --file -`
    elif args.file is not None:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            raise ValueError(f"call: cannot read --file {args.file} ({exc.strerror})") from None
    else:
        raw = (args.payload or "").encode()
    if not args.msgpack_json:
        return raw
    source = f"--file {args.file}" if args.file is not None else "PAYLOAD"
    try:
        value = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"call: {source} is not JSON, as --msgpack-json needs ({exc})") from None
    except RecursionError:
        raise ValueError(f"call: {source} nests too deep to read as JSON") from None
    try:
        return msgpack.packb(value)
    except OverflowError:
        raise ValueError(f"call: {source} holds an integer msgpack cannot carry (it takes "
                         f"-2**63 up to 2**64-1)") from None
    except ValueError as exc:  # msgpack's own depth limit
        raise ValueError(f"call: {source} cannot be sent as msgpack ({exc})") from None


def _decoded(answer: bytes) -> Any:
    try:
        value = msgpack.unpackb(answer, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        reason = str(exc) or type(exc).__name__
        raise ValueError(f"the answer ({len(answer)} bytes) is not msgpack ({reason})") from None
    return as_json(value)


def show_answer(args: argparse.Namespace, actor: str, answer: bytes) -> None:
    """An actor's answer on stdout: its bytes as they came, as JSON from msgpack with
    --msgpack-json, or with --json one JSON document (the answer as text, base64 when it is
    not text). ValueError when --msgpack-json meets an answer that is not msgpack."""
    if args.json:
        document: dict[str, Any] = {"actor": actor, "operation": args.operation}
        if args.msgpack_json:
            document["answer"] = _decoded(answer)
        else:
            try:
                document["answer"] = answer.decode()
            except UnicodeDecodeError:
                document["answer_base64"] = base64.b64encode(answer).decode()
        print(json.dumps(document))
    elif args.msgpack_json:
        print(json.dumps(_decoded(answer)))
    else:
        write_raw(answer)
        if sys.stdout.isatty() and not answer.endswith(b"\n"):
            print()


def write_raw(answer: bytes) -> None:
    """The answer as it came; a reader gone away (`| head -c 10`) ends the command with 141."""
    sys.stdout.buffer.write(answer)
    sys.stdout.flush()
