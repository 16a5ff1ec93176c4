"""Event envelopes: CloudEvents headers round-trip; bad records say why."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.common import difficulty
from shared import events
from shared.events import DecodeError, DifficultyAssigned, DifficultyReceived


def test_envelope_round_trips_through_binary_headers() -> None:
    d = difficulty(1)
    env = events.new_envelope(d, source="test")
    headers = [(k, v.encode()) for k, v in events.encode_headers(env).items()]
    back = events.decode(DifficultyReceived, events.encode_body(d), headers)
    assert back.id == env.id and back.data == d
    assert dict(headers)["ce_subject"] == str(d.difficulty_id).encode()
    assert dict(headers)["ce_specversion"] == b"1.0"


def test_wrong_type_and_missing_id_are_refused_with_the_reason() -> None:
    d = difficulty(2)
    env = events.new_envelope(d, source="test")
    headers = events.encode_headers(env)
    with pytest.raises(DecodeError, match="ce_type"):
        events.decode(DifficultyAssigned, events.encode_body(d), headers)
    with pytest.raises(DecodeError, match="ce_id"):
        events.decode(DifficultyReceived, events.encode_body(d),
                      {k: v for k, v in headers.items() if k != "ce_id"})
    with pytest.raises(DecodeError, match="tax_code"):
        events.decode(DifficultyReceived,
                      events.encode_body(d).replace(d.tax_code.encode(), b"12"), headers)


def test_deterministic_ids_are_stable_and_distinct() -> None:
    a = uuid.uuid4()
    assert events.deterministic_id(a, "lead") == events.deterministic_id(a, "lead")
    assert events.deterministic_id(a, "lead") != events.deterministic_id(a, "co_handler")


@given(st.lists(st.one_of(st.text(max_size=20), st.none(), st.uuids(), st.integers()),
                min_size=1, max_size=5))
def test_deterministic_id_is_uuid5_of_the_parts(parts: list[object]) -> None:
    assert events.deterministic_id(*parts) == str(
        uuid.uuid5(events.EVENT_ID_NAMESPACE, "|".join(str(p) for p in parts)))


@pytest.mark.parametrize("parts", [
    ("3f0c6a1e-9a53-4d6e-8f0e-2f4b8f1c0a11", "lead", "binh-duong.bql-kcn", None, None),
])
def test_assignment_ids_are_the_shared_deterministic_ids(parts: tuple[object, ...]) -> None:
    assert str(events.deterministic_uuid(*parts)) == events.deterministic_id(*parts)


@given(st.lists(st.one_of(st.text(max_size=20), st.none(), st.uuids()), min_size=1, max_size=5))
def test_deterministic_uuid_is_deterministic_id_for_any_parts(parts: list[object]) -> None:
    # The router's assignment ids take the UUID form; every other cause's, the text.
    assert str(events.deterministic_uuid(*parts)) == events.deterministic_id(*parts)


@given(st.binary(max_size=2000))
def test_any_bytes_either_decode_or_raise_decode_error(value: bytes) -> None:
    headers = {"ce_id": "x", "ce_type": DifficultyReceived.ce_type}
    with contextlib.suppress(DecodeError):
        events.decode(DifficultyReceived, value, headers)
