"""dsyrk from SciPy's BLAS in nopython code, and the BLAS thread count around a kernel call.

Numba's np.dot on W'W is a dgemm (twice syrk's work).  The syrk is SciPy's Cython BLAS, reached as Numba
reaches its own BLAS: by the function's address (``syrk_address``), here passed to the kernel as an argument
and called through ``_call10`` (an inttoptr and a call), so the compiled kernel holds no ctypes global and
stays cacheable.  Integers are the 32-bit ``int`` of SciPy's Cython BLAS.
"""

import ctypes
import re
from contextlib import contextmanager

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import get_cython_function_address, intrinsic


def syrk_address() -> int:
    """The address of scipy.linalg.cython_blas's dsyrk (uplo, trans, n, k, alpha, a, lda, beta, c, ldc)."""
    return int(get_cython_function_address("scipy.linalg.cython_blas", "dsyrk"))


def potrf_address() -> int:
    """The address of scipy.linalg.cython_lapack's dpotrf (uplo, n, a, lda, info)."""
    return int(get_cython_function_address("scipy.linalg.cython_lapack", "dpotrf"))


@intrinsic
def _call5(typingctx, fn, a0, a1, a2, a3, a4):
    """Call the void function at address fn with five pointer arguments (given as integers)."""
    sig = types.void(types.uint64, *([types.intp] * 5))

    def codegen(context, builder, signature, args):
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ptr] * 5)
        f = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(f, [builder.inttoptr(a, ptr) for a in args[1:]])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def potrf_lower(fn, A, n, chars, ints):
    """In place: A's lower triangle (C order, (n, n) leading block of a square array with n = A.shape[0])
    becomes L with L L' = A, by LAPACK's dpotrf (Fortran's upper triangle of the same memory, uplo "U").
    Returns False when A is not positive definite.  chars (2,) uint8, ints (4,) int32: argument scratch."""
    chars[0] = 85  # "U"
    ints[0] = n
    ints[1] = A.shape[1]  # lda
    ints[2] = 0  # info
    i0 = ints.ctypes.data
    _call5(fn, chars.ctypes.data, i0, A.ctypes.data, i0 + 4, i0 + 8)
    return ints[2] == 0


@intrinsic
def _call10(typingctx, fn, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9):
    """Call the void function at address fn with ten pointer arguments (given as integers)."""
    sig = types.void(types.uint64, *([types.intp] * 10))

    def codegen(context, builder, signature, args):
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ptr] * 10)
        f = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(f, [builder.inttoptr(a, ptr) for a in args[1:]])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def syrk_lower_add(fn, W, M, chars, ints, scalars):
    """M (m, m) C order: lower triangle += W'W for W (b, m) C order, b >= 1 (the upper triangle is left alone).
    In Fortran's view W is the (m, b) matrix A with lda = m and M's lower triangle is the upper one of
    C = A A' (uplo "U", trans "N").  chars (2,) uint8, ints (4,) int32, scalars (2,) float64: argument scratch."""
    b, m = W.shape
    chars[0] = 85  # "U"
    chars[1] = 78  # "N"
    ints[0] = m  # n
    ints[1] = b  # k
    ints[2] = m  # lda
    ints[3] = m  # ldc
    scalars[0] = 1.0  # alpha
    scalars[1] = 1.0  # beta
    c0 = chars.ctypes.data
    i0 = ints.ctypes.data
    s0 = scalars.ctypes.data
    _call10(fn, c0, c0 + 1, i0, i0 + 4, s0, W.ctypes.data, i0 + 8, s0 + 8, M.ctypes.data, i0 + 12)


def _openblas_setters():
    """(set, get) function pairs of the OpenBLAS libraries loaded in this process (Linux: /proc/self/maps)."""
    found = []
    try:
        paths = {line.split()[-1] for line in open("/proc/self/maps") if re.search(r"openblas.*\.so", line)}
    except OSError:
        return found
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("", "64_"):
                set_name, get_name = f"{prefix}_set_num_threads{suffix}", f"{prefix}_get_num_threads{suffix}"
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    found.append((getattr(lib, set_name), getattr(lib, get_name)))
                    break
            else:
                continue
            break
    return found


_SETTERS = None


@contextmanager
def blas_threads(n: int):
    """Run the block with OpenBLAS on n threads (restored after).  The kernel runs one chain per thread, and
    OpenBLAS's own threads on top of those (spinning while they wait) made one syrk ten times slower on a
    busy two-core machine."""
    global _SETTERS
    if _SETTERS is None:
        _SETTERS = _openblas_setters()
    before = [get() for _, get in _SETTERS]
    for set_, _ in _SETTERS:
        set_(int(n))
    try:
        yield
    finally:
        for (set_, _), b in zip(_SETTERS, before):
            set_(int(b))


def scratch():
    """The argument scratch of syrk_lower_add."""
    return np.zeros(2, np.uint8), np.zeros(4, np.int32), np.zeros(2)
