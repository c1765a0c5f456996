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


def batch_bytes(
    records: Sequence[Record],
    compression: str | None,
    batch: int = BATCH_RECORDS,
    *,
    batch_size: int | None = None,
) -> int:
    """Bytes of v2 record batches of ``batch`` records each, or, with ``batch_size``, cut as a producer with
    that ``batch_size`` cuts them from records sent at once (a batch closes when the next record would
    take it past ``batch_size``); ``records`` are ``(key, value, timestamp ms, headers)``, ``compression``
    None or ``"zstd"``."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    codec = {None: 0, "zstd": DefaultRecordBatchBuilder.CODEC_ZSTD}[compression]
    limit = 1 << 30 if batch_size is None else batch_size
    count = batch if batch_size is None else len(records) + 1
    total, builder, offset = 0, None, 0
    for key, value, ts, headers in records:
        if builder is not None and offset == count:
            total, builder = total + len(builder.build()), None
        if builder is None:
            builder, offset = DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, limit), 0
        if builder.append(offset, ts, key, value, list(headers)) is None:  # full: the record opens the next
            total += len(builder.build())
            builder = DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, limit)
            builder.append(0, ts, key, value, list(headers))
            offset = 0
        offset += 1
    return total + (len(builder.build()) if builder is not None else 0)
