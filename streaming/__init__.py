"""Kafka plumbing shared by producers, consumers and the bridges.

::

    streaming.client_config KafkaConfig: typed client settings (kafka-python spelling), the Secret password
    streaming.credentials   passwords kept out of logs; one quick check of SASL credentials
    streaming.clients       make_producer / make_consumer from a KafkaConfig, producer tuning defined once
    streaming.producer_network  the producers' network client: no transactional request lost with a node
    streaming.broker        a local KRaft broker run from Maven-resolved jars
    streaming.cluster       a local cluster of three (or more) KRaft nodes, replicated
    streaming.acls          who may do what on a secure broker: the ACLs of latentwire's roles
    streaming.failpoints    crash on purpose at a named point (fault-injection runs)
    streaming.registry      model bundles published to, and fetched from, a compacted topic
    streaming.raw_records   raw topic values (JSON objects, float32 arrays) as records, and back
    streaming.topic_sample  the latest records of a live topic, for training
    streaming.bridge_loop   the consume-transform-produce loop both bridges run (Kafka transactions)
    streaming.bridge_config BridgeConfig: what one bridge reads, writes and serves
    streaming.bridge        run_bridge: a bridge's clients, endpoint, byte accounting and loop
    streaming.shutdown      SIGTERM/SIGINT as a flag long loops check between batches
    streaming.dead_letters  headers that say why a record went to a dead-letter topic
    streaming.wire_bytes    bytes a kafka-python client really sent
    streaming.metrics       Prometheus metrics of producers, consumers and bridges
    streaming.health        /metrics, /healthz and /readyz on one HTTP port

Layers, lowest first: ``compressor`` (no Kafka) < ``streaming`` < ``producers`` | ``consumers`` <
``latentwire`` (command line and demo). A module imports only from its own layer or lower ones.
"""
