"""The bytes Kafka record batches take, built as a kafka-python producer builds them (no broker).

A v2 record batch holds per-record framing (varint lengths, offset and timestamp deltas), keys, values and
headers, and is compressed as a whole when the producer's ``compression_type`` is set: what a producer
sends for a set of records, up to the request framing. Used to compare ways of sending the same events
(raw, raw + zstd, coded) without a broker.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["BATCH_RECORDS", "batch_bytes"]

#: records per batch in the estimate (what a producer fills from one poll batch with large batch sizes)
BATCH_RECORDS = 500

Record = tuple[bytes | None, bytes | None, int, Sequence[tuple[str, bytes]]]


def batch_bytes(records: Sequence[Record], compression: str | None, batch: int = BATCH_RECORDS) -> int:
    """Bytes of v2 record batches of ``batch`` records each; ``records`` are ``(key, value, timestamp ms,
    headers)``, ``compression`` None or ``"zstd"``."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    codec = {None: 0, "zstd": DefaultRecordBatchBuilder.CODEC_ZSTD}[compression]
    total = 0
    for start in range(0, len(records), batch):
        builder = DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, 1 << 30)
        for offset, (key, value, ts, headers) in enumerate(records[start : start + batch]):
            builder.append(offset, ts, key, value, list(headers))
        total += len(builder.build())
    return total
