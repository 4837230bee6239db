"""Config faults as a user meets them on the command line: a binary or misshapen config file,
a key given twice, values out of range, values too long to echo, a closed pipe, the guard's
advice under plain Strang.  Each ends with one line on stderr naming the file or key, exit
status 2 (3 for the guard), no traceback and no output file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import kickedpair_cmd, run_cli  # noqa: E402

#: a refusal must come before any work: well within this (2 ranks start in ~1.5 s here)
PROMPT_S = 20
#: the longest error line a fault may produce (values are cut at ~200 characters)
MAX_LINE = 600
TINY = ["--set", "classical.n_trajectories=20", "--set", "classical.n_kicks=2", "--progress", "none"]


def _refused(proc: subprocess.CompletedProcess, *needles: str, status: int = 2) -> str:
    """The run ended with ``status`` and one line of ours on stderr containing every needle."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("kickedpair ")]
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert len(line) <= MAX_LINE, f"{len(line)} characters: {line[:300]}..."
    for needle in needles:
        assert needle in line, line
    return line


def _classical(tmp_path: Path, config: Path, *extra: str, ranks: int | None = None):
    out = tmp_path / "out.h5"
    t0 = time.monotonic()
    proc = run_cli(["classical", "--config", str(config), "--out", str(out), *TINY, *extra],
                   ranks=ranks, timeout=60)
    took = time.monotonic() - t0
    assert not out.exists()
    assert took < PROMPT_S, f"refusal took {took:.1f} s"
    return proc


# ------------------------------------------------------------------------------ the file
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(64)
FILES = {
    "all-bytes.bin": (bytes(range(256)), "not a text file: byte 0x80 at offset 128 is not UTF-8"),
    "image.png": (PNG, "not a text file: byte 0x89 at offset 0"),
    "zeros.yaml": (bytes(100), "not a text file: NUL byte at offset 0"),
    "list.yaml": (b"- physics\n- quantum\n", "the top level must be a mapping of sections"),
    "scalar.yaml": (b"42\n", "got a number: 42"),
    "string.yaml": (b"just some words\n", "got a string: 'just some words'"),
    "control.yaml": (b"physics:\n  eps: 1\x01\n", "special characters are not allowed"),
    "broken.yaml": (b"physics: {eps: 1\n", "not valid YAML: while parsing a flow mapping"),
    "deep.yaml": (b"[" * 50_000, "not valid YAML: nested too deeply"),
    "huge-int.yaml": (b"classical:\n  seed: " + b"9" * 5000 + b"\n", "an integer of more than 4300 digits"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_config_file_that_is_not_a_run_config_is_one_line(tmp_path, name):
    data, needle = FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    _refused(_classical(tmp_path, path), f"config {path}", needle)


@pytest.mark.parametrize("text, key, line, first", [
    ("physics:\n  eps: 1\n  lam: 3\n  eps: 2\n", "'eps'", 4, 2),                      # in a section
    ("physics: {eps: 1}\nclassical: {seed: 3}\nphysics: {lam: 2}\n", "'physics'", 3, 1),  # sections
    ("classical:\n  n_kicks: 3\n  snapshot_times: [0]\n  n_kicks: 3\n", "'n_kicks'", 4, 2),  # same value
    ("physics:\n  eps: 1\nx: {a: {b: 1, b: 2}}\n", "'b'", 3, 3),                        # deeper
])
def test_a_key_given_twice_is_refused_with_its_line(tmp_path, text, key, line, first):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    _refused(_classical(tmp_path, path), f"config {path}", f"duplicate key {key} at line {line}",
             f"first at line {first}")


def test_a_key_beside_a_merge_still_overrides_it(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("classical: {<<: {n_kicks: 2, seed: 4}, seed: 5}\n")
    proc = run_cli(["show-config", "--config", str(path)], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "seed: 5" in proc.stdout and "n_kicks: 2" in proc.stdout


# ------------------------------------------------------------------------------ values
def test_an_alias_bomb_is_echoed_in_a_short_line_at_once(tmp_path):
    # K1: [&a0 "xxxxxxxxxx", &a1 [*a0 x 10], ..., &a10 [*a9 x 10]]: a 300-byte file whose value
    # expands to 1e10 strings (its full repr would be ~140 GB)
    parts = ['&a0 "xxxxxxxxxx"'] + [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 11)]
    path = tmp_path / "bomb.yaml"
    path.write_text("physics:\n  K1: [" + ", ".join(parts) + "]\n")
    t0 = time.monotonic()
    proc = run_cli(["show-config", "--config", str(path)], timeout=60)
    took = time.monotonic() - t0
    line = _refused(proc, "physics.K1: expected a number, got ['xxxxxxxxxx', ['xxxxxxxxxx', ")
    assert line.endswith("... (list)") and took < PROMPT_S, (line, took)


@pytest.mark.parametrize("override, needle", [
    ("physics.K1=" + "x" * 100_000, "physics.K1: expected a number, got 'xxxx"),
    ("physics.K1=" + "9" * 4000, "physics.K1: must be finite, got <an integer of 4000 digits>"),
    ("physics." + "k" * 50_000 + "=1", "physics.'kkkk"),
])
def test_long_values_are_cut_in_the_message(tmp_path, override, needle):
    proc = run_cli(["classical", "--out", str(tmp_path / "o.h5"), "--set", override, *TINY], timeout=60)
    line = _refused(proc, needle)
    assert "..." in line or "digits>" in line
    assert not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize("engine, override, message", [
    ("classical", "classical.seed=18446744073709551616",
     "classical.seed: must be < 2**63, got 18446744073709551616"),
    ("quantum", "quantum.checkpoint_every=18446744073709551616",
     "quantum.checkpoint_every: must be < 2**62, got 18446744073709551616"),
])
def test_an_int_beyond_int64_stops_a_two_rank_run_at_once(tmp_path, engine, override, message):
    out = tmp_path / "o.h5"
    t0 = time.monotonic()
    proc = run_cli([engine, "--out", str(out), "--set", "physics.hbar=0.1", "--set", override, *TINY],
                   ranks=2, timeout=60)
    took = time.monotonic() - t0
    assert _refused(proc, message).endswith(message)
    assert not out.exists() and took < PROMPT_S, took


@pytest.mark.parametrize("override, message", [
    ("noise.seed=9223372036854775808", "noise.seed: must be < 2**63, got 9223372036854775808"),
    ("quantum.n_kicks=1e19", "quantum.n_kicks: must be < 2**62, got 1e+19"),
    ("classical.snapshot_times=[0,4611686018427387904]", "classical.snapshot_times: must be < 2**62"),
    ("quantum.N1=4611686018427387905", "quantum.N1: must be < 2**62"),
    ("noise.realisations=5e18", "noise.realisations: must be < 2**62"),
    ("quantum.tail_tol=1e300", "quantum.tail_tol: must be <= 1 (it is a probability"),
    ("noise.norm_tol=0.5", "noise.norm_tol: must be <= 0.1 ("),
    ("classical.max_energy_drift=1e300", "classical.max_energy_drift: must be <= 1 ("),
    ("classical.courant=2", "classical.courant: must be <= 1 (a step may cross at most the interaction width)"),
])
def test_values_out_of_range_name_key_bound_and_reason(override, message):
    proc = run_cli(["show-config", "--set", override], timeout=60)
    _refused(proc, message)
    assert proc.stdout == ""


# ------------------------------------------------------------------------------ output
def test_show_config_into_a_closed_pipe_ends_quietly():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write is EPIPE
    try:
        proc = subprocess.run(kickedpair_cmd() + ["show-config"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_show_config_into_head():
    cmd = " ".join(f"'{c}'" for c in kickedpair_cmd())
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd} show-config | head -1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "physics:\n" and proc.stderr == "", proc


# ------------------------------------------------------------------------------ guard advice
def test_tail_guard_under_plain_strang_names_the_step_as_well_as_the_grid(tmp_path):
    out = tmp_path / "s.h5"
    proc = run_cli(["quantum", "--out", str(out), "--progress", "none", "--set", "physics.hbar=0.1",
                    "--set", "physics.mass_ratio=0.01", "--set", "quantum.N1=63", "--set", "quantum.N2=31",
                    "--set", "quantum.scheme=strang", "--set", "quantum.substeps=2",
                    "--set", "quantum.n_kicks=5"], timeout=120)
    _refused(proc, "guard 'top-5% modes of particle 1'", "may be resonant", "raise quantum.substeps",
             "quantum.scheme: light_exact", "increase its grid size", status=3)
    assert not out.exists()
