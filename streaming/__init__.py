"""Kafka plumbing shared by producers, consumers and the bridges.

::

    streaming.broker        a local KRaft broker run from Maven-resolved jars
    streaming.registry      model bundles published to, and fetched from, a compacted topic
    streaming.raw_records   raw topic values (JSON objects, float32 arrays) as records, and back
    streaming.topic_sample  the latest records of a live topic, for training
    streaming.bridge_loop   the consume-transform-produce loop both bridges run (Kafka transactions)
    streaming.dead_letters  headers that say why a record went to a dead-letter topic
    streaming.wire_bytes    bytes a kafka-python client really sent
    streaming.metrics       Prometheus metrics of producers, consumers and bridges
    streaming.health        /metrics, /healthz and /readyz on one HTTP port

Layers, lowest first: ``compressor`` (no Kafka) < ``streaming`` < ``producers`` | ``consumers`` <
``latentwire`` (command line and demo). A module imports only from its own layer or lower ones.
"""
