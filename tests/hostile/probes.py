"""Hostile probe files: what a learner's code can leave in the probe folder instead of np.savez's output.

Each builder returns the bytes of one file and the phrase its refusal must contain.
"""
import io
import struct
import zipfile

import numpy as np


def _zip(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def many_members():
    """60,000 empty members (no ZIP64 yet): zipfile would spend seconds on the listing alone."""
    return _zip((f"a{i}.npy", b"") for i in range(60_000)), "members"


def zip64_members():
    """150,000 empty members, which needs ZIP64: refused from the end record."""
    return _zip((f"{i}.npy", b"") for i in range(150_000)), "ZIP64"


def lying_end_record():
    """60,000 members whose end record says there is one: the listing's size still gives them away."""
    data = bytearray(many_members()[0])
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<HH", 1, 1)
    return bytes(data), "listed in"


def compression_bomb():
    """One member of 60 MiB of zeros (under the 64 MiB cap) deflated to some 60 KiB."""
    return _zip([("big.npy", _npy_header((60 * 1024 ** 2 // 8,)) + b"\0" * (60 * 1024 ** 2))],
                zipfile.ZIP_DEFLATED), "compressed"


def _npy_header(shape, descr="<f8"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def header_larger_than_member():
    """A member whose array header claims 10^12 doubles in a few bytes: refused before any array is made."""
    return _zip([("x.npy", _npy_header((10 ** 6, 10 ** 6)) + b"\0" * 8)]), "says it holds"


def object_array():
    buffer = io.BytesIO()
    np.savez(buffer, value=np.array([object()], dtype=object))
    return buffer.getvalue(), "not numbers"


def not_a_zip():
    return b"\x93NUMPY" + b"\0" * 100, "zip"


BUILDERS = [many_members, zip64_members, lying_end_record, compression_bomb, header_larger_than_member,
            object_array, not_a_zip]


# --- the same, left in the probe folder by a learner's last cell, graded in a real sandbox ----------------------

def _leave(grade_id, builder):
    """A learner cell that makes the check's own np.savez write the hostile file for `grade_id`."""
    return ("import io, os, struct, zipfile\nimport numpy as np\n"
            + "".join(_source(f) for f in (_zip, _npy_header, many_members, lying_end_record, compression_bomb,
                                           header_larger_than_member))
            + "_savez = np.savez\n"
            "def _hostile_savez(path, **arrays):\n"
            f"    if str(path).endswith('{grade_id}.npz'):\n"
            f"        with open(path, 'wb') as f:\n"
            f"            f.write({builder.__name__}()[0])\n"
            "    else:\n"
            "        _savez(path, **arrays)\n"
            "np.savez = _hostile_savez\n")


def _source(function):
    import inspect
    return inspect.getsource(function) + "\n"


def probe_entries():
    """Catalogue entries whose add_forward probe file is hostile (Add is right: only that part fails)."""
    from .catalogue import MUL_IDS, Entry
    return [Entry(f"probe_{builder.__name__}", f"the check's np.savez writes {builder.__doc__.split(':')[0].lower()} "
                  "as add_forward's probe file", MUL_IDS | {"add_forward_hidden"},
                  before_tests=[_leave("add_forward", builder)],
                  message={"add_forward": "could not be read as arrays"})
            for builder in (many_members, lying_end_record, compression_bomb, header_larger_than_member)]
