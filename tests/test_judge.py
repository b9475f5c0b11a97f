"""judge.py on its own: a probe file from a sandbox is bounded before anything reads it, and read once."""
import io
import zipfile

import numpy as np
import pytest

from miniflow_grader import judge
from miniflow_grader.judge import load_probe_file


def _zip(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(value):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, value)
    return buffer.getvalue()


def test_an_honest_probe_file_reads_as_np_load_reads_it():
    buffer = io.BytesIO()
    np.savez(buffer, ok=np.arange(6.0).reshape(2, 3), text=np.array("a message"), flags=np.array([True, False]),
             fortran=np.asfortranarray(np.arange(6).reshape(2, 3)))
    arrays = load_probe_file(buffer.getvalue())
    assert set(arrays) == {"ok", "text", "flags", "fortran"}
    assert arrays["ok"].tolist() == [[0, 1, 2], [3, 4, 5]] and str(arrays["text"]) == "a message"
    assert arrays["fortran"].tolist() == [[0, 1, 2], [3, 4, 5]] and arrays["flags"].dtype == bool


@pytest.mark.parametrize("data, phrase", [
    (_zip([(f"a{i}.npy", b"") for i in range(1000)]), "1000 members"),
    (_zip([("x.npy", _npy(np.arange(4.0)).replace(b"(4,)", b"(40,)", 1))]), "says it holds 40 values"),
    (_zip([("x.npy", _npy(np.arange(4.0))[:-8])]), "not the 32 its header says"),
    (_zip([("x.npy", _npy(np.arange(4.0)).replace(b"(4,)", b"(-4,)", 1))]), "shape"),
    (_zip([("x.npy", _npy(np.arange(4.0)).replace(b"(4,)", b"(4,(", 1))]), "header"),
    (_zip([("x.npy", _npy(np.array([object()], dtype=object)))]), "not numbers"),
    (_zip([("x.npy", _npy(np.zeros(2, dtype=[("a", "f8")])))]), "not numbers"),
    (_zip([("x.txt", b"hello")]), "not an array file"),
    (_zip([("x.npy", b"\x93NUMPY\x09\x00" + b"\0" * 20)]), "not an array file"),
    (b"not a zip at all", "not a zip"),
    (b"PK\x05\x06" + b"\0" * (judge.NPZ_LIMIT + 1), "more than"),
])
def test_a_dishonest_probe_file_is_refused_with_the_reason(data, phrase):
    with pytest.raises(ValueError, match=phrase):
        load_probe_file(data)


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.npy", b"\0" * (20 * 1024 ** 2))
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a) or 1 / 0)
    with pytest.raises(ValueError, match="compressed"):
        load_probe_file(buffer.getvalue())
    assert opened == []


def test_a_probe_file_of_many_members_is_refused_from_its_end_record_before_its_listing_is_read(monkeypatch):
    data = _zip((f"a{i}.npy", b"") for i in range(5000))
    listed = []
    monkeypatch.setattr(zipfile.ZipFile, "__init__", lambda *a, **k: listed.append(a) or 1 / 0)
    with pytest.raises(ValueError, match="5000 members"):
        load_probe_file(data)
    assert listed == []
