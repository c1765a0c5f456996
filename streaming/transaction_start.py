"""Begin a Kafka transaction without the offsets of an aborted one (a kafka-python 3.0 workaround).

kafka-python's transaction manager keeps the consumer offsets of ``send_offsets_to_transaction`` in
``_pending_txn_offset_commits`` until the group coordinator accepts each of them, and never clears that map
when a transaction is aborted. When a ``TxnOffsetCommit`` is refused (``UnknownMemberIdError`` after the
bridge's consumer was expelled from its group during an outage), the batch is aborted but its offsets stay
pending, and the *next* transaction's ``TxnOffsetCommit`` sends them again together with its own: the
aborted batch's offsets are committed although its records were discarded. A fault run lost 3,050 and then
800 records this way (docs/reliability.md). The Java client clears its pending offsets when a transaction
ends; :func:`begin_transaction` does the same before each new transaction.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["begin_transaction"]

log = logging.getLogger(__name__)


def begin_transaction(producer: Any) -> None:
    """``producer.begin_transaction()``, first dropping consumer offsets left pending by an earlier,
    aborted transaction (none are legitimately pending between transactions)."""
    manager = getattr(producer, "_transaction_manager", None)
    stale = getattr(manager, "_pending_txn_offset_commits", None)
    if stale:
        log.warning("dropping offsets left pending by an aborted transaction: %s", _describe(stale))
        stale.clear()
    producer.begin_transaction()


def _describe(offsets: dict[Any, Any]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]@{getattr(o, 'offset', o)}" for tp, o in offsets.items())
