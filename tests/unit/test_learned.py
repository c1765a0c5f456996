"""The learned probability model (envelope kinds 3, 6 and 8): exact integer coding, the stored model, the codec."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.envelope import LEARNED_KINDS
from compressor.errors import BundleError, EnvelopeError
from compressor.learned import kernel
from compressor.learned.coder import decode_stream, decode_streams, encode_streams
from compressor.learned.model import VERSIONS, LearnedModel, classes_of, fit_table, table_layout_of
from compressor.learned.train import fit_tables


def _model(cols: int, seed: int = 0, hidden: int = 8, version: int = 1) -> LearnedModel:
    rng = np.random.default_rng(seed)
    extra = {}
    if version >= 2:
        context = rng.uniform(0, 2, size=(1 + cols, kernel.N_CONTEXT))
        extra = {
            "version": version,
            "first_mean": np.linspace(-3, 3, cols),
            "spread": np.full(cols, 40.0),
            "first_slope": rng.normal(size=cols) * 0.5,
            "cross": rng.normal(size=(cols, kernel.XC)) * 0.3,
            "context": context,
            "limits": np.array([np.full(cols, -300.0), np.full(cols, 300.0)]),
        }
    nf = kernel.N_DIFF if version < 2 else kernel.N_FEAT
    model = LearnedModel(
        w1=(rng.normal(size=(nf + min(cols, 16), hidden)) * 0.3).astype(np.float32),
        b1=(rng.normal(size=hidden) * 0.1).astype(np.float32),
        w2=(rng.normal(size=hidden) * 0.3).astype(np.float32),
        b2=0.01,
        sigma=np.full(cols, 3.0),
        mean=np.linspace(-5, 5, cols),
        first_dev=np.full(cols, 20.0),
        residual=np.full(cols, 2.0),
        tables=[],
        **extra,
    )
    _, means, sides = model.table_layout
    model.tables = [
        fit_table(np.zeros(kernel.NSYM), m, int(side)) for m, side in zip(means, sides, strict=True)
    ]
    return model


def _walks(n: int, rows: int, cols: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = np.cumsum(rng.integers(-4, 5, size=(n, rows, cols)), axis=1)
    q[:, :, 1:] += q[:, :, :1] // 2  # cross-column structure
    return q.astype(np.int64)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_streams_decode_to_the_same_integers_with_escapes_and_huge_values(version: int) -> None:
    model = _model(3, version=version)
    q = _walks(40, 32, 3)
    q[3, 10, 1] += 10**9  # far beyond the tables: escape symbols
    q[4] = -(2**39)  # a record far from the center
    steps = np.array([1.0, 0.5, 2.0])
    fit_tables(model, [(q[5:], steps)])
    streams = encode_streams(model, q, steps)
    out, ok = decode_streams(model, streams, steps, (32, 3))
    assert ok.all()
    assert np.array_equal(out, q)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_fitted_tables_shrink_the_streams(version: int) -> None:
    model = _model(2, version=version)
    q = _walks(60, 64, 2)
    steps = np.ones(2)
    before = sum(map(len, encode_streams(model, q, steps)))
    fit_tables(model, [(q, steps)])
    after = sum(map(len, encode_streams(model, q, steps)))
    assert after < 0.95 * before


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_damaged_stream_is_reported_not_misread(version: int) -> None:
    model = _model(2, version=version)
    q = _walks(6, 64, 2)
    steps = np.ones(2)
    streams = encode_streams(model, q, steps)
    damaged = [streams[0][:-2], streams[1] + b"\0\0", streams[2][:3], streams[3]]
    flipped = bytearray(streams[4])
    flipped[len(flipped) // 2] ^= 0x5A
    damaged.append(bytes(flipped))
    out, ok = decode_streams(model, damaged, steps, (64, 2))
    assert ok.tolist()[:3] == [False, False, False]
    assert ok[3] and np.array_equal(out[3], q[3])
    assert not ok[4] or not np.array_equal(out[4], q[4]) or bytes(flipped) == streams[4]
    # the one-stream path (a per-record deserializer's) reaches the batch's verdict on each stream
    for stream, good, values in zip(
        [*damaged, b"", b"\0" * 5], [*ok, False, False], [*out, None, None], strict=True
    ):
        one = decode_stream(model, stream, steps, (64, 2))
        assert (one is not None) == good
        assert one is None or np.array_equal(one, values)


def test_class_layouts_are_computed_once_and_read_only() -> None:
    for version in VERSIONS:
        assert classes_of(version) is classes_of(version)
        for sided in (False, True):
            layout = table_layout_of(version, sided)
            assert layout is table_layout_of(version, sided)
            assert len(layout[0]) == len(classes_of(version)[1]) * (3 if sided else 1)
            for a in (*classes_of(version), *layout):
                with pytest.raises(ValueError, match="read-only"):
                    a[0] = a[0]


def test_integer_weights_follow_the_grid_exactly() -> None:
    model = _model(2)
    a = model.params(np.array([1.0, 1.0]))
    b = model.params(np.array([1.0, 1.0]))
    assert a is b  # cached per grid
    c = model.params(np.array([0.25, 0.25]))
    assert c.w1.dtype == np.int32 and c.w1.shape == (2, kernel.N_FEAT, 8)
    assert not c.w1[:, kernel.N_DIFF :].any()  # version 1 reads no level feature
    assert (c.center == np.rint(model.mean / 0.25)).all()
    # a finer grid: each feature unit is worth less, the prediction is worth more grid units
    assert np.abs(c.w2).sum() > 3 * np.abs(a.w2).sum()


def test_version_2_context_weights_and_limits_follow_the_grid() -> None:
    model = _model(3, version=2)
    steps = np.array([1.0, 0.5, 2.0])
    p = model.params(steps)
    assert (p.low == np.rint(-300.0 / steps)).all() and (p.high == np.rint(300.0 / steps)).all()
    # a magnitude read from column c-1 is brought to column c's grid units by the ratio of steps
    left = [i for i, (_, dc) in enumerate(kernel.CONTEXT_FEATURES) if dc == -1][0]
    assert p.context[1, 1, left] == np.rint(model.context[2, left] * 2.0 * 2**kernel.CW_BITS)
    assert p.context[1, 0, left] == 0  # the first column has no column before it
    assert p.cross[0].sum() == 0 and p.cross[2, 0] == np.rint(model.cross[2, 0] * 0.25 * 2**20)
    n = len(model.classes[0]) + 1
    unlimited = LearnedModel.from_json(dict(model.to_json(), limits=None, tables=model.tables[:n])).params(
        steps
    )
    assert unlimited.high[0] == 2**42


def test_predictions_at_a_limit_use_their_one_sided_tables() -> None:
    model = _model(2, version=2)
    q = np.clip(_walks(30, 48, 2) * 20, -300, 300)  # long runs at both limits
    steps = np.ones(2)
    fit_tables(model, [(q, steps)])
    p = model.params(steps)
    r, k, _ = kernel.residuals(q, p.predictor_args(), model.classes[0])
    n = len(model.classes[0]) + 1
    at_low, at_high = (k >= n) & (k < 2 * n), k >= 2 * n
    assert at_low.any() and at_high.any()
    assert (r[at_low] >= 0).all() and (r[at_high] <= 0).all()
    assert len(model.tables) == 3 * n
    out, ok = decode_streams(model, encode_streams(model, q, steps), steps, (48, 2))
    assert ok.all() and np.array_equal(out, q)
    # without limits the model stores one table per class and never offsets a class
    free = LearnedModel.from_json({**model.to_json(), "limits": None, "tables": model.tables[:n]})
    assert (kernel.residuals(q, free.params(steps).predictor_args(), free.classes[0])[1] < n).all()


def test_an_unknown_model_version_is_refused_by_name() -> None:
    spec = _model(2, version=2).to_json()
    assert LearnedModel.from_json(spec).version == 2
    with pytest.raises(BundleError, match="learned model version 5 is not supported"):
        LearnedModel.from_json(dict(spec, version=5))
    with pytest.raises(BundleError, match="inconsistent"):
        LearnedModel.from_json(dict(spec, cross=[[0.0]]))


@pytest.mark.parametrize("version", [1, 2, 3])
def test_model_json_round_trip_and_damaged_tables(version: int) -> None:
    model = _model(2, version=version)
    spec = model.to_json()
    again = LearnedModel.from_json(spec)
    q = _walks(5, 16, 2)
    steps = np.ones(2)
    assert encode_streams(model, q, steps) == encode_streams(again, q, steps)
    bad = dict(spec, tables=[*spec["tables"][:-1], dict(spec["tables"][-1], escape=5)])
    with pytest.raises(BundleError, match="sum"):
        LearnedModel.from_json(bad)
    with pytest.raises(BundleError):
        LearnedModel.from_json(dict(spec, mean=[0.0]))


@pytest.fixture(scope="module")
def series_bundle():  # noqa: ANN201
    """A model trained at defaults on two correlated integer series (window 32)."""
    from compressor.training import TrainingConfig, train

    rng = np.random.default_rng(3)
    t = np.arange(320 * 32)
    a = np.rint(300 * np.sin(t / 9) + 40 * np.sin(t / 2.3) + rng.normal(0, 2, t.size))
    b = np.rint(0.6 * a + 80 * np.cos(t / 13) + rng.normal(0, 2, t.size))
    records = np.stack([a, b], axis=1).astype(np.float32).reshape(320, 64)
    bundle, _ = train(records[:240], window=32, channels=2, config=TrainingConfig(epochs=3), progress=False)
    return bundle, records[240:]


def test_training_keeps_the_model_and_the_codec_uses_kind_8(series_bundle) -> None:
    from compressor.codec import Codec
    from compressor.envelope import Kind, unpack

    bundle, test = series_bundle
    section = bundle.learned
    assert section.model is not None, section
    for name, sizes in section.heldback.items():
        assert sizes["bytes_with"] <= sizes["bytes_without"], name
    for bound in (0.4, 3.0, 17.0):  # lossless (integers), a few quanta, a bound no training grid had
        producer = Codec(bundle, error_bound=bound)
        encoded = producer.encode(test)
        envelopes = [unpack(p) for p in encoded.payloads]
        assert sum(e.kind == Kind.LEARNED3 for e in envelopes) > len(test) // 2, bound
        decoded, bounds = Codec(bundle).decode_with_bounds(envelopes)
        decoded = np.stack(decoded)
        assert np.array_equal(decoded, encoded.decoded)
        assert np.abs(decoded.astype(np.float64) - test).max() <= bound
        assert max(bounds) <= bound
        classical = Codec(bundle, error_bound=bound, learned=False).encode(test)
        assert sum(map(len, encoded.payloads)) < sum(map(len, classical.payloads))


def test_records_off_the_grid_keep_the_other_kinds(series_bundle) -> None:
    from compressor.codec import Codec
    from compressor.envelope import unpack

    bundle, test = series_bundle
    records = test[:4].copy()
    records[0, 3] = np.nan
    records[1, 7] = np.inf
    encoded = Codec(bundle, error_bound=0.4).encode(records)
    kinds = [unpack(p).kind for p in encoded.payloads]
    assert kinds[0] not in LEARNED_KINDS and kinds[1] not in LEARNED_KINDS
    decoded = np.stack(Codec(bundle).decode([unpack(p) for p in encoded.payloads]))
    assert np.isnan(decoded[0, 3]) and decoded[1, 7] == np.inf


def test_a_learned_record_is_refused_by_a_model_without_one_or_of_the_other_version(series_bundle) -> None:
    from compressor.codec import Codec
    from compressor.envelope import Envelope, Kind, unpack

    bundle, test = series_bundle
    env = unpack(Codec(bundle, error_bound=0.4).encode(test[:1]).payloads[0])
    assert env.kind == Kind.LEARNED3
    bare = Codec(bundle, learned=False)
    with pytest.raises(EnvelopeError, match="no learned model"):
        bare.decode([env])
    with pytest.raises(EnvelopeError):
        Codec(bundle).decode([Envelope(env.model_id, Kind.LEARNED3, env.payload[:4])])
    # kinds 3 and 6 name a version-1 and a version-2 model: a version-3 or 4 model does not misread them
    for kind in (Kind.LEARNED, Kind.LEARNED2):
        with pytest.raises(
            EnvelopeError, match=f"kind-{kind} payload, but the learned model .* is version [34]"
        ):
            Codec(bundle).decode([Envelope(env.model_id, kind, env.payload)])


def test_a_section_without_a_model_leaves_the_codec_classical(series_bundle) -> None:
    import dataclasses

    from compressor.codec import Codec
    from compressor.envelope import unpack

    bundle, test = series_bundle
    from compressor.learned.bundle import LearnedSection

    section = LearnedSection(layout=[32, 2], reason="does not pay")
    plain = dataclasses.replace(bundle, learned=section)
    kinds = {unpack(p).kind for p in Codec(plain, error_bound=0.4).encode(test).payloads}
    assert not kinds & set(LEARNED_KINDS)


def test_where_the_classical_coder_stops_paying_it_runs_on_a_sample_only(series_bundle, monkeypatch) -> None:
    from compressor.codec import Codec
    from compressor.envelope import Kind, unpack
    from compressor.learned import choice

    bundle, test = series_bundle
    monkeypatch.setattr(choice, "COMPARE", 8)
    producer = Codec(bundle, error_bound=0.4)  # lossless on these integers: kind 3 wins nearly always
    calls: list[int] = []
    encode = producer.bounded_coder.encode
    producer.bounded_coder.encode = lambda records, bound: (
        calls.append(len(records)) or encode(records, bound)
    )
    first = producer.encode(test)
    assert calls == [len(test)]  # nothing measured yet: every record both ways
    assert producer.learned_records.trials.saving(producer.error_bound.code) < choice.MIN_SAVING
    again = producer.encode(test)
    # one record in SAMPLE, in runs of RUN: at most a run per SAMPLE * RUN records
    assert calls[1] <= choice.RUN * -(-len(test) // (choice.SAMPLE * choice.RUN))
    envelopes = [unpack(p) for p in again.payloads]
    assert all(e.kind == Kind.LEARNED3 for e in envelopes)
    decoded = np.stack(Codec(bundle).decode(envelopes))
    assert np.array_equal(decoded, again.decoded)
    assert np.array_equal(decoded, first.decoded)
    assert np.abs(decoded.astype(np.float64) - test).max() <= 0.4


@pytest.mark.parametrize(("signs", "levels"), [(3, 1), (9, 1), (1, 8), (9, 32)])
def test_sign_contexts_and_levels_pick_the_table_training_counts_in(signs: int, levels: int) -> None:
    from compressor.learned.train import class_residuals, table_index

    model = _model(3, version=3)  # limits -300..300
    model.signs, model.levels = signs, levels
    q = np.clip(_walks(40, 24, 3) * 6, -300, 300)
    steps = np.array([1.0, 0.5, 2.0])
    fit_tables(model, [(q, steps)])
    p = model.params(steps)
    r, k, _ = kernel.residuals(q, p.predictor_args(), model.classes[0])
    ((r1, k1, pred, low, high),) = class_residuals(model, [(q, steps)])
    assert np.array_equal(r, r1) and k1.max() < len(model.table_layout[0]) // (signs * levels)
    assert np.array_equal(k, table_index(k1, r1, signs, levels, pred, low, high))  # the kernel's, from numpy
    assert len(np.unique(k // levels % signs)) == signs and len(np.unique(k % levels)) == levels
    tmap, shifts = model.stored()
    assert len(tmap) == len(model.table_layout[0]) and np.array_equal(shifts[tmap], model.table_layout[0])
    # a context's own table only where training saw it often, its class's pooled one elsewhere
    pooled = len(model.table_layout[0]) // (signs * levels)
    assert pooled + (signs * levels <= 9) <= len(model.tables) < len(tmap)
    again = LearnedModel.from_json(model.to_json())
    out, ok = decode_streams(again, encode_streams(model, q, steps), steps, (24, 3))
    assert ok.all() and np.array_equal(out, q)
    with pytest.raises(BundleError, match="signs 4"):
        LearnedModel.from_json(dict(model.to_json(), signs=4))
    with pytest.raises(BundleError, match="levels 5"):
        LearnedModel.from_json(dict(model.to_json(), levels=5))
    with pytest.raises(BundleError, match="inconsistent"):
        LearnedModel.from_json(dict(model.to_json(), table_map=[0] * len(tmap)))  # another class's table
    if levels > 1:
        with pytest.raises(BundleError, match="inconsistent"):
            LearnedModel.from_json(dict(model.to_json(), limits=None))  # levels without limits


def test_version_3_streams_start_at_state_1_and_carry_a_3_or_4_byte_state() -> None:
    from compressor.learned.coder import split_stream

    model = _model(2, version=3)
    q = _walks(200, 16, 2)
    steps = np.ones(2)
    fit_tables(model, [(q, steps)])
    old = LearnedModel.from_json(dict(model.to_json(), version=2))
    new_streams, old_streams = encode_streams(model, q, steps), encode_streams(old, q, steps)
    assert sum(map(len, new_streams)) < sum(map(len, old_streams)) - len(q)  # over a byte per record
    heads = {len(s) - len(split_stream(model, s)[1]) for s in new_streams if len(s) > 4}
    assert heads == {3, 4}
    # records of one row code in a state alone, without words, of 4 bytes or fewer
    rows1 = q[:, :1]
    short = encode_streams(model, rows1, steps)
    assert min(map(len, short)) < 4 and max(map(len, short)) <= 4
    out, ok = decode_streams(model, short, steps, (1, 2))
    assert ok.all() and np.array_equal(out, rows1)
    assert all(
        np.array_equal(decode_stream(model, s, steps, (1, 2)), v) for s, v in zip(short, rows1, strict=True)
    )


def test_a_learned_section_says_what_was_kept_and_what_it_saved() -> None:
    from compressor.learned.bundle import LearnedSection

    heldback = {
        "rel 0.01": {"bytes_without": 1000, "bytes_with": 932},
        "lossless": {"bytes_without": 500, "bytes_with": 500},
    }
    kept = LearnedSection([128, 1], heldback, {"version": 4, "period": 49}).describe()
    assert (
        kept
        == "kept (version 4, seasonal term of period 49 rows); held-back bytes rel 0.01 -6.8%, lossless +0.0%"
    )
    assert (
        LearnedSection([128, 1], heldback, {"version": 3})
        .describe()
        .startswith("kept (version 3); held-back")
    )
    dropped = LearnedSection([128, 1], {}, None, "does not pay").describe()
    assert dropped == "not kept: does not pay"


def test_fit_season_finds_a_drifting_period_and_nothing_in_noise() -> None:
    from compressor.learned.train import fit_season

    rng = np.random.default_rng(5)
    n, steps, period = 200, 63, 20
    shape = rng.normal(0, 1, (n, period))
    shape[1:] = 0.9 * shape[:-1] + 0.4 * rng.normal(0, 1, (n - 1, period))
    changes = np.tile(shape, (1, 4))[:, :steps] + 0.1 * rng.normal(0, 1, (n, steps))
    found, season = fit_season(changes[..., None], changes[..., None], np.ones((n, steps, 1)))
    assert found in (period - 1, period, period + 1) and np.abs(season).max() > 0.5
    noise = rng.normal(0, 1, (n, steps, 2))
    assert fit_season(noise, noise, np.ones_like(noise)) == (0, None)
