"""Kafka record batches (message format v2) encoded here, whole, for the router's output.

aiokafka appends one record at a time: a Python call, then its builder encodes every
header's name again and copies the value in; then the sender compresses each batch on
the event loop. At five or six messages a difficulty that was a third of the router's
CPU (py-spy, on the benchmark's backlog). Here a message is a handful of byte strings the
router has mostly made once (header names, the headers that every message of a kind
shares), a partition's records are one `join`, and `build` (compression and CRC) is a
pure function of bytes, so a batch of them can be built on another thread while the
event loop prepares the next batch: the compressor releases the GIL.

Layout (KIP-98, the "RecordBatch" of the Kafka protocol guide): a record is
`length, attributes, timestampDelta, offsetDelta, keyLength, key, valueLength, value,
headerCount, [headerKeyLength, headerKey, headerValueLength, headerValue]`, every
number a zigzag varint; a batch puts a 61-byte header before them, whose CRC-32C
covers everything after the CRC field. tests/unit/test_records.py holds the bytes to
aiokafka's own builder and reads them back with aiokafka's reader.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka.codec import gzip_encode, lz4_encode, zstd_encode
from aiokafka.record.util import calc_crc32c

from shared.settings import Compression


def varint(n: int) -> bytes:
    """A zigzag varint, as Kafka's records write every number."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append(0x80 | (z & 0x7F))
        z >>= 7
    out.append(z)
    return bytes(out)


# Every length and offset below 2**14 (all but the largest values) from a table.
_TABLE = 1 << 14
_VARINTS = [varint(i) for i in range(_TABLE)]
_NULL = varint(-1)
# A record's attributes (none), its timestamp delta (every record of a batch shares the
# batch's timestamp) and its offset delta, by offset delta.
_RECORD_HEAD = [b"\x00\x00" + v for v in _VARINTS]


def length(n: int) -> bytes:
    return _VARINTS[n] if n < _TABLE else varint(n)


def header(name: str, value: bytes) -> bytes:
    """One header, encoded."""
    return header_name(name, len(value)) + value


def header_name(name: str, value_length: int) -> bytes:
    """What precedes a header's value of `value_length` bytes: for a header whose value
    changes but whose length does not (an event id), encoded once."""
    raw = name.encode()
    return length(len(raw)) + raw + length(value_length)


def headers(pairs: Iterable[tuple[str, bytes]]) -> bytes:
    """A record's headers section (their count, then each), for `RecordBatches.add`."""
    encoded = [header(k, v) for k, v in pairs]
    return length(len(encoded)) + b"".join(encoded)


_BEFORE_CRC = struct.Struct(">qiibI")  # base offset, length, leader epoch, magic, CRC
_AFTER_CRC = struct.Struct(">hiqqqhii")  # attributes .. record count
_MAGIC = 2
_NO_LEADER_EPOCH = -1
_NO_PRODUCER = (-1, -1, -1)  # producer id, epoch, base sequence: not idempotent

ZSTD_LEVEL = 1
"""Faster than the level 3 that aiokafka and Kafka's own clients default to, and on the
benchmark's router batches no bigger: 5.4 against 6.5 us of compression a difficulty, 15.4 times
smaller against 14.4 (measured)."""


def _zstd(data: bytes) -> bytes:
    return zstd_encode(data, level=ZSTD_LEVEL)  # type: ignore[no-any-return]


# Compression codecs: the batch attribute's value and the function (aiokafka's own).
CODECS: dict[Compression, tuple[int, Callable[[bytes], bytes] | None]] = {
    "none": (0, None),
    "gzip": (1, gzip_encode),
    "lz4": (3, lz4_encode),
    "zstd": (4, _zstd),
}


def build(records: bytes, count: int, *, timestamp_ms: int,
          compression: Compression = "none") -> bytes:
    """A record batch of `count` records. Pure and GIL-friendly (compression releases
    it), so it may run on another thread. Sent uncompressed if compressing does not
    make it smaller, as aiokafka's pure-Python builder does (its compiled one sends the
    bigger batch)."""
    attributes, encode = CODECS[compression]
    if encode is not None:
        compressed = encode(records)
        if len(compressed) < len(records):
            records = compressed
        else:
            attributes = 0
    after = _AFTER_CRC.pack(attributes, count - 1, timestamp_ms, timestamp_ms, *_NO_PRODUCER,
                            count)
    crc = calc_crc32c(after + records)
    # The length counts from the leader epoch (after the base offset and itself) on.
    size = 4 + 1 + 4 + len(after) + len(records)
    return b"".join((_BEFORE_CRC.pack(0, size, _NO_LEADER_EPOCH, _MAGIC, crc), after, records))


Partitioner = Callable[[bytes | None, Sequence[int], Sequence[int]], int]
"""(key, all partitions, available partitions) -> partition, as aiokafka's take."""


@dataclass(slots=True)
class OpenBatch:
    """One partition's records so far: the byte strings that `join` into them."""

    topic: str
    partition: int
    pieces: list[bytes] = field(default_factory=list)
    count: int = 0
    size: int = 0  # bytes of records, for the batch limit

    def records(self) -> bytes:
        return b"".join(self.pieces)


class RecordBatches:
    """Records for many topic-partitions, each message added as it is encoded.

    `partitions` gives each topic's partitions, and `partitioner` places a message on
    one of them by its key: the producer's own (`shared.kafka.key_partitioner`), so a
    difficulty's messages land where `send` would put them and stay in order together.
    A partition's records start a new batch where they would pass `max_bytes`."""

    def __init__(self, partitions: Mapping[str, Sequence[int]], *, max_bytes: int,
                 partitioner: Partitioner) -> None:
        self._partitions = partitions
        self._max_bytes = max_bytes
        self._partitioner = partitioner
        self._open: dict[tuple[str, int], OpenBatch] = {}
        self._full: list[OpenBatch] = []

    def add(self, topic: str, key: bytes | None, value: bytes | None, headers: bytes) -> None:
        """One message; `headers` is its headers section (see `headers`). On the router's
        hot path, five or six times a difficulty: lengths come from the table inline
        rather than through `length`, and nothing is copied until a partition's records
        are joined."""
        try:
            parts = self._partitions[topic]
        except KeyError:
            raise KeyError(f"no partitions known for topic {topic!r}") from None
        partition = self._partitioner(key, parts, parts)
        if key is None:
            key_length, key = _NULL, b""
        else:
            n = len(key)
            key_length = _VARINTS[n] if n < _TABLE else varint(n)
        if value is None:
            value_length, value = _NULL, b""
        else:
            n = len(value)
            value_length = _VARINTS[n] if n < _TABLE else varint(n)
        batch = self._open.get((topic, partition))
        if batch is None:
            batch = self._open[(topic, partition)] = OpenBatch(topic, partition)
        rest = len(key_length) + len(key) + len(value_length) + len(value) + len(headers)
        n = batch.count
        head = _RECORD_HEAD[n] if n < _TABLE else b"\x00\x00" + varint(n)
        body = len(head) + rest
        body_length = _VARINTS[body] if body < _TABLE else varint(body)
        if n and batch.size + body + len(body_length) > self._max_bytes:
            self._full.append(batch)
            batch = self._open[(topic, partition)] = OpenBatch(topic, partition)
            head = _RECORD_HEAD[0]
            body = len(head) + rest
            body_length = _VARINTS[body] if body < _TABLE else varint(body)
        batch.pieces += (body_length, head, key_length, key, value_length, value, headers)
        batch.count += 1
        batch.size += body + len(body_length)

    def batches(self) -> list[OpenBatch]:
        """Every batch, a partition's in the order they were filled."""
        return [*self._full, *self._open.values()]


def now_ms() -> int:
    return int(time.time() * 1000)


__all__ = ["CODECS", "OpenBatch", "Partitioner", "RecordBatches", "build", "header", "header_name",
           "headers", "length", "now_ms", "varint"]
