"""The pilot self-check of every quantum run and the end-of-run convergence check.

Tiny cells (hbar = 0.2, 127 x 15 modes, a few kicks): each test runs in a few seconds.  The scheme is
pinned to light_exact and the rule's substeps made coarse (substep_tol 0.1); the tolerance that
makes the pilot raise the step is measured, not assumed (:func:`raising_tol`), so the tests do not
move with the substep rules.
"""

import dataclasses
import functools
import math
import signal
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import run_cli  # noqa: E402

from kickedpair import checkpoint, parallel, stopping  # noqa: E402
from kickedpair.errors import GuardError  # noqa: E402
from kickedpair.params import parse_config  # noqa: E402
from kickedpair.quantum import selfcheck  # noqa: E402
from kickedpair.quantum.convergence import check_convergence, double_size, padded_rows  # noqa: E402
from kickedpair.quantum.evolution import make_transforms, propagator_for, resolve, run_quantum  # noqa: E402
from kickedpair.quantum.observables import two_particle_observables  # noqa: E402
from kickedpair.quantum.output import read_self_check, write_quantum  # noqa: E402
from kickedpair.quantum.two_particle import SerialTransforms, TwoParticleSystem  # noqa: E402


def _config(**quantum):
    """hbar = 0.2, m = 0.01, 127 x 15 modes, light_exact; substeps from the rule unless given."""
    q = {"N1": 127, "N2": 15, "n_kicks": 6, "self_check_kicks": 4, "scheme": "light_exact",
         "substep_tol": 0.1, **quantum}
    return parse_config({"physics": {"hbar": 0.2, "mass_ratio": 0.01}, "quantum": q})


CELL = ["--set", "physics.hbar=0.2", "--set", "physics.mass_ratio=0.01", "--set", "quantum.N1=127",
        "--set", "quantum.N2=15", "--set", "quantum.scheme=light_exact", "--set", "quantum.substep_tol=0.1",
        "--threads", "1", "--progress", "none"]


@functools.lru_cache(maxsize=None)
def pilot_scale(n_kicks=6, self_check_kicks=4):
    """``(S0, c0, c1)``: the rule's substeps of the cell and the changes S0 -> 2 S0 and 2 S0 -> 4 S0
    over the pilot's kicks, from plain runs."""
    cfg = _config(n_kicks=n_kicks, self_check_kicks=self_check_kicks)
    S0, k = resolve(cfg).substeps, min(n_kicks, self_check_kicks)
    s0, s1, s2 = (_series(cfg, S, k) for S in (S0, 2 * S0, 4 * S0))
    c0, c1 = _change(s0, s1), _change(s1, s2)
    assert 1e-9 < c1 < c0 / 2, (c0, c1)  # second order: the change falls ~4x per doubling
    return S0, c0, c1


def raising_tol(**kw):
    """A self_check_tol between the two changes: the pilot must raise S0 to 2 S0, once."""
    _, c0, c1 = pilot_scale(**kw)
    return float(f"{math.sqrt(c0 * c1):.3g}")


def _series(config, substeps, kicks):
    """<p1^2> and purity of a plain run at ``substeps`` (no pilot; the tail guard relaxed)."""
    cfg = _config(**{**_quantum_keys(config), "substeps": substeps, "self_check_kicks": 0, "n_kicks": kicks,
                     "tail_tol": 1.0})
    assert cfg.quantum.substeps == substeps
    run = run_quantum(cfg, progress="none", n_threads=1)
    return run.series


def _quantum_keys(config):
    return {k: getattr(config.quantum, k) for k in ("N1", "N2", "self_check_tol", "self_check_kicks")}


def _change(a, b):
    return max(float(np.max(np.abs(b[k][1:] - a[k][1:]) / np.abs(a[k][1:]))) for k in ("p1_sq", "purity"))


# --------------------------------------------------------------------------- the pilot
def test_pilot_raises_a_step_that_fails_and_the_decision_is_real():
    tol = raising_tol()
    cfg = _config(self_check_tol=tol)
    S0 = resolve(cfg).substeps
    run = run_quantum(cfg, progress="none", n_threads=1)
    rec = run.self_check
    assert rec.mode == "adjust" and rec.passed and rec.substeps_start == S0
    assert rec.substeps == run.resolution.substeps > S0
    assert rec.compared[0] == (S0, 2 * S0) and rec.compared[-1] == (rec.substeps, 2 * rec.substeps)
    assert rec.change_p1_sq[0] > cfg.quantum.self_check_tol or rec.change_purity[0] > cfg.quantum.self_check_tol
    # the measured changes are the plain runs' own: S0 against 2 S0 fails, the accepted S against 2 S passes
    _, c0, c1 = pilot_scale()
    assert c0 > tol and rec.substeps == 2 * S0 and c1 <= tol
    assert max(rec.change_p1_sq[0], rec.change_purity[0]) == pytest.approx(c0, rel=1e-9)
    assert max(rec.change_p1_sq[1], rec.change_purity[1]) == pytest.approx(c1, rel=1e-9)
    # the run is the plain run at the accepted S
    plain = run_quantum(_config(substeps=rec.substeps, self_check_kicks=0), progress="none", n_threads=1)
    assert plain.resolution == run.resolution
    np.testing.assert_array_equal(run.series["p1_sq"], plain.series["p1_sq"])


def test_pilot_leaves_a_step_that_passes():
    _, c0, _ = pilot_scale()
    cfg = _config(self_check_tol=2 * c0)
    run = run_quantum(cfg, progress="none", n_threads=1)
    rec = run.self_check
    assert rec.passed and rec.substeps == rec.substeps_start == resolve(cfg).substeps == run.resolution.substeps
    assert len(rec.compared) == 1 and max(rec.change_p1_sq[0], rec.change_purity[0]) == pytest.approx(c0, rel=1e-9)


def test_pilot_doubles_a_tiny_step_until_it_agrees():
    cfg = _config(self_check_tol=1e-2)
    system = TwoParticleSystem.from_physics(cfg.physics, 127, 15)
    tr = SerialTransforms(127, 15, workers=1)
    res = resolve(cfg)
    lay = parallel.layout()
    rec = selfcheck.run_self_check(cfg.quantum, 2, res.scheme, False, system, tr, lay.comm, "tiny",
                                   lambda S: propagator_for(system, tr, dataclasses.replace(res, substeps=S)))
    assert rec.passed and rec.substeps in (4, 8, 16) and [a for a, _ in rec.compared] == [2 * 2**i for i in
                                                                                          range(len(rec.compared))]
    assert all(max(p, q) > 1e-2 for p, q in zip(rec.change_p1_sq[:-1], rec.change_purity[:-1]))


def test_pilot_that_cannot_agree_stops_the_cell_naming_guard_and_values():
    cfg = _config(self_check_tol=1e-12, self_check_kicks=2)
    with pytest.raises(GuardError) as exc:
        run_quantum(cfg, label="cellX", progress="none", n_threads=1)
    msg = str(exc.value)
    S0 = resolve(cfg).substeps
    last = S0 * 2**selfcheck.MAX_DOUBLINGS
    assert "cell cellX" in msg and "guard 'self-check of the step'" in msg
    assert f"between {last} and {2 * last} substeps" in msg and "quantum.self_check_tol = 1e-12" in msg


def test_substeps_set_by_hand_are_reported_not_changed(tmp_path):
    out = tmp_path / "hand.h5"
    proc = run_cli(["quantum", "--out", str(out), "--set", "quantum.substeps=4", "--set", "quantum.n_kicks=4",
                    "--set", "quantum.self_check_kicks=3"] + CELL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "warning: self-check" in proc.stderr and "kept as set" in proc.stderr
    rec = read_self_check(out)
    assert rec["mode"] == "report" and not rec["passed"] and rec["substeps"] == 4 and rec["kicks"] == 3
    assert list(rec["substeps_base"]) == [4] and list(rec["substeps_fine"]) == [8]
    with h5py.File(out) as f:
        assert f.attrs["substeps"] == 4


def test_the_pilot_is_recorded_in_the_result_file_and_the_summary(tmp_path):
    out = tmp_path / "cell.h5"
    tol = raising_tol()
    proc = run_cli(["quantum", "--out", str(out), "--set", "quantum.n_kicks=6", "--set", "quantum.self_check_kicks=4",
                    "--set", f"quantum.self_check_tol={tol}"] + CELL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rec = read_self_check(out)
    with h5py.File(out) as f:
        attrs = dict(f.attrs)
        resolution = dict(f["params/resolution"].attrs)
    assert rec["mode"] == "adjust" and rec["passed"] and rec["seconds"] > 0 and rec["tol"] == tol
    assert attrs["substeps"] == resolution["substeps"] == rec["substeps"] == 2 * rec["substeps_start"]
    assert list(rec["substeps_base"]) == [rec["substeps_start"], rec["substeps"]]
    assert max(rec["change_p1_sq"][0], rec["change_purity"][0]) > tol
    assert max(rec["change_p1_sq"][1], rec["change_purity"][1]) <= tol
    assert f"raised the substeps from {rec['substeps_start']} to {rec['substeps']}" in proc.stdout
    assert f"{rec['substeps']} substeps (raised from {rec['substeps_start']})" in proc.stdout
    assert f"light_exact, {rec['substeps']} substeps" in proc.stdout


def test_no_pilot_for_the_exact_free_map_or_when_switched_off():
    free = run_quantum(parse_config({"physics": {"hbar": 0.1, "eps": 0.0},
                                     "quantum": {"N1": 63, "N2": 31, "n_kicks": 2}}), progress="none", n_threads=1)
    assert free.self_check.mode == "off" and "exact" in free.self_check.reason
    off = run_quantum(_config(self_check_kicks=0, n_kicks=2), progress="none", n_threads=1)
    assert off.self_check.mode == "off" and off.resolution.substeps == resolve(_config(n_kicks=2)).substeps


def test_resume_after_a_pilot_raised_step_continues_bit_for_bit(tmp_path, monkeypatch):
    cfg = _config(n_kicks=6, checkpoint_every=2, snapshot_times=(1, 6), self_check_tol=raising_tol())
    whole = run_quantum(cfg, progress="none", n_threads=1)
    assert whole.self_check.substeps > whole.self_check.substeps_start
    ckpt = tmp_path / "c.ckpt.h5"
    # the pilot reads the stop flag too: count the run's own kicks, which follow the pilot's
    pilot_kicks = sum(whole.self_check.kicks for _ in range(len(whole.self_check.compared) + 1))
    calls = {"n": 0}

    def stop_after_three(comm):
        calls["n"] += 1
        return signal.SIGINT if calls["n"] == pilot_kicks + 3 else 0

    with monkeypatch.context() as m:
        m.setattr(stopping, "stop_requested", stop_after_three)
        with pytest.raises(stopping.Interrupted):
            run_quantum(cfg, progress="none", n_threads=1, checkpoint_path=ckpt)
    with h5py.File(ckpt) as f:
        assert int(f.attrs["t"]) == 3
    pilots = []
    monkeypatch.setattr("kickedpair.quantum.evolution.run_self_check",
                        lambda *a, **k: pilots.append(1) or selfcheck.run_self_check(*a, **k))
    resumed = run_quantum(cfg, progress="none", n_threads=1, checkpoint_path=ckpt, resume=True)
    assert not pilots, "the resumed run redid the pilot"
    assert resumed.resumed_from == 3 and resumed.resolution == whole.resolution
    assert resumed.self_check.from_checkpoint and resumed.self_check.substeps == whole.self_check.substeps
    for key in ("p1_sq", "p2_sq", "purity", "norm"):
        np.testing.assert_array_equal(resumed.series[key], whole.series[key], err_msg=key)
    np.testing.assert_array_equal(resumed.distributions[6], whole.distributions[6])
    write_quantum(tmp_path / "r.h5", resumed)
    assert read_self_check(tmp_path / "r.h5")["from_checkpoint"]


# --------------------------------------------------------------------------- end of run
def test_padding_to_a_doubled_grid_preserves_norm_and_p1sq(tmp_path):
    rng = np.random.default_rng(3)
    N1, N2 = 31, 15
    c = rng.normal(size=(N1, N2)) + 1j * rng.normal(size=(N1, N2))
    c /= np.sqrt(np.vdot(c, c).real)
    path = tmp_path / "s.h5"
    lay = parallel.layout()
    checkpoint.save(path, lay.comm, c, 0, (N1, N2), 7, {}, {"p1_sq": np.zeros(8)})
    big = SerialTransforms(double_size(N1), double_size(N2))
    rows, t = padded_rows(path, big)
    assert t == 7 and rows.shape == (63, 31)
    np.testing.assert_array_equal(rows[:N1, :N2], c)
    assert not rows[N1:].any() and not rows[:, N2:].any()
    physics = parse_config({"physics": {"hbar": 0.1}}).physics
    small_sys, big_sys = TwoParticleSystem.from_physics(physics, N1, N2), TwoParticleSystem.from_physics(physics, 63, 31)
    a = two_particle_observables(c, small_sys.p1(), small_sys.p2())
    b = two_particle_observables(rows, big_sys.p1(), big_sys.p2())
    for key in ("norm", "p1sq", "p2sq", "purity"):
        assert b[key] == pytest.approx(a[key], rel=1e-14, abs=0), key


def _finished_run(tmp_path, name, **quantum):
    cfg = _config(**quantum)
    ckpt = tmp_path / f"{name}.ckpt.h5"
    run = run_quantum(cfg, label=name, progress="none", n_threads=1, checkpoint_path=ckpt)
    return cfg, ckpt, run


def test_end_stretch_small_for_a_resolved_run_and_flagged_for_an_under_resolved_one(tmp_path):
    # one tolerance for both: 1e-3 relative in <p1^2>
    cfg, ckpt, run = _finished_run(tmp_path, "good", n_kicks=4, convergence_kicks=2, convergence_tol_p1=1e-3)
    good = check_convergence(cfg, label="good", n_threads=1, checkpoint_path=ckpt)
    assert set(good.stretches) == {"start", "end"} and good.base.substeps == run.resolution.substeps
    end = good.stretches["end"]
    assert end.t0 == 4 and end.n_kicks == 2
    for name in ("half_step", "double_grid"):
        assert 0 < end.changes[name]["p1_sq"] < 1e-3 and end.changes[name]["purity_abs"] < 1e-3, name
    assert good.verdict == "converged" and good.as_dict()["verdict"] == "converged"
    # too few substeps, kept because they are set by hand: the end stretch shows it
    cfg, ckpt, _ = _finished_run(tmp_path, "bad", substeps=2, n_kicks=4, convergence_kicks=2, self_check_kicks=2,
                                 convergence_tol_p1=1e-3)
    bad = check_convergence(cfg, label="bad", n_threads=1, checkpoint_path=ckpt)
    assert bad.self_check.mode == "report" and bad.base.substeps == 2
    assert bad.stretches["end"].changes["half_step"]["p1_sq"] > 1e-3
    assert bad.verdict == "not converged" and "end half_step: <p1^2>" in bad.as_dict()["verdict_reason"]


def test_a_start_stretch_over_the_whole_run_needs_no_end_stretch(tmp_path):
    cfg, ckpt, _ = _finished_run(tmp_path, "whole", n_kicks=3, convergence_kicks=3)
    report = check_convergence(cfg, label="whole", n_threads=1, checkpoint_path=ckpt)
    assert set(report.stretches) == {"start"} and report.whole_run
    assert report.stretches["start"].n_kicks == 3 and report.as_dict()["whole_run"]
    assert "covers the whole run" in report.text()
    cfg, ckpt, _ = _finished_run(tmp_path, "part", n_kicks=3, convergence_kicks=2)
    part = check_convergence(cfg, label="part", n_threads=1, checkpoint_path=ckpt)
    assert set(part.stretches) == {"start", "end"} and not part.whole_run


def test_check_refuses_a_checkpoint_that_is_not_the_final_one(tmp_path):
    # substeps set by hand: the resolution does not move with n_kicks (the rule's does)
    cfg, ckpt, _ = _finished_run(tmp_path, "r", convergence_kicks=2, substeps=44)
    from kickedpair.errors import ConfigError

    longer = _config(n_kicks=8, convergence_kicks=2, substeps=44)
    with pytest.raises(ConfigError, match="not at the end of the run"):
        check_convergence(longer, n_threads=1, checkpoint_path=ckpt)
    with pytest.raises(ConfigError, match="no checkpoint there"):
        check_convergence(cfg, n_threads=1, checkpoint_path=tmp_path / "missing.h5")


@pytest.mark.mpi
def test_one_and_two_ranks_give_the_same_report(tmp_path):
    cell = ["--set", "quantum.n_kicks=6", "--set", "quantum.self_check_kicks=4",
            "--set", f"quantum.self_check_tol={raising_tol()}", "--set", "quantum.convergence_kicks=3"] + CELL
    ckpt = tmp_path / "run.ckpt.h5"
    proc = run_cli(["quantum", "--out", str(tmp_path / "run.h5"), "--checkpoint", str(ckpt), "--keep-checkpoint"]
                   + cell, ranks=2, timeout=120)
    assert proc.returncode == 0, proc.stderr
    reports = {}
    for ranks in (1, 2):
        out = tmp_path / f"conv{ranks}.h5"
        proc = run_cli(["quantum", "--check-convergence", "--checkpoint", str(ckpt), "--out", str(out)] + cell,
                       ranks=ranks, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "end stretch" in proc.stdout and "verdict:" in proc.stdout
        with h5py.File(out) as f:
            reports[ranks] = dict(f.attrs)
    one, two = reports[1], reports[2]
    assert one["stretches"] == "start,end" and one["self_check_substeps"] > one["self_check_substeps_start"]
    assert one["verdict"] == two["verdict"] and one["base_substeps"] == two["base_substeps"]
    keys = [k for k in one if k.startswith(("start_", "end_")) and not k.endswith("seconds")
            and isinstance(one[k], (float, np.floating))]
    assert len(keys) >= 20
    for k in keys:
        assert two[k] == pytest.approx(one[k], rel=1e-7, abs=1e-13), k


def test_a_signal_during_the_pilot_stops_the_run_collectively(monkeypatch):
    """The pilot reads the stop flag after every kick, as the run's loop does (a signal reaching
    one rank during the pilot must stop every rank, not that rank alone)."""
    cfg = _config(n_kicks=6)
    monkeypatch.setattr(stopping, "stop_requested", lambda comm: signal.SIGTERM)
    with pytest.raises(stopping.Interrupted, match="self-check pilot at t=1"):
        run_quantum(cfg, progress="none", n_threads=1)
