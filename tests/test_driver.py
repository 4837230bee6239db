"""The shared kick loop: the order of the hooks, the stop on a signal, closing on errors; and
the random-kick run driven by it gives the one-particle map's numbers bit for bit."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from kickedpair import stopping
from kickedpair.driver import Observer, Stopwatch, evolve


class Recorder(Observer):
    def __init__(self, name, log, note=""):
        self.name, self.log, self.note = name, log, note

    def start(self, t0, state):
        self.log.append((self.name, "start", t0, state))

    def after_kick(self, t, state):
        self.log.append((self.name, "kick", t, state))

    def on_stop(self, t, state):
        self.log.append((self.name, "stop", t, state))
        return self.note

    def close(self):
        self.log.append((self.name, "close"))


def test_hooks_in_order_and_the_final_state():
    log = []
    final = evolve(lambda t, s: s + t, 0, 2, 4, [Recorder("a", log), Recorder("b", log)])
    assert final == 3 + 4
    assert log == [("a", "start", 2, 0), ("b", "start", 2, 0),
                   ("a", "kick", 3, 3), ("b", "kick", 3, 3), ("a", "kick", 4, 7), ("b", "kick", 4, 7),
                   ("a", "close"), ("b", "close")]


def test_a_stop_calls_on_stop_and_raises_interrupted_with_the_notes():
    log = []
    with pytest.raises(stopping.Interrupted) as err:
        evolve(lambda t, s: s, "x", 0, 10, [Recorder("a", log, ", saved"), Recorder("b", log)],
               stop=lambda t: signal.SIGTERM if t == 3 else 0)
    assert str(err.value) == "stopped by SIGTERM at t=3, saved"
    assert err.value.status == 143
    assert ("a", "stop", 3, "x") in log and ("b", "stop", 3, "x") in log
    assert log[-2:] == [("a", "close"), ("b", "close")]
    assert not any(e[1] == "kick" and e[2] > 3 for e in log)


def test_an_observer_error_ends_the_run_and_every_observer_is_closed():
    log = []

    class Boom(Observer):
        def after_kick(self, t, state):
            if t == 2:
                raise RuntimeError("guard")

    with pytest.raises(RuntimeError, match="guard"):
        evolve(lambda t, s: s, 0, 0, 5, [Recorder("a", log), Boom(), Recorder("b", log)])
    assert log[-2:] == [("a", "close"), ("b", "close")]


def test_signals_are_deferred_only_with_a_stop_check():
    seen = []
    evolve(lambda t, s: s, 0, 0, 1, [], stop=lambda t: seen.append(stopping._deferring) or 0)
    assert seen == [True] and not stopping._deferring


def test_stopwatch_counts_the_kicks_after_start():
    clock = Stopwatch()
    evolve(lambda t, s: s, 0, 3, 7, [clock])
    assert clock.t0 == 3 and clock.seconds_per_kick(7) >= 0
    assert np.isnan(clock.seconds_per_kick(3))


def test_noise_run_is_the_one_particle_map_bit_for_bit():
    from kickedpair.params import parse_config
    from kickedpair.quantum.noise import run_noise
    from kickedpair.quantum.one_particle import run_one_particle

    config = parse_config({"physics": {"hbar": 0.05},
                           "noise": {"N": 127, "n_kicks": 40, "realisations": 3, "W": 0.3, "seed": 11,
                                     "tail_tol": 0.1, "snapshot_times": [0, 40]}})
    run = run_noise(config, progress="none", n_threads=1)
    ph, nz = config.physics, config.noise
    ref = run_one_particle(127, K=ph.K1, hbar=ph.hbar, n_kicks=40, L=ph.L, W=nz.W, seed=nz.seed,
                           realisations=range(3), record_times=(0, 40), workers=1)
    assert run.p_sq_realisations.tobytes() == ref.p2.tobytes()
    assert run.p_sq.tobytes() == ref.p2.mean(axis=0).tobytes()
    assert run.distributions[40].tobytes() == (ref.distributions[40].sum(axis=0) / 3).tobytes()
    assert run.momenta.tobytes() == ref.momenta.tobytes()
