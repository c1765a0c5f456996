"""Event coding: JSON events of a Kafka topic, every field coded as a column (compression only, no Kafka).

Modules, one idea each:

* :mod:`~compressor.events.event`: one Kafka record (value, key, timestamp, headers)
* :mod:`~compressor.events.jsontext`: JSON parsed with each number's own text, written back byte for byte
* :mod:`~compressor.events.entropy`: the ANS stream of a window (symbols, integer columns)
* :mod:`~compressor.events.tokens`: token columns (strings, nulls, nested values, keys, headers)
* :mod:`~compressor.events.numbers`: number columns (on the bound's grid or exact) and their predictors
* :mod:`~compressor.events.schema`: the schema learned from sample events (kept in the bundle)
* :mod:`~compressor.events.coder`: a window (or a single event) to a payload and back
"""

from compressor.events.coder import EventCoder
from compressor.events.event import Event
from compressor.events.schema import EventSchema

__all__ = ["Event", "EventCoder", "EventSchema"]
