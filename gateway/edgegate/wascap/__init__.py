"""wascap, as wasmCloud's tooling has it: nkeys, claims JWTs, signed modules, provider archives."""

from edgegate.wascap.archives import ArchiveError, ProviderArchive
from edgegate.wascap.keys import KINDS, InvalidKeyError, KeyPair
from edgegate.wascap.modules import ActorMetadata, SignedModule, sign_module, verify_module
from edgegate.wascap.tokens import Token
from edgemodule.claimcheck import ClaimsError

__all__ = [
    "KINDS",
    "ActorMetadata",
    "ArchiveError",
    "ClaimsError",
    "InvalidKeyError",
    "KeyPair",
    "ProviderArchive",
    "SignedModule",
    "Token",
    "sign_module",
    "verify_module",
]
