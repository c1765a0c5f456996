"""Record batch sizes as a producer builds them, without a broker."""

from __future__ import annotations

import json

from kafka.record.default_records import DefaultRecordBatchBuilder

from streaming.record_batches import batch_bytes


def _records(n: int) -> list:
    return [
        (b"dev-%d" % (i % 4), json.dumps({"i": i, "v": [i * 0.5] * 8}).encode(), 1_700_000_000_000 + i, [])
        for i in range(n)
    ]


def test_batches_of_a_byte_size_are_cut_as_the_producer_cuts_them() -> None:
    records = _records(900)
    size = 8 * 1024
    expected, builder = 0, DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, size)
    offset = 0
    for key, value, ts, headers in records:
        if builder.append(offset, ts, key, value, headers) is None:  # the producer opens the next batch
            expected += len(builder.build())
            builder, offset = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, size), 0
            builder.append(offset, ts, key, value, headers)
        offset += 1
    expected += len(builder.build())
    assert batch_bytes(records, None, batch_size=size) == expected
    assert batch_bytes(records, None, batch_size=1 << 30) == batch_bytes(records, None, 900)
    # zstd sees less of the topic at once in smaller batches
    assert batch_bytes(records, "zstd", 30) > batch_bytes(records, "zstd", 300)


def test_batches_of_a_record_count() -> None:
    records = _records(10)
    one = sum(batch_bytes([r], None, 1) for r in records)
    assert batch_bytes(records, None, 1) == one
    assert batch_bytes(records, None, 4) == sum(batch_bytes(records[i : i + 4], None) for i in (0, 4, 8))
