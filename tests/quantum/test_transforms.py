"""The FFTW backend of the DST-I pair against scipy's, the 'auto' choice and the per-host cache."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kickedpair.quantum import basis, sine_transforms
from kickedpair.quantum import two_particle as tp
from kickedpair.quantum.sine_transforms import AxisTransform, fftw_dst_down, fftw_dst_up


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Choices and wisdom of these tests go to a file of their own; each test starts with the
    choices of a fresh process (none known, none met, the cache not yet read)."""
    monkeypatch.setenv("KICKEDPAIR_FFT_CACHE", str(tmp_path / "fft-cache.json"))
    monkeypatch.setattr(sine_transforms, "_KNOWN", {})
    monkeypatch.setattr(sine_transforms, "_MET", {})
    monkeypatch.setattr(sine_transforms, "_CACHE_LOADED", False)


def _random(shape, seed=0, dtype=complex):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if dtype is complex else x


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


SHAPES = [(31, 15), (63, 7), (20, 9), (1, 5), (5, 1), (4, 3, 7)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", [complex, float], ids=["complex128", "float64"])
def test_fftw_equals_scipy_along_every_axis(shape, dtype):
    x = _random(shape, dtype=dtype)
    for axis in range(-1, len(shape)):
        for ours, theirs in ((fftw_dst_up, basis.dst_up), (fftw_dst_down, basis.dst_down)):
            want = theirs(x, axis=axis)
            got = ours(x, axis=axis)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert _rel(got, want) < 2e-15, (ours.__name__, axis)


def test_fftw_takes_non_contiguous_input_and_leaves_it_alone_unless_allowed():
    base = _random((40, 30))
    for x in (base.T, base[::2, 1::3], base[:, :15]):
        keep = x.copy()
        for axis in (0, 1):
            assert _rel(fftw_dst_up(x, axis=axis), basis.dst_up(keep, axis=axis)) < 2e-15
            assert np.array_equal(x, keep)
            assert _rel(fftw_dst_down(x, axis=axis, overwrite_x=True), basis.dst_down(keep, axis=axis)) < 2e-15
    x = _random((31, 7))
    keep = x.copy()
    y = fftw_dst_up(x, axis=0)
    assert y is not x and np.array_equal(x, keep)  # out of place by default
    z = fftw_dst_up(x, axis=0, overwrite_x=True)
    assert z is x and np.array_equal(z, y)  # in place: the same numbers


@pytest.mark.parametrize("N", [7, 31, 20])
def test_round_trip_and_exact_scaling(N):
    for axis, shape in ((0, (N, 6)), (1, (6, N))):
        x = _random(shape, seed=N)
        assert _rel(fftw_dst_down(fftw_dst_up(x, axis=axis), axis=axis), x) < 2e-15
        up = fftw_dst_up(x, axis=axis)
        down = fftw_dst_down(x, axis=axis)
        # dst_down is the unscaled transform times 1/(2 (N + 1)), nothing else
        assert np.array_equal(down, up * (1.0 / (2 * (N + 1))))
        if basis.is_power_of_two_size(N):  # then that factor is a power of two: no rounding
            assert np.array_equal(down * (2 * (N + 1)), up)


def test_other_dtypes_go_to_scipy():
    x = _random((15, 4)).astype(np.complex64)
    got = fftw_dst_up(x, axis=0)
    assert got.dtype == np.complex64
    assert np.array_equal(got, basis.dst_up(x, axis=0))


@pytest.mark.parametrize("fft", ["scipy", "fftw", "auto"])
def test_axis_transforms_and_sandwich_agree_with_scipy(fft):
    shape = (63, 15)
    x = _random(shape, seed=3)
    tr = {axis: AxisTransform(shape, axis, None, fft) for axis in (0, 1)}
    assert all(t.backend in sine_transforms.BACKENDS for t in tr.values())
    if fft != "auto":
        assert {t.backend for t in tr.values()} == {fft}
    for axis in (0, 1):
        assert _rel(tr[axis].up(x.copy()), basis.dst_up(x, axis=axis)) < 2e-15
        assert _rel(tr[axis].down(x.copy()), basis.dst_down(x, axis=axis)) < 2e-15
    rng = np.random.default_rng(4)
    phases = [np.exp(1j * rng.uniform(0, 6, (63, 1))), np.exp(1j * rng.uniform(0, 6, shape))]
    for _ in range(2):  # the second round finds the folded phases in the cache
        for phase in phases + [phases[0].copy() * 1j]:  # a new array of the same shape: not the cached one
            want = basis.dst_up(basis.dst_down(x, axis=0) * phase, axis=0)
            assert _rel(tr[0].sandwich(x.copy(), phase), want) < 4e-15


def test_fftw_holds_no_array_of_a_propagator_that_is_done_with():
    """The scaled phase copies live as long as their phase; released plans free their arrays
    (a pilot's or a convergence variant's propagator must not stay in memory beside the next)."""
    import gc
    import weakref

    shape = (63, 15)
    axis = AxisTransform(shape, 0, fft="fftw")
    a = np.ones(shape, dtype=np.complex128)
    phase = np.exp(1j * np.linspace(0.0, 1.0, shape[0]))[:, None]
    axis.sandwich(a, phase)
    assert len(axis._scaled_phases) == 1
    del phase
    gc.collect()
    assert axis._scaled_phases == {}

    state = np.ones(shape, dtype=np.complex128)
    alive = weakref.ref(state)
    axis.sandwich(state, np.ones((shape[0], 1)))
    del state
    gc.collect()
    assert alive() is not None  # the cached plan holds the array of its last call
    sine_transforms.release_plans()
    gc.collect()
    assert alive() is None
    b = axis.sandwich(np.ones(shape, dtype=np.complex128), np.ones((shape[0], 1)))  # plans again
    np.testing.assert_allclose(b, np.ones(shape), atol=1e-12)


def test_auto_records_its_choice_with_the_timings(tmp_path):
    shape = (31, 7)
    backend = sine_transforms.choose_backend(shape, 0, 1, "auto")
    assert backend in ("scipy", "fftw")
    rec = sine_transforms.chosen_backends()["31x7 axis 0 threads 1"]
    assert rec["backend"] == backend and rec["how"] == "timed"
    assert rec["scipy_s"] > 0 and rec["fftw_s"] > 0 and rec["plan_s"] >= 0
    assert json.loads((tmp_path / "fft-cache.json").read_text())["choices"]["31x7 axis 0 threads 1"] == rec
    assert sine_transforms.choose_backend(shape, 0, 1, "auto") == backend  # kept for the process
    assert sine_transforms.choose_backend(shape, 0, 1, "scipy") == "scipy"  # asked for: obeyed
    with pytest.raises(ValueError, match="fft must be"):
        sine_transforms.choose_backend(shape, 0, 1, "numpy")


def test_export_and_import_carry_the_choices():
    key = "15x3 axis 1 threads 1"
    sine_transforms.choose_backend((15, 3), 1, 1, "auto")
    before = sine_transforms.chosen_backends()[key]
    state = json.loads(json.dumps(sine_transforms.export_state()))
    assert state["choices"][key] == before and len(state["wisdom"]) == 3
    other = "fftw" if before["backend"] == "scipy" else "scipy"
    state["choices"][key] = {**before, "backend": other}
    state["choices"]["13x11 axis 0 threads 1"] = {"backend": "fftw", "how": "timed"}
    sine_transforms.import_state(state)
    assert sine_transforms.export_state()["choices"][key] == before  # a choice made stays as it is
    assert AxisTransform((15, 3), 1, 1, "auto").backend == before["backend"]
    assert "13x11 axis 0 threads 1" not in sine_transforms.chosen_backends()  # known, not yet met
    assert AxisTransform((13, 11), 0, 1, "auto").backend == "fftw"  # adopted, not timed again
    assert sine_transforms.chosen_backends()["13x11 axis 0 threads 1"] == {"backend": "fftw", "how": "cached"}


@pytest.mark.parametrize("scheme,substeps", [("strang", 6), ("light_exact", 4), ("free", None)])
def test_a_period_with_fftw_equals_one_with_scipy(scheme, substeps):
    strength = 0.0 if scheme == "free" else 2.0
    sys_ = tp.TwoParticleSystem(N1=63, N2=15, hbar=0.2, mass2=0.05, K1=1.8, K2=0.3, strength=strength, a=10.0)
    runs = {}
    for fft in ("scipy", "fftw", "auto"):
        tr = tp.SerialTransforms(sys_.N1, sys_.N2, fft=fft)
        prop = tp.make_propagator(sys_, tr, scheme, substeps)
        c = tp.initial_state(tr)
        for _ in range(2):
            c = prop.period(c)
        runs[fft] = c
    assert abs(np.vdot(runs["scipy"], runs["scipy"]).real - 1.0) < 1e-13
    assert np.abs(runs["fftw"] - runs["scipy"]).max() < 1e-13
    assert np.abs(runs["auto"] - runs["scipy"]).max() < 1e-13


_CHILD = """
import hashlib, json, numpy as np
from kickedpair.quantum import sine_transforms as st
backend = st.choose_backend((127, 15), 0, 1, "auto")  # before any plan: found in the cache, or timed
x = np.random.default_rng(0).standard_normal((255, 31)) * (1 + 1j)
digest = hashlib.sha256(st.fftw_dst_up(x, axis=0).tobytes()).hexdigest()
print(json.dumps({"digest": digest, "backend": backend, "how": st.chosen_backends()["127x15 axis 0 threads 1"]["how"]}))
"""


def test_the_cache_makes_a_second_process_repeat_the_first_bit_for_bit(tmp_path):
    """FFTW_MEASURE plans differ between processes (and so do the last bits); with the cache
    the second process plans from the first one's wisdom and keeps its 'auto' choice."""
    env = {**os.environ, "KICKEDPAIR_FFT_CACHE": str(tmp_path / "host.json")}
    out = [json.loads(subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                                     check=True, timeout=120).stdout) for _ in range(2)]
    assert out[0]["how"] == "timed" and out[1]["how"] == "cached"
    assert out[1]["backend"] == out[0]["backend"]
    assert out[1]["digest"] == out[0]["digest"]
    saved = json.loads((tmp_path / "host.json").read_text())
    assert saved["effort"] == sine_transforms.PLANNING_EFFORT
    assert saved["choices"]["127x15 axis 0 threads 1"]["backend"] == out[0]["backend"]


def test_no_cache_file_when_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("KICKEDPAIR_FFT_CACHE", "none")
    assert sine_transforms.cache_path() is None
    monkeypatch.setenv("KICKEDPAIR_FFT_CACHE", str(tmp_path / "c.json"))
    assert sine_transforms.cache_path() == tmp_path / "c.json"
    monkeypatch.delenv("KICKEDPAIR_FFT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert sine_transforms.cache_path().parent == tmp_path / "kickedpair"


def test_the_result_file_lists_the_backends_this_process_met(tmp_path):
    import h5py

    from kickedpair.quantum.output import write_transforms

    AxisTransform((31, 7), 1, 1, "scipy")
    AxisTransform((31, 7), 0, 1, "auto")
    with h5py.File(tmp_path / "r.h5", "w") as f:
        write_transforms(f.create_group("transforms"))
    with h5py.File(tmp_path / "r.h5", "r") as f:
        attrs = dict(f["transforms"].attrs)
    met = sine_transforms.chosen_backends()
    assert attrs.pop("planning_effort") == sine_transforms.PLANNING_EFFORT
    assert attrs.pop("cache") == str(tmp_path / "fft-cache.json")
    assert attrs == {key: record["backend"] for key, record in met.items()}
    assert attrs["31x7 axis 1 threads 1"] == "scipy"
