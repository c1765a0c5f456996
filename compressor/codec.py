"""The codec core: records <-> envelopes for one model bundle. No Kafka here.

Two kinds of payload share one codec, so one consumer decodes both:

* kind 0, fixed rate (``Codec(bundle)``): the quantized latent. Encoding a batch makes exactly one encoder
  call and one decoder call (the latter computes the values the consumer will decode, so quality is
  measured on what actually arrives).
* kind 1, error-bounded (``Codec(bundle, error_bound=E)``): every decoded value is within E of the
  original, NaN and Inf included (stored losslessly); see :mod:`compressor.bounded`. The bound travels in
  each payload, so consumers need not know it.
* kind 2, error-bounded on the data's lattice: the same, on a grid of the data's own quantum (found at
  training) when that is coarser than ``2E``; the encoder picks kind 1 or 2 per record.
* kind 3 (a version-1 learned model), 6 (version 2) or 8 (version 3), error-bounded under the learned
  probability model (:mod:`compressor.learned`), on the same grids: used for a record when the bundle has a
  learned model and its payload is the smaller one (where
  the classical payloads have proven no smaller at a bound, most records skip the classical coder:
  :mod:`compressor.learned.choice`). Kind 9 is kind 8 at the bundle's lossless bound on the data's lattice,
  without the header that names them.

* kind 7, error-bounded as counts on the fine lattice inside the data's quantum (found at training;
  :mod:`compressor.bounded.fine_lattice`): the same coder on the counts a sensor converted and rounded,
  where the bound is below half the quantum; the encoder picks it per record where its values sit on it.

Decoding groups by nothing: the caller hands in envelopes of one model id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from compressor.bundle import Bundle
from compressor.envelope import (
    BOUNDED_KINDS,
    FRAMING_VERSION,
    LEARNED_KINDS,
    Envelope,
    Kind,
    header,
    pack_body,
)
from compressor.error_bound import ErrorBound
from compressor.errors import EnvelopeError, UnknownModelError

if TYPE_CHECKING:
    from compressor.fixed_one import FixedRateOne
    from compressor.inference import Predictor

__all__ = ["Codec", "Encoded"]

#: the grid of the bounded coder each of its envelope kinds stands for
_KIND_GRIDS = {kind: g for g, kind in enumerate(BOUNDED_KINDS)}


@dataclass(frozen=True)
class Encoded:
    """What :meth:`Codec.encode` returns.

    Arguments:
        payloads (list[bytes]): one packed envelope per record.
        decoded (np.ndarray): ``(N, D)`` float32, exactly what a consumer will decode.
        latents (np.ndarray | None): ``(N, latent_dim)`` float32 unquantized encoder output, when the
            encoding computed it (fixed rate). Default: None.
    """

    payloads: list[bytes]  # one packed envelope per record
    decoded: np.ndarray  # (N, D) float32: exactly what a consumer will decode
    latents: np.ndarray | None = None


class Codec:
    """Autoencoder codec of one bundle: fixed rate, or error-bounded when ``error_bound`` is set.

    Arguments:
        bundle (Bundle): the model bundle.
        error_bound (ErrorBound | float | None): the bound on every decoded value's error: an
            :class:`~compressor.error_bound.ErrorBound` (``ErrorBound.resolve`` reads ``--relative``
            bounds), or an absolute bound as a plain number, converted here once with ``ErrorBound(E)``;
            one that is not a positive finite number or is too small to code raises
            :class:`~compressor.errors.ConfigError` here, not at the first record. Default: None,
            fixed-rate coding.
        learned (bool): False codes without any learned part, as a classical predictive coder (see
            :func:`compressor.bounded.codec.codec_for_bundle`), for measuring the learned gain: its records
            decode only with a consumer configured likewise (the expected scale classes differ), so it is
            not a wire mode. Default: True.
        exact_when_cheaper (bool): code at the model's lossless bound (every value exact) where that
            measures fewer bytes than the asked bound over a trial (:class:`compressor.bounded.exact_choice.
            ExactChoice`; the records then name the lossless bound). False codes at the asked bound always
            (training measures each bound it fits for). Default: True.
    """

    def __init__(
        self,
        bundle: Bundle,
        error_bound: ErrorBound | float | None = None,
        learned: bool = True,
        exact_when_cheaper: bool = True,
    ) -> None:
        self.bundle = bundle
        self.learned = learned
        self.exact_when_cheaper = exact_when_cheaper
        self._error_bound = ErrorBound.of(error_bound)
        self._encoder_predictor: Predictor | None = None
        self._decoder_predictor: Predictor | None = None
        self._bounded_coder = None
        self._learned: Any = None
        self._headers: dict[tuple[int, bool], bytes] = {}

    @property
    def _encoder(self) -> Predictor:
        if self._encoder_predictor is None:
            self._encoder_predictor = self.bundle.predictor("encoder")
        return self._encoder_predictor

    @property
    def _decoder(self) -> Predictor:
        if self._decoder_predictor is None:
            self._decoder_predictor = self.bundle.predictor("decoder")
        return self._decoder_predictor

    @property
    def error_bound(self) -> ErrorBound | None:
        """The bound every encoded value is held to, or None for a fixed-rate codec."""
        return self._error_bound

    @cached_property
    def _exact_choice(self):  # noqa: ANN202 - compressor.bounded.exact_choice.ExactChoice or None
        """Whether to code the asked bound at the model's lossless bound, measured while coding (see
        ``exact_when_cheaper``); None where that cannot pay."""
        bound = self._error_bound
        if bound is None or not self.exact_when_cheaper:
            return None
        lossless = ErrorBound.lossless_if_any(self.bundle)
        if lossless is None or lossless.code == bound.code:
            return None
        from compressor.bounded.exact_choice import ExactChoice, lossless_may_pay

        if not lossless_may_pay(self.bounded_coder.params, bound.code, lossless.code):
            return None
        return ExactChoice(bound, lossless)

    @property
    def is_bounded(self) -> bool:
        """Whether :meth:`encode` writes error-bounded payloads (kinds 1 and 2; records may hold NaN and Inf)."""
        return self._error_bound is not None

    @property
    def bounded_coder(self):  # noqa: ANN201 - compressor.bounded.BoundedCodec, imported lazily
        """The error-bounded coder of this bundle (built on first use; any codec decodes bounded payloads)."""
        if self._bounded_coder is None:
            from compressor.bounded.codec import codec_for_bundle

            self._bounded_coder = codec_for_bundle(self.bundle, self.learned)
        return self._bounded_coder

    @property
    def learned_records(self):  # noqa: ANN201 - compressor.learned.LearnedRecords or None, imported lazily
        """Kind-3 coding of this bundle, or None when it has no learned model (or ``learned`` is off)."""
        if self._learned is None:
            from compressor.learned.bundle import learned_model_of

            model = learned_model_of(self.bundle) if self.learned else None
            if model is None:
                self._learned = False
            else:
                from compressor.learned.records import LearnedRecords

                self._learned = LearnedRecords(
                    model, self.bounded_coder, ErrorBound.lossless_if_any(self.bundle)
                )
        return self._learned or None

    @property
    def model_id(self) -> str:
        return self.bundle.model_id

    @property
    def wire_id(self) -> bytes:
        return self.bundle.wire_id

    @cached_property
    def record_size(self) -> int:
        """Values per record (read once: the bundle's Keras model answers slowly)."""
        return self.bundle.record_size

    def latents(self, records: np.ndarray) -> np.ndarray:
        """Encoder output for normalized ``records`` (float32, not quantized)."""
        return self._encoder(self.bundle.normalizer.forward(records))

    def decode_latents(self, latents: np.ndarray) -> np.ndarray:
        """Decoder output for unquantized ``latents``, in normalized units (the model's own reconstruction)."""
        return self._decoder(np.asarray(latents, dtype=np.float32))

    def reconstruct(self, codes: np.ndarray) -> np.ndarray:
        """Decode quantized latent codes to records in original units."""
        z = self.bundle.quantizer.dequantize(codes)
        return self.bundle.normalizer.inverse(self._decoder(z))

    def encode(self, records: np.ndarray, lengths: Sequence[int | None] | None = None) -> Encoded:
        """Encode validated float32 records of shape (N, D). ``lengths[i]`` marks a padded record.

        With an error bound, records may hold NaN and Inf (validate with ``allow_non_finite=True``). Fixed
        rate returns the batch's unquantized latents too, so nothing needs to run the encoder again."""
        records = self._check(records)
        if self._whole_fixed_rate(lengths):
            return Encoded(*self._fixed_envelopes(records, with_decoded=True))
        bodies, kinds, decoded, latents = self._code(records, with_decoded=True)
        self._padded_classical(records, lengths, bodies, kinds, decoded)
        return Encoded(self._pack(bodies, kinds, lengths), decoded, latents)

    def encode_payloads(
        self, records: np.ndarray, lengths: Sequence[int | None] | None = None
    ) -> list[bytes]:
        """:meth:`encode` without the decoded values: a fixed-rate codec then skips the decoder call."""
        records = self._check(records)
        if self._whole_fixed_rate(lengths):
            return self._fixed_envelopes(records, with_decoded=False)[0]
        bodies, kinds, _, _ = self._code(records, with_decoded=False)
        self._padded_classical(records, lengths, bodies, kinds)
        return self._pack(bodies, kinds, lengths)

    def encode_one(self, record: np.ndarray, length: int | None = None) -> bytes:
        """The envelope of one validated float32 record (D,): :meth:`encode_payloads` of a batch of one, the
        same bytes, without the batch bookkeeping (a per-record serializer's path)."""
        x = np.ascontiguousarray(record, dtype=np.float32).reshape(1, -1)
        size = self.record_size
        if x.shape[1] != size:
            raise ValueError(f"a record must have {size} values, got {x.shape[1]}")
        if self._error_bound is None:
            body, kind = self._fixed_one.encode(self._encoder, x[0]), Kind.FIXED_RATE
        elif self.learned_records is not None and not self._exact_trial:
            body, kind = self._code_learned_one(x, self._coded_at(1))
        else:
            bodies, kinds, _, _ = self._code(x, with_decoded=False)
            body, kind = bodies[0], kinds[0]
        padded = length if length and length < size else None
        if padded is not None and kind == Kind.LEARNED3_COUNTED:
            bodies, kinds = [body], [kind]
            self._padded_classical(x, [padded], bodies, kinds)
            body, kind = bodies[0], kinds[0]
        return pack_body(self._header(kind, padded is None), body, padded)

    def _padded_classical(
        self,
        records: np.ndarray,
        lengths: Sequence[int | None] | None,
        bodies: list[bytes],
        kinds: list[int],
        decoded: np.ndarray | None = None,
    ) -> None:
        """Code padded records of kind 11 again with the classical coder, in place: a padded record keeps
        the msgpack framing of version 7, and kind 11 exists only whole (wire version 9). A final partial
        window is rare; it pays the classical coder's bytes."""
        if lengths is None:
            return
        size = self.record_size
        idx = [i for i, n in enumerate(lengths) if n and n < size and kinds[i] == Kind.LEARNED3_COUNTED]
        if not idx:
            return
        classical, values, grids = self.bounded_coder.encode(records[idx], self._error_bound)
        for j, i in enumerate(idx):
            bodies[i], kinds[i] = classical[j], BOUNDED_KINDS[int(grids[j])]
            if decoded is not None:
                decoded[i] = values[j]

    @cached_property
    def _fixed_one(self) -> FixedRateOne:
        from compressor.fixed_one import FixedRateOne  # numba loads here, not for a batch codec

        return FixedRateOne(self.bundle.normalizer, self.bundle.quantizer, self.record_size)

    @cached_property
    def fixed_rate_prefix(self) -> bytes:
        """The first bytes of every whole fixed-rate envelope of this model, the same for all of them: the
        header (the body is the codes, :attr:`fixed_rate_size` bytes in all)."""
        return self._header(Kind.FIXED_RATE)

    @cached_property
    def fixed_rate_size(self) -> int:
        """The size of every whole fixed-rate envelope of this model."""
        return len(self.fixed_rate_prefix) + self.bundle.quantizer.payload_size

    def _whole_fixed_rate(self, lengths: Sequence[int | None] | None) -> bool:
        """True when a batch is coded fixed-rate and no record padded: one prefix for every envelope."""
        if self._error_bound is not None:
            return False
        size = self.record_size
        return lengths is None or not any(n and n < size for n in lengths)

    def _fixed_codes(self, records: np.ndarray, with_decoded: bool) -> tuple[np.ndarray, Any, np.ndarray]:
        """Quantized latent codes, (if asked) the values a consumer will decode, and the latents."""
        latents = self.latents(records)
        codes = self.bundle.quantizer.quantize(latents)
        return codes, self.reconstruct(codes) if with_decoded else None, latents

    def _fixed_envelopes(
        self, records: np.ndarray, with_decoded: bool
    ) -> tuple[list[bytes], np.ndarray | None, np.ndarray]:
        """Whole fixed-rate envelopes written as one array (prefix, then the codes, per row) and cut
        into records: the bytes ``pack_body`` writes for each, without building each one."""
        codes, decoded, latents = self._fixed_codes(records, with_decoded)
        prefix = np.frombuffer(self.fixed_rate_prefix, np.uint8)
        body = np.ascontiguousarray(codes, dtype=np.dtype(self.bundle.quantizer.dtype).newbyteorder("<"))
        rows = np.empty((len(codes), prefix.size + body.shape[1] * body.itemsize), np.uint8)
        rows[:, : prefix.size] = prefix
        rows[:, prefix.size :] = body.view(np.uint8).reshape(len(codes), -1)
        flat, width = rows.tobytes(), rows.shape[1]
        return [flat[i : i + width] for i in range(0, len(flat), width)], decoded, latents

    def decode_fixed_rate(self, values: Sequence[bytes]) -> np.ndarray:
        """``(N, D)`` records of whole fixed-rate envelopes of this model, each ``fixed_rate_prefix`` and
        its codes (a batch consumer's path: one array, no :class:`Envelope` per record); the values
        :meth:`decode` gives for them. Raise :class:`EnvelopeError` if one is anything else."""
        prefix, width = self.fixed_rate_prefix, self.fixed_rate_size
        joined = b"".join(values)
        if len(joined) != width * len(values) or any(len(v) != width for v in values):
            raise EnvelopeError(f"a whole fixed-rate envelope of model {self.model_id[:8]} is {width} bytes")
        rows = np.frombuffer(joined, np.uint8).reshape(len(values), width)
        if not (rows[:, : len(prefix)] == np.frombuffer(prefix, np.uint8)).all():
            raise EnvelopeError(f"not a whole fixed-rate envelope of model {self.model_id[:8]}")
        dtype = np.dtype(self.bundle.quantizer.dtype).newbyteorder("<")
        return self.reconstruct(np.ascontiguousarray(rows[:, len(prefix) :]).view(dtype))

    def _header(self, kind: int, whole: bool = True) -> bytes:
        """The envelope header of this model's records of ``kind`` (built once per kind): marked
        :data:`FRAMING_VERSION` for a whole record, and for a padded one (``whole`` False, msgpack framing)
        as version 7 marks it: the version defining its kind, or the classical coder's version."""
        head = self._headers.get((kind, whole))
        if head is None:
            if whole:
                version = FRAMING_VERSION
            else:
                version = self.bounded_coder.wire_version if kind in _KIND_GRIDS else 0
            head = self._headers[kind, whole] = header(self.wire_id, kind, version)
        return head

    def _check(self, records: np.ndarray) -> np.ndarray:
        records = np.asarray(records, dtype=np.float32)
        if records.ndim != 2 or records.shape[1] != self.record_size:
            raise ValueError(f"records must have shape (N, {self.record_size}), got {records.shape}")
        return records

    def _code(
        self, records: np.ndarray, with_decoded: bool
    ) -> tuple[list[bytes], list[int], np.ndarray | None, np.ndarray | None]:
        """Payload bodies, envelope kinds, (if asked, or free) the values a consumer will decode, and the
        unquantized latents when the coding computed them (fixed rate)."""
        if self._error_bound is not None:
            if self._exact_trial:
                choice = self._exact_choice
                asked = self._code_bounded(records, choice.asked)
                return (*choice.keep(asked, self._code_bounded(records, choice.lossless)), None)
            return (*self._code_bounded(records, self._coded_at(len(records))), None)
        codes, decoded, latents = self._fixed_codes(records, with_decoded)
        bodies = self.bundle.quantizer.to_bytes(codes)
        return bodies, [Kind.FIXED_RATE] * len(bodies), decoded, latents

    @property
    def _exact_trial(self) -> bool:
        """Whether the next records are coded at both the asked and the lossless bound."""
        return self._exact_choice is not None and self._exact_choice.on_trial

    def _coded_at(self, n: int) -> ErrorBound:
        """The bound ``n`` records are about to be coded at, outside a trial (counted toward the next)."""
        choice = self._exact_choice
        if choice is None:
            return self._error_bound
        choice.coded(n)
        return choice.bound

    def _code_bounded(
        self, records: np.ndarray, bound: ErrorBound
    ) -> tuple[list[bytes], list[int], np.ndarray]:
        """Error-bounded bodies, kinds and decoded values at ``bound``."""
        if self.learned_records is None:
            bodies, decoded, grids = self.bounded_coder.encode(records, bound)
            return bodies, [BOUNDED_KINDS[g] for g in grids.tolist()], decoded
        return self._code_learned(records, bound)

    def _code_learned(
        self, records: np.ndarray, bound: ErrorBound
    ) -> tuple[list[bytes], list[int], np.ndarray]:
        """Error-bounded bodies, kinds and decoded values with a learned model: kind 3 where its payload
        is the smaller one, among the records coded both ways (:class:`~compressor.learned.choice.
        ClassicalTrials` picks them: every record, or where one coder has proven not to pay, one record in
        SAMPLE next to every record of the other coder)."""
        trials = self.learned_records.trials
        code = bound.code
        picked = trials.learned_rows(code, len(records))
        if picked is not None:  # the classical coder codes every record, the learned coder the picked ones
            bodies, values, grids = self.bounded_coder.encode(records, bound)
            kinds = [BOUNDED_KINDS[g] for g in grids.tolist()]
            if picked.size:
                learned, decoded, learned_kinds = self.learned_records.encode(records[picked], bound)
                sizes = np.array([-1 if b is None else len(b) for b in learned], np.int64)
                lengths = np.array([len(bodies[i]) for i in picked.tolist()], np.int64)
                trials.record(code, sizes, lengths)
                for j, i in enumerate(picked.tolist()):
                    if 0 <= sizes[j] < lengths[j]:
                        bodies[i] = learned[j]
                        kinds[i] = learned_kinds[j]
                        values[i] = decoded[j]
            return bodies, kinds, values
        learned, decoded, kinds = self.learned_records.encode(records, bound)
        sizes = np.array([-1 if b is None else len(b) for b in learned], np.int64)
        bodies: list[bytes] = [b"" if b is None else b for b in learned]
        idx = trials.rows(code, sizes)
        if idx.size:
            classical, values, grids = self.bounded_coder.encode(records[idx], bound)
            lengths = np.array([len(b) for b in classical], np.int64)
            trials.record(code, sizes[idx], lengths)
            for j, i in enumerate(idx.tolist()):
                if sizes[i] < 0 or lengths[j] <= sizes[i]:
                    bodies[i] = classical[j]
                    kinds[i] = BOUNDED_KINDS[int(grids[j])]
                    decoded[i] = values[j]
        return bodies, kinds, decoded

    def _code_learned_one(self, x: np.ndarray, bound: ErrorBound) -> tuple[bytes, int]:
        """:meth:`_code_learned` of one record ``x`` (1, D), without the decoded values: the same body and
        kind, and the same effect on the classical trials."""
        code = bound.code
        trials = self.learned_records.trials
        picked = trials.learned_rows(code, 1)
        if picked is not None:
            classical, _, grids = self.bounded_coder.encode(x, bound)
            body, kind = classical[0], BOUNDED_KINDS[int(grids[0])]
            if picked.size:
                learned = self.learned_records.encode_one(np.ascontiguousarray(x[0]), code)
                size = -1 if learned is None else len(learned[0])
                trials.record(code, np.array([size]), np.array([len(body)]))
                if 0 <= size < len(body):
                    return learned
            return body, kind
        learned = self.learned_records.encode_one(np.ascontiguousarray(x[0]), code)
        size = -1 if learned is None else len(learned[0])
        if trials.take(code, size):
            classical, _, grids = self.bounded_coder.encode(x, bound)
            trials.record(code, np.array([size]), np.array([len(classical[0])]))
            if size < 0 or len(classical[0]) <= size:
                return classical[0], BOUNDED_KINDS[int(grids[0])]
        return learned

    def _pack(
        self, bodies: list[bytes], kinds: list[int], lengths: Sequence[int | None] | None
    ) -> list[bytes]:
        size, head = self.record_size, self._header
        if lengths is None:
            return [pack_body(head(kind), body) for body, kind in zip(bodies, kinds, strict=True)]
        padded = [n if n and n < size else None for n in lengths]
        return [
            pack_body(head(kind, n is None), body, n)
            for body, kind, n in zip(bodies, kinds, padded, strict=True)
        ]

    def _check_envelope(self, env: Envelope, wire_id: bytes) -> None:
        """Raise the typed error for an envelope this codec (of ``wire_id``) cannot decode."""
        if env.model_id != wire_id:
            raise UnknownModelError(
                f"envelope for model {env.model_id.hex()} handed to codec {wire_id.hex()}"
            )
        if env.kind == Kind.FIXED_RATE:
            expected = self.bundle.quantizer.payload_size
            if len(env.payload) != expected:
                raise EnvelopeError(
                    f"fixed-rate payload is {len(env.payload)} bytes, model {self.model_id[:8]} expects {expected}"
                )
        elif env.kind in LEARNED_KINDS:
            if self.learned_records is None:
                raise EnvelopeError(
                    f"learned-model payload, but model {self.model_id[:8]} has no learned model"
                )
            self.learned_records.check_kind(env.kind, self.model_id[:8])
        elif env.kind not in _KIND_GRIDS:
            raise EnvelopeError(f"envelope kind {env.kind} is not supported by this codec")
        if env.length is not None and env.length > self.record_size:
            raise EnvelopeError(f"declared length {env.length} exceeds the record size {self.record_size}")

    def decode_one(self, envelope: Envelope) -> np.ndarray:
        """:meth:`decode` of one envelope, the same values, without the batch bookkeeping (a per-record
        deserializer's path)."""
        self._check_envelope(envelope, self.wire_id)
        kind = envelope.kind
        if kind == Kind.FIXED_RATE:
            values = self._fixed_one.decode(self._decoder, envelope.payload)
        elif kind in LEARNED_KINDS:
            values = self.learned_records.decode_one(envelope.payload, kind)[0]
        else:
            values = self.bounded_coder.decode([envelope.payload], [_KIND_GRIDS[kind]], [envelope.version7])[
                0
            ][0]
        return values if envelope.length is None else values[: envelope.length]

    def decode(self, envelopes: Sequence[Envelope]) -> list[np.ndarray]:
        """Decode envelopes of this model, either kind; each result is trimmed to its record's true length."""
        return self.decode_with_bounds(envelopes)[0]

    def decode_with_bounds(
        self, envelopes: Sequence[Envelope]
    ) -> tuple[list[np.ndarray], list[float | None]]:
        """:meth:`decode`, plus the error bound each record was coded with (None for fixed-rate records)."""
        if not envelopes:
            return [], []
        wire_id, fixed_size, fixed_kind = (
            self.wire_id,
            self.bundle.quantizer.payload_size,
            int(Kind.FIXED_RATE),
        )
        # the learned kinds of which one whole record passed the checks: the others skip them
        learned_kinds: set[int] = set()
        fixed: list[int] = []
        bounded: list[int] = []
        learned: list[int] = []
        for i, env in enumerate(envelopes):
            if env.model_id == wire_id and env.length is None:
                # a whole record of this model that needs nothing more checked
                if env.kind == fixed_kind and len(env.payload) == fixed_size:
                    fixed.append(i)
                    continue
                if env.kind in learned_kinds:
                    learned.append(i)
                    continue
            self._check_envelope(env, wire_id)  # past it, a kind is fixed-rate, learned or bounded
            if env.kind == fixed_kind:
                fixed.append(i)
            elif env.kind in LEARNED_KINDS:
                learned.append(i)
                if env.length is None:
                    learned_kinds.add(env.kind)
            else:
                bounded.append(i)
        decoded = np.empty((len(envelopes), self.record_size), dtype=np.float32)
        if fixed:
            codes = self.bundle.quantizer.from_bytes([envelopes[i].payload for i in fixed])
            decoded[fixed] = self.reconstruct(codes)
        bounds: list[float | None] = [None] * len(envelopes)
        if learned:
            values, coded_bounds = self.learned_records.decode(
                [envelopes[i].payload for i in learned], [envelopes[i].kind for i in learned]
            )
            decoded[learned] = values
            for i, bound in zip(learned, coded_bounds.tolist(), strict=True):
                bounds[i] = bound
        if bounded:
            values, coded_bounds = self.bounded_coder.decode(
                [envelopes[i].payload for i in bounded],
                [_KIND_GRIDS[envelopes[i].kind] for i in bounded],
                [envelopes[i].version7 for i in bounded],
            )
            decoded[bounded] = values
            for i, bound in zip(bounded, coded_bounds.tolist(), strict=True):
                bounds[i] = bound
        rows = [
            row if e.length is None else row[: e.length] for row, e in zip(decoded, envelopes, strict=True)
        ]
        return rows, bounds
