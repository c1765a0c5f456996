"""The network client latentwire's kafka-python producers use: two fixes for a broker that went away.

kafka-python 3.0's producer sender (``kafka.producer.sender.Sender``) was written against the older
client's contract and meets the new one (``kafka.net.compat.KafkaNetClient``) in two places:

* **A transactional request to a dead coordinator was dropped.** Before it sends a request that goes to
  the transaction or group coordinator (``AddPartitionsToTxn``, ``AddOffsetsToTxn``, ``TxnOffsetCommit``,
  ``EndTxn``), the sender calls ``await_ready(coordinator)`` and expects ``False`` when the node cannot be
  reached: it then looks the coordinator up again and queues the request once more. ``KafkaNetClient``
  raises ``KafkaConnectionError`` instead; the sender's exception path looks the coordinator up but, the
  target node being already set, never queues the request again. The request is gone, and
  ``send_offsets_to_transaction`` or ``commit_transaction``, which wait for its result without a timeout,
  never return. This is what happened whenever a SIGKILLed node was the coordinator of a bridge's group or
  transactional id: the bridge hung until a watchdog ended it. :meth:`ProducerNetClient.await_ready`
  answers ``False`` for a node it cannot reach, so the request waits for the new coordinator instead.
* **A leader in reconnect backoff made the sender spin.** The sender reads ``connection_delay`` as
  milliseconds; ``KafkaNetClient`` returns seconds, so while a partition's leader was down the sender
  polled with sub-millisecond timeouts, a busy loop that took a core until the new leader was known.
  :meth:`ProducerNetClient.connection_delay` returns milliseconds (only the producer's sender reads it
  through this client).

::

    KafkaProducer(..., kafka_client=ProducerNetClient)     # what streaming.clients.make_producer does
"""

from __future__ import annotations

from typing import Any

from kafka.errors import KafkaConnectionError, NodeNotReadyError, UnknownBrokerIdError
from kafka.net.compat import KafkaNetClient

__all__ = ["ProducerNetClient"]


class ProducerNetClient(KafkaNetClient):
    """``KafkaNetClient`` with the contract the producer's sender expects (see the module docstring).

    Arguments (those of ``kafka.net.compat.KafkaNetClient``; a ``KafkaProducer`` passes them):
        net (NetworkSelector | None): the selector to run on. Default: None, a new one.
        manager (KafkaConnectionManager | None): the connections to use. Default: None, a new one.
        **configs: the producer's configuration (bootstrap servers, security, timeouts).
    """

    def await_ready(self, node_id: Any, timeout_ms: int = 30000) -> bool:
        """True once ``node_id`` is connected and ready; False if it cannot be reached in ``timeout_ms``
        (refused, in reconnect backoff, gone): the caller looks for it again rather than fail."""
        try:
            return bool(super().await_ready(node_id, timeout_ms=timeout_ms))
        except (KafkaConnectionError, NodeNotReadyError, UnknownBrokerIdError):
            return False

    def connection_delay(self, node_id: Any) -> float:
        """Milliseconds to wait before connecting to ``node_id`` again (its reconnect backoff)."""
        return float(super().connection_delay(node_id)) * 1000
