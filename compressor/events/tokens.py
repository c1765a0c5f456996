"""Columns of tokens (strings, booleans, nulls, nested values, keys, header sets) coded by dictionary.

Each token is a byte string. Per position the coder sends one symbol: ``0`` = the same token as the
previous event of the window, ``1 + i`` = entry ``i`` of the dictionary learned at training, or
``1 + len(dictionary)`` = a literal (its bytes go to the window's literal block). The symbol model is the
training frequency of each choice, kept apart for the first event of a window (which has no previous one)
and the others.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from compressor.errors import EnvelopeError
from compressor.events.entropy import Reader, Tape, categorical

__all__ = ["TokenDictionary"]

#: at most this many distinct tokens per column are learned
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class TokenDictionary:
    """The learned tokens of one column and how often each choice occurred in training.

    Parameters:
        entries (tuple): token bytes, most frequent first.
        first (tuple): counts of [same-as-previous, each entry, literal] for a window's first event.
        next (tuple): the same counts for the other events.
    """

    entries: tuple[bytes, ...]
    first: tuple[int, ...]
    next: tuple[int, ...]

    @classmethod
    def learn(cls, sequences: Sequence[Sequence[bytes]]) -> TokenDictionary:
        """Learn from runs of consecutive tokens (one run per key, in order)."""
        seen = Counter(t for run in sequences for t in run)
        entries = tuple(t for t, c in seen.most_common(MAX_ENTRIES) if c >= 2)
        index = {t: i for i, t in enumerate(entries)}
        first = [0] * (len(entries) + 2)
        nxt = [0] * (len(entries) + 2)
        for run in sequences:
            prev = None
            for t in run:
                literal = len(entries) + 1
                sym = 1 + index[t] if t in index else literal
                first[sym] += 1  # as the first of a window (no previous token)
                nxt[0 if t == prev else sym] += 1
                prev = t
        return cls(entries, tuple(first), tuple(nxt))

    def to_dict(self) -> dict:
        return {
            "entries": [e.hex() for e in self.entries],
            "first": list(self.first),
            "next": list(self.next),
        }

    @classmethod
    def from_dict(cls, d: dict) -> TokenDictionary:
        return cls(tuple(bytes.fromhex(e) for e in d["entries"]), tuple(d["first"]), tuple(d["next"]))

    @functools.cached_property
    def _index(self) -> dict[bytes, int]:
        return {t: i for i, t in enumerate(self.entries)}

    @functools.cached_property
    def _models(self) -> tuple[object, object]:
        # every choice keeps some probability: a token never seen in training must still code
        def smooth(counts: tuple[int, ...]) -> list[int]:
            total = sum(counts)
            return [c * 64 + max(1, total // 16) for c in counts]

        return categorical(smooth(self.first)), categorical(smooth(self.next))

    def encode(self, tape: Tape, tokens: Sequence[bytes], literals: list[bytes]) -> None:
        literal = len(self.entries) + 1
        prev = None
        first, nxt = self._models
        for i, t in enumerate(tokens):
            if i and t == prev:
                sym = 0
            else:
                sym = 1 + self._index[t] if t in self._index else literal
            tape.symbol(sym, nxt if i else first)
            if sym == literal:
                literals.append(t)
            prev = t

    def decode(self, reader: Reader, n: int, literals: list[bytes]) -> list[bytes]:
        literal = len(self.entries) + 1
        first, nxt = self._models
        out: list[bytes] = []
        for i in range(n):
            sym = reader.symbol(nxt if i else first)
            if sym == 0:
                if not out:
                    raise EnvelopeError("event payload repeats a token before the first one")
                out.append(out[-1])
            elif sym == literal:
                if not literals:
                    raise EnvelopeError("event payload has fewer literals than its tokens need")
                out.append(literals.pop())
            else:
                out.append(self.entries[sym - 1])
        return out
