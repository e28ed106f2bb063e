"""JetStream for the lattice host: the metadata bucket (claims, links, refmaps), big payloads."""

from edgegate.jetstream.chunks import (
    INVOCATION_CHUNK_THRESHOLD,
    RESPONSE_CHUNK_THRESHOLD,
    ChunkError,
    PayloadStore,
    needs_chunking,
    response_object,
)
from edgegate.jetstream.entries import (
    LinkDefinition,
    MetadataError,
    claims_record,
    link_id,
)
from edgegate.jetstream.metadata import LatticeMetadata

__all__ = [
    "INVOCATION_CHUNK_THRESHOLD",
    "RESPONSE_CHUNK_THRESHOLD",
    "ChunkError",
    "LatticeMetadata",
    "LinkDefinition",
    "MetadataError",
    "PayloadStore",
    "claims_record",
    "link_id",
    "needs_chunking",
    "response_object",
]
