"""The one result reader (kickedpair.io.read_result / open_result) and the atomic writers."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from kickedpair import checkpoint, io
from kickedpair.io import IncompleteResult, is_complete, read_result, why_incomplete


def _result(path, complete=True):
    def build(f):
        f.attrs["kind"] = "quantum"
        f.attrs["Dq"] = 1.5
        f.create_group("params").attrs["config_json"] = '{"quantum": {"n_kicks": 3}}'
        f.create_group("series").create_dataset("p1_sq", data=np.arange(4.0))

    io.write_atomic(path, build)
    if not complete:
        with h5py.File(path, "r+") as f:
            f.attrs["complete"] = False
    return path


def test_read_result_gives_attrs_series_and_config(tmp_path):
    r = read_result(_result(tmp_path / "r.h5"))
    assert r.attrs["Dq"] == 1.5 and bool(r.attrs["complete"])
    assert r.series["p1_sq"].tolist() == [0, 1, 2, 3]
    assert r.config == {"quantum": {"n_kicks": 3}}
    assert read_result(tmp_path / "r.h5", series=False).series == {}
    assert is_complete(tmp_path / "r.h5") and why_incomplete(tmp_path / "r.h5") == ""


@pytest.mark.parametrize("make, state, reason", [
    (lambda p: None, "missing", "missing"),
    (lambda p: _result(p, complete=False), "incomplete", "no complete=True attribute"),
    (lambda p: p.write_bytes(b"not hdf5"), "unreadable", "not a readable HDF5 file (truncated?)"),
    (lambda p: p.mkdir(), "unreadable", "a folder, not a result file"),
])
def test_why_a_file_is_not_a_result(tmp_path, make, state, reason):
    path = tmp_path / "r.h5"
    make(path)
    with pytest.raises(IncompleteResult) as err:
        read_result(path)
    assert err.value.state == state and err.value.reason.startswith(reason)
    assert str(err.value).startswith(f"{path}: {reason}")
    assert why_incomplete(path).startswith(reason) and not is_complete(path)
    assert not checkpoint.exists(path)


def test_text_and_file_writers_leave_no_temporary(tmp_path):
    io.write_text_atomic(tmp_path / "a" / "t.csv", lambda fh: fh.write("x,y\r\n"))
    assert (tmp_path / "a" / "t.csv").read_bytes() == b"x,y\r\n"
    io.write_text_atomic(tmp_path / "a" / "t.csv", "new\n")
    assert (tmp_path / "a" / "t.csv").read_text() == "new\n"
    io.write_file_atomic(tmp_path / "f.bin", lambda tmp: tmp.write_bytes(b"1"))
    assert (tmp_path / "f.bin").read_bytes() == b"1"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "f.bin", "t.csv"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk")

    with pytest.raises(RuntimeError):
        io.write_file_atomic(target, fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
