"""Draws in a saved .npz read without loading them: memory maps of its members, copied out in bounded pieces.

``numpy.savez`` stores each array uncompressed (ZIP_STORED), so a member's bytes lie contiguously in
the file after its zip and .npy headers: :func:`mapped_members` maps them read-only.  Reading a map
costs page cache, not the process's own memory, and :func:`copy_out` copies a mapped array chain by
chain, handing each chain's pages back to the kernel as it goes, so continuing a saved run holds the
new draws' storage and a chain of the old ones rather than both runs whole.
"""

from __future__ import annotations

import mmap
import struct
import zipfile
import zlib

import numpy as np

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # zip local file header: 30 bytes, then name and extra field
_LOCAL_SIGNATURE = 0x04034B50


def mapped_members(path, prefix: str) -> dict:
    """{name: read-only array} of the members ``prefix + name + ".npy"`` of the .npz at ``path``.

    Uncompressed members of plain dtypes are memory maps; any other member (compressed, object dtype,
    Fortran order, empty) is read into memory.  A member whose bytes run past the end of the file
    raises ValueError (a truncated file)."""
    out = {}
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        size = fh.seek(0, 2)
        for info in zf.infolist():
            if not (info.filename.startswith(prefix) and info.filename.endswith(".npy")):
                continue
            name = info.filename[len(prefix):-len(".npy")]
            mapped = _map_member(path, fh, info, size)
            out[name] = mapped if mapped is not None else _read_member(zf, info)
    return out


def _read_member(zf, info):
    with zf.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _map_member(path, fh, info, size):
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        return None
    fh.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
    if fields[0] != _LOCAL_SIGNATURE:
        raise ValueError(f"member {info.filename!r} has a broken zip header")
    start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
    fh.seek(start)
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        return None
    offset = fh.tell()
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + nbytes > size:
        raise ValueError(f"member {info.filename!r} needs {nbytes} bytes but the file ends before them "
                         "(a truncated file)")
    if fortran or dtype.hasobject or nbytes == 0:
        return None
    _check_crc(fh, start, info)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape))


def _check_crc(fh, start, info, chunk=1 << 24):
    """The member's CRC-32, as reading it through zipfile would check it: a flipped byte is a clear error,
    not a silently wrong draw.  Read in chunks through the page cache (no copy held)."""
    fh.seek(start)
    crc, left = 0, info.file_size
    while left > 0:
        block = fh.read(min(chunk, left))
        if not block:
            break
        crc = zlib.crc32(block, crc)
        left -= len(block)
    if left or crc != info.CRC:
        raise ValueError(f"member {info.filename!r} is corrupt (its CRC-32 does not match)")


def _mapping(arr):
    """The mmap behind a (view of a) numpy.memmap, with the byte offset of ``arr`` in it; else (None, 0)."""
    base = arr
    while base is not None and not isinstance(base, np.memmap):
        base = base.base
    mm = getattr(base, "_mmap", None) if base is not None else None
    if mm is None:
        return None, 0
    # np.memmap maps from the allocation boundary at or below its offset
    start = base.offset % mmap.ALLOCATIONGRANULARITY
    return mm, start + arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]


def release(arr) -> None:
    """Hand the pages of a mapped array (a numpy.memmap or a view of one) back to the kernel; no-op otherwise."""
    mm, start = _mapping(arr)
    if mm is None or not hasattr(mm, "madvise") or not arr.flags.c_contiguous:
        return
    page = mmap.PAGESIZE
    lo = (start // page) * page
    hi = min(len(mm), start + arr.nbytes)
    if hi > lo:
        try:
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        except (OSError, ValueError, AttributeError):  # not supported here: the pages stay cached
            pass


def copy_out(src, dest) -> None:
    """dest[...] = src, chain by chain (the leading axis), releasing each chain's mapped pages after it."""
    if _mapping(src)[0] is None:
        dest[...] = src
        return
    for c in range(src.shape[0]):
        dest[c] = src[c]
        release(src[c])
