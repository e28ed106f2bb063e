"""The bucket's value formats: link definitions and claims records, decoded liberally."""

from __future__ import annotations

import json

import pytest

from edgegate.jetstream import LinkDefinition, MetadataError, claims_record, link_id
from edgegate.jetstream.entries import decode_claims, decode_refmap, refmap_key


def test_link_id_is_the_otp_hosts_public_check_value():
    assert link_id("Mbob", "wasmcloud:testy", "default") == (
        "B40411AD09B70A2C83D59923584F66BA2C5A3C274DC4F19416DA49CCD6531F9C")


def test_link_definition_json_round_trip_in_the_spec_field_order():
    ld = LinkDefinition(actor_id="Mbob", provider_id="Vp", contract_id="wasmcloud:testy",
                        values={"k": "v"})
    text = ld.to_json()
    assert list(json.loads(text)) == [
        "id", "actor_id", "provider_id", "link_name", "contract_id", "values"]
    assert LinkDefinition.from_json(text) == ld
    assert ld.id == link_id("Mbob", "wasmcloud:testy", "default")


def test_link_definition_decoding_is_liberal():
    ld = LinkDefinition.from_json(json.dumps({
        "actor_id": "Mbob", "provider_id": "Vp", "contract_id": "wasmcloud:testy",
        "link_name": None, "values": {"port": 8080, "on": True, "none": None, "list": [1]},
    }))
    assert ld.link_name == "default"
    assert ld.id == link_id("Mbob", "wasmcloud:testy", "default")
    assert ld.values == {"port": "8080", "on": "true", "none": "", "list": "[1]"}
    assert LinkDefinition.from_dict({"actor_id": "M", "provider_id": "V", "contract_id": "c",
                                     "values": None}).values == {}


@pytest.mark.parametrize(("text", "message"), [
    ("{", "LINKDEF_X is not JSON"),
    ("[]", "LINKDEF_X is a JSON list, not an object"),
    ('{"provider_id": "V", "contract_id": "c"}', "actor_id must be a non-empty string"),
    ('{"actor_id": "M", "provider_id": 5, "contract_id": "c"}',
     "provider_id must be a non-empty string, not 5"),
    ('{"actor_id": "M", "provider_id": "V"}', "contract_id must be a non-empty string"),
    ('{"actor_id": "M", "provider_id": "V", "contract_id": "c", "link_name": 3}',
     "link_name must be a string, not 3"),
    ('{"actor_id": "M", "provider_id": "V", "contract_id": "c", "values": "a=b"}',
     "values must be an object, not str"),
    ('{"actor_id": "M", "provider_id": "V", "contract_id": "c", "id": 7}',
     "id must be a string, not 7"),
])
def test_malformed_link_definitions_name_the_rule(text, message):
    with pytest.raises(MetadataError, match=message):
        LinkDefinition.from_json(text, "LINKDEF_X")


def test_claims_record_takes_rev_and_version_from_the_token():
    token = {"iss": "AISS", "sub": "MSUB", "iat": 123,
             "wascap": {"name": "n", "rev": 4, "ver": "1.2.0", "caps": [], "tags": None}}
    record = claims_record(token)
    assert (record["rev"], record["version"], record["caps"], record["tags"]) == (
        "4", "1.2.0", "", "")
    assert claims_record({**token, "wascap": {"rev": 0}})["rev"] == "123"  # 0 → iat
    assert claims_record({"iss": "VISS", "sub": "VSUB", "iat": 9,
                          "wascap": {"capid": "wasmcloud:keyvalue"}})["contract_id"] == (
        "wasmcloud:keyvalue")


@pytest.mark.parametrize(("claims", "message"), [
    ({"sub": "M"}, "claims need a non-empty iss and sub, got iss=None sub='M'"),
    ({"iss": "A", "sub": ""}, "claims need a non-empty iss and sub"),
    ({"iss": "A", "sub": "M", "wascap": ["x"]}, "claims of M: wascap must be an object"),
])
def test_claims_record_refuses_claims_without_issuer_or_subject(claims, message):
    with pytest.raises(MetadataError, match=message):
        claims_record(claims)


def test_claims_values_are_decoded_to_the_nine_string_fields():
    record = decode_claims('{"caps": ["a", "b"], "rev": 3, "version": null, "extra": 1}', "MPK")
    assert record == {"call_alias": "", "iss": "", "name": "", "caps": "a,b", "rev": "3",
                      "tags": "", "version": "", "sub": "MPK", "contract_id": ""}


def test_refmap_key_is_base64url_without_padding_and_values_are_checked():
    assert refmap_key("a") == "REFMAP_YQ"
    assert decode_refmap('{"oci_url": "r/e:1", "public_key": "M"}') == ("r/e:1", "M")
    with pytest.raises(MetadataError, match="refmap: public_key must be a non-empty string"):
        decode_refmap('{"oci_url": "r/e:1"}')
