"""The codec core: records <-> envelopes for one model bundle. No Kafka here.

Encoding a batch makes exactly one encoder call and one decoder call (the latter computes the values the
consumer will decode, so quality is measured on what actually arrives). Decoding groups by nothing: the
caller hands in envelopes of one model id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compressor.bundle import Bundle
from compressor.envelope import Envelope, Kind, pack
from compressor.errors import EnvelopeError, UnknownModelError
from compressor.inference import Predictor

__all__ = ["Codec", "Encoded"]


@dataclass(frozen=True)
class Encoded:
    payloads: list[bytes]  # one packed envelope per record
    decoded: np.ndarray  # (N, D) float32: exactly what a consumer will decode


class Codec:
    """Fixed-rate autoencoder codec of one bundle."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self._encoder = Predictor(bundle.encoder)
        self._decoder = Predictor(bundle.decoder)

    @property
    def model_id(self) -> str:
        return self.bundle.model_id

    @property
    def wire_id(self) -> bytes:
        return self.bundle.wire_id

    @property
    def record_size(self) -> int:
        return self.bundle.record_size

    def latents(self, records: np.ndarray) -> np.ndarray:
        """Encoder output for normalized ``records`` (float32, not quantized)."""
        return self._encoder(self.bundle.normalizer.forward(records))

    def reconstruct(self, codes: np.ndarray) -> np.ndarray:
        """Decode quantized latent codes to records in original units."""
        z = self.bundle.quantizer.dequantize(codes)
        return self.bundle.normalizer.inverse(self._decoder(z))

    def encode(self, records: np.ndarray, lengths: Sequence[int | None] | None = None) -> Encoded:
        """Encode validated float32 records of shape (N, D). ``lengths[i]`` marks a padded record."""
        codes = self.bundle.quantizer.quantize(self.latents(records))
        decoded = self.reconstruct(codes)
        wire = self.wire_id
        bodies = self.bundle.quantizer.to_bytes(codes)
        if lengths is None:
            payloads = [pack(Envelope(wire, Kind.FIXED_RATE, body)) for body in bodies]
        else:
            payloads = [
                pack(Envelope(wire, Kind.FIXED_RATE, body, n if n and n < records.shape[1] else None))
                for body, n in zip(bodies, lengths, strict=True)
            ]
        return Encoded(payloads, decoded)

    def decode(self, envelopes: Sequence[Envelope]) -> list[np.ndarray]:
        """Decode envelopes of this model; each result is trimmed to its record's true length."""
        if not envelopes:
            return []
        expected = self.bundle.quantizer.payload_size
        for env in envelopes:
            if env.model_id != self.wire_id:
                raise UnknownModelError(f"envelope for model {env.model_id.hex()} handed to codec {self.wire_id.hex()}")
            if env.kind != Kind.FIXED_RATE:
                raise EnvelopeError(f"envelope kind {env.kind} is not supported by the fixed-rate codec")
            if len(env.payload) != expected:
                raise EnvelopeError(
                    f"fixed-rate payload is {len(env.payload)} bytes, model {self.model_id[:8]} expects {expected}"
                )
            if env.length is not None and env.length > self.record_size:
                raise EnvelopeError(f"declared length {env.length} exceeds the record size {self.record_size}")
        decoded = self.reconstruct(self.bundle.quantizer.from_bytes([e.payload for e in envelopes]))
        return [row if e.length is None else row[: e.length] for row, e in zip(decoded, envelopes, strict=True)]
