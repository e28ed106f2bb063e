"""The invocation CloudEvent, written from text made once, says what the generic one says."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from edgegate.events.cloudevents import cloud_event, event_id, invocation_event

HOST = "N" + "A" * 55
CALLER = {"public_key": "M" + "B" * 55, "link_name": "", "contract_id": ""}
PROVIDER = {"public_key": "V" + "C" * 55, "link_name": "default",
            "contract_id": "wasmcloud:keyvalue"}


def _without_id_and_time(event: dict) -> dict:
    return {key: value for key, value in event.items() if key not in ("id", "time")}


def test_an_invocation_event_is_the_cloud_event_of_the_same_data():
    for succeeded, error in ((True, None), (False, 'board b1: "Echo" trapped\nunreachable')):
        for operation, size in (("Echo", 64), ('Ops.Quote"d\\é', 0)):
            data = {"source": CALLER, "dest": PROVIDER, "operation": operation, "bytes": size}
            if error is not None:
                data["error"] = error
            name = "invocation_succeeded" if succeeded else "invocation_failed"
            fast = json.loads(invocation_event(succeeded, HOST, CALLER, PROVIDER, operation,
                                               size, error))
            generic = json.loads(cloud_event(name, HOST, data))
            assert _without_id_and_time(fast) == _without_id_and_time(generic)
            assert list(fast) == list(generic)  # the same fields in the same order


def test_an_invocation_event_has_a_uuid4_id_and_a_utc_time_in_milliseconds():
    event = json.loads(invocation_event(True, HOST, CALLER, CALLER, "Echo", 1, None))
    assert uuid.UUID(event["id"]).version == 4 and str(uuid.UUID(event["id"])) == event["id"]
    when = datetime.fromisoformat(event["time"])
    assert when.utcoffset().total_seconds() == 0 and event["time"].endswith("+00:00")
    assert len(event["time"].split(".")[1]) == len("123+00:00")


def test_event_ids_are_distinct_random_uuids():
    ids = {event_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert {uuid.UUID(text).variant for text in ids} == {uuid.RFC_4122}
