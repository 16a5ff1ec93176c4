"""CloudEvents 1.0 binary mode: the base of every event body, the envelope, deterministic
ids, the record headers and the one decoder."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

SPEC_VERSION = "1.0"
CE_TYPE_PREFIX = "vn.thaogo."
# Namespace for deterministic event ids (uuid5 of a cause).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c2f0e-5b0a-4e53-9a43-3c1d1f0a7b11")


class EventData(BaseModel):
    """Base of every event body. Unknown fields are refused: a schema is a contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    ce_type: ClassVar[str]

    def key(self) -> str:
        raise NotImplementedError


# --- CloudEvents binary mode -------------------------------------------------

E = TypeVar("E", bound=EventData)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[E]):
    """One event with its CloudEvents attributes."""

    id: str
    source: str
    time: datetime
    data: E
    # The data's JSON as it arrived, when it was decoded from a record: valid `data`,
    # so a consumer may forward it as is instead of serialising `data` again.
    body: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def type(self) -> str:
        return self.data.ce_type

    @property
    def subject(self) -> str:
        return self.data.key()


class DecodeError(ValueError):
    """A message that is not a valid event of the expected type; goes to the DLQ."""


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes


def deterministic_id(*parts: object) -> str:
    """An event id derived from what caused the event, stable across retries: the text
    of `uuid5(EVENT_ID_NAMESPACE, "|".join(parts))` (a test holds them equal), written
    from the hash without a `UUID` in between, which took more than half of the time
    (the router derives one for each agency's task)."""
    digest = bytearray(hashlib.sha1(
        _NAMESPACE_BYTES + "|".join(map(str, parts)).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def deterministic_uuid(*parts: object) -> uuid.UUID:
    """`deterministic_id(*parts)` as a `UUID`, without its round trip through text (a test
    holds the two equal): the router derives three or four a difficulty, and parsing the
    text back was 4% of its time."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + "|".join(map(str, parts)).encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def new_envelope(data: E, *, source: str, event_id: str | None = None) -> Envelope[E]:
    return Envelope(
        id=event_id or str(uuid.uuid4()), source=source, time=datetime.now(UTC), data=data
    )


RecordHeaders = list[tuple[str, bytes]]
_SPEC_HEADER = ("ce_specversion", SPEC_VERSION.encode())
_JSON_HEADER = ("content-type", b"application/json")


def headers_for(*, source: str, ce_type: str, time: datetime, subject: str
                ) -> Callable[[str], RecordHeaders]:
    """`record_headers` of events that differ only in their id (a difficulty's
    assignments and tasks), the rest encoded once: each event's headers cost its id."""
    shared = (("ce_source", source.encode()), ("ce_type", ce_type.encode()),
              ("ce_time", time.isoformat().encode()), ("ce_subject", subject.encode()),
              _JSON_HEADER)

    def headers(event_id: str) -> RecordHeaders:
        return [_SPEC_HEADER, ("ce_id", event_id.encode()), *shared]

    return headers


def record_headers(env: Envelope[Any]) -> RecordHeaders:
    """The CloudEvents attributes as the Kafka client takes them."""
    return headers_for(source=env.source, ce_type=env.type, time=env.time,
                       subject=env.subject)(env.id)


def encode_headers(env: Envelope[Any]) -> dict[str, str]:
    """`record_headers` as text (what an outbox row keeps)."""
    return {k: v.decode() for k, v in record_headers(env)}


def encode_body(data: EventData) -> bytes:
    # The model's serializer writes bytes; `model_dump_json` writes text, encoded again
    # (a quarter of the time, for the router's five or six a difficulty).
    return data.__pydantic_serializer__.to_json(data)


def _text(value: Any) -> str | None:
    if type(value) is bytes:  # what the Kafka client gives; checked first, and exactly
        return value.decode("utf-8", "replace")
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytearray) else str(value)


def decode(model: type[E], value: bytes | None, headers: Any) -> Envelope[E]:
    """Parse one Kafka record into an envelope of `model`, or raise DecodeError with why."""
    # Only the four headers read here are decoded, looked up in a dict built at C speed
    # (a consumer decodes every record it reads: this is on its hot path). As before,
    # the last of a repeated header wins.
    h = headers if isinstance(headers, dict) else dict(headers or ())
    ce_id = _text(h.get("ce_id"))
    if not ce_id:
        raise DecodeError("missing header ce_id")
    ce_type = _text(h.get("ce_type"))
    if ce_type != model.ce_type:
        raise DecodeError(f"header ce_type is {ce_type!r}, expected {model.ce_type!r}")
    if value is None:
        raise DecodeError("empty message value")
    ce_time = _text(h.get("ce_time"))
    try:
        time = datetime.fromisoformat(ce_time) if ce_time else datetime.now(UTC)
    except ValueError as e:
        raise DecodeError(f"header ce_time is not an ISO 8601 time: {e}") from e
    try:
        data = model.model_validate_json(value)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise DecodeError(f"{loc}: {first['msg']} ({e.error_count()} error(s))") from e
    return Envelope(id=ce_id, source=_text(h.get("ce_source")) or "", time=time, data=data,
                    body=value)
