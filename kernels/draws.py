"""Random draws for the kernels, bit for bit NumPy's ``Generator(PCG64)``, without a call into NumPy per number.

A stream is a row ``st`` of four uint64: PCG64's 128-bit state and increment as (state low, state high,
increment low, increment high).  That is how NumPy keeps them in memory where the compiler has 128-bit
integers, so a kernel takes the addresses of the chains' generator states and works on them in place
(``stream_at``); elsewhere the states are copied out before a call and back after it
(``gibbsreg.sampling.ChainStreams.addresses``).  One step is NumPy's: state <- state * M + inc
(mod 2^128), output = rotr64(high ^ low, high >> 58) of the new state.  Numba's own Generator support calls
NumPy's C function through a pointer for every 64 bits; inlined here the step is a few multiplies, and a
fill loop keeps the state in registers.

On the stream: the normals are NumPy's 256-layer ziggurat, the exponentials its 256-layer exponential
ziggurat, the uniforms (next_uint64 >> 11) / 2^53, the gammas Marsaglia & Tsang (2000) for a > 1 and
NumPy's rejection from the exponential for a < 1 - each with NumPy's tables, constants, order of draws
and roundings, so a kernel's draws equal ``rng.standard_normal()``, ``rng.standard_gamma(a)`` and
``rng.random()`` called in the same order (tests check them bit for bit).

NumPy's standard_gamma(a) for a > 1 computes b = a - 1/3 and c = 1/sqrt(9b) at every draw; a kernel's
gamma shapes are fixed for a whole call, so ``gamma_table`` computes them once.  The compile options are
explicit: without them these functions would inherit a fast-math caller's, and contraction would change
1 + c x.  The per-number steps are inlined (``inline="always"``) into the fill loops of this module only,
which carry these options.
"""

import ctypes

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic
from numba.np.random import _constants as zig

PCG64_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
EXACT = {"fastmath": False, "error_model": "python"}

# NumPy's ziggurat tables (as Numba ships them, from NumPy's ziggurat_constants.h), the integer ones as uint64
# so that every comparison and index stays in unsigned 64-bit arithmetic
KI = np.asarray(zig.ki_double, dtype=np.uint64)
WI = np.asarray(zig.wi_double, dtype=np.float64)
FI = np.asarray(zig.fi_double, dtype=np.float64)
KE = np.asarray(zig.ke_double, dtype=np.uint64)
WE = np.asarray(zig.we_double, dtype=np.float64)
FE = np.asarray(zig.fe_double, dtype=np.float64)
NOR_R = float(zig.ziggurat_nor_r)
NOR_INV_R = float(zig.ziggurat_nor_inv_r)
EXP_R = float(zig.ziggurat_exp_r)
U1 = np.uint64(1)
U3 = np.uint64(3)
U8 = np.uint64(8)
U11 = np.uint64(11)
U255 = np.uint64(255)
MASK52 = np.uint64(0x000FFFFFFFFFFFFF)
TO_DOUBLE = 1.0 / 9007199254740992.0


@intrinsic
def _pcg64_step(typingctx, lo, hi, inc_lo, inc_hi):
    """(state low, state high, output) after one PCG64 step, in 128-bit integer arithmetic."""
    u64 = types.uint64
    if not all(t == u64 for t in (lo, hi, inc_lo, inc_hi)):
        return None
    sig = types.UniTuple(u64, 3)(u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i64, i128 = ir.IntType(64), ir.IntType(128)

        def wide(low, high):
            return builder.or_(builder.shl(builder.zext(high, i128), ir.Constant(i128, 64)),
                               builder.zext(low, i128))

        state = builder.add(builder.mul(wide(args[0], args[1]), ir.Constant(i128, PCG64_MULTIPLIER)),
                            wide(args[2], args[3]))
        new_lo = builder.trunc(state, i64)
        new_hi = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), i64)
        x = builder.xor(new_hi, new_lo)
        rot = builder.lshr(new_hi, ir.Constant(i64, 58))
        left = builder.and_(builder.neg(rot), ir.Constant(i64, 63))
        out = builder.or_(builder.lshr(x, rot), builder.shl(x, left))
        return context.make_tuple(builder, signature.return_type, (new_lo, new_hi, out))

    return sig, codegen


@intrinsic
def _state_pointer(typingctx, address):
    """The uint64 pointer at an integer address."""
    if address != types.uint64:
        return None
    sig = types.CPointer(types.uint64)(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@njit(cache=True, **EXACT)
def stream_at(addresses, c):
    """Chain c's stream: the four uint64 at addresses[c], as an array the draws below update in place."""
    return carray(_state_pointer(addresses[c]), 4)


@njit(inline="always", **EXACT)
def _next_double(lo, hi, ilo, ihi):
    lo, hi, r = _pcg64_step(lo, hi, ilo, ihi)
    return lo, hi, (r >> U11) * TO_DOUBLE


@njit(inline="always", **EXACT)
def _normal(lo, hi, ilo, ihi):
    while True:
        lo, hi, r = _pcg64_step(lo, hi, ilo, ihi)
        idx = r & U255
        r = r >> U8
        rabs = (r >> U1) & MASK52
        x = rabs * WI[idx]
        if r & U1:
            x = -x
        if rabs < KI[idx]:
            return lo, hi, x
        if idx == 0:
            while True:
                lo, hi, d = _next_double(lo, hi, ilo, ihi)
                xx = -NOR_INV_R * np.log1p(-d)
                lo, hi, d = _next_double(lo, hi, ilo, ihi)
                yy = -np.log1p(-d)
                if yy + yy > xx * xx:
                    if (rabs >> U8) & U1:
                        return lo, hi, -(NOR_R + xx)
                    return lo, hi, NOR_R + xx
        else:
            lo, hi, d = _next_double(lo, hi, ilo, ihi)
            if (FI[idx - U1] - FI[idx]) * d + FI[idx] < np.exp(-0.5 * x * x):
                return lo, hi, x


@njit(inline="always", **EXACT)
def _exponential(lo, hi, ilo, ihi):
    while True:
        lo, hi, r = _pcg64_step(lo, hi, ilo, ihi)
        r = r >> U3
        idx = r & U255
        r = r >> U8
        x = r * WE[idx]
        if r < KE[idx]:
            return lo, hi, x
        lo, hi, d = _next_double(lo, hi, ilo, ihi)
        if idx == 0:
            return lo, hi, EXP_R - np.log1p(-d)
        if (FE[idx - U1] - FE[idx]) * d + FE[idx] < np.exp(-x):
            return lo, hi, x


@njit(inline="always", **EXACT)
def _gamma_mt(lo, hi, ilo, ihi, b, c):
    """Gamma(b + 1/3) for shape > 1 by Marsaglia-Tsang, c = 1/sqrt(9b)."""
    while True:
        lo, hi, x = _normal(lo, hi, ilo, ihi)
        v = 1.0 + c * x
        if v > 0.0:
            v = v * v * v
            lo, hi, u = _next_double(lo, hi, ilo, ihi)
            if u < 1.0 - 0.0331 * (x * x) * (x * x):
                return lo, hi, b * v
            if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
                return lo, hi, b * v


@njit(inline="always", **EXACT)
def _gamma_small(lo, hi, ilo, ihi, a):
    """Gamma(a) for 0 <= a <= 1 as NumPy draws it (a = 1: one exponential)."""
    if a == 1.0:
        return _exponential(lo, hi, ilo, ihi)
    if a == 0.0:
        return lo, hi, 0.0
    while True:
        lo, hi, u = _next_double(lo, hi, ilo, ihi)
        lo, hi, v = _exponential(lo, hi, ilo, ihi)
        if u <= 1.0 - a:
            x = u ** (1.0 / a)
            if x <= v:
                return lo, hi, x
        else:
            y = -np.log((1 - u) / a)
            x = (1.0 - a + a * y) ** (1.0 / a)
            if x <= v + y:
                return lo, hi, x


@njit(cache=True, _nrt=False, **EXACT)
def fill_normals(st, z, n):
    """z[:n] <- n standard normals from stream ``st``, in order (= rng.standard_normal(n))."""
    lo, hi, ilo, ihi = st[0], st[1], st[2], st[3]
    for i in range(n):
        lo, hi, x = _normal(lo, hi, ilo, ihi)
        z[i] = x
    st[0] = lo
    st[1] = hi


@njit(cache=True, _nrt=False, **EXACT)
def standard_normal(st):
    """One standard normal from stream ``st`` (= rng.standard_normal())."""
    lo, hi, x = _normal(st[0], st[1], st[2], st[3])
    st[0] = lo
    st[1] = hi
    return x


@njit(cache=True, _nrt=False, **EXACT)
def standard_exponential(st):
    """One standard exponential from stream ``st`` (= rng.standard_exponential())."""
    lo, hi, x = _exponential(st[0], st[1], st[2], st[3])
    st[0] = lo
    st[1] = hi
    return x


@njit(cache=True, _nrt=False, **EXACT)
def uniform(st):
    """One uniform on [0, 1) from stream ``st`` (= rng.random())."""
    lo, hi, x = _next_double(st[0], st[1], st[2], st[3])
    st[0] = lo
    st[1] = hi
    return x


@njit(inline="always", **EXACT)
def _gamma_constants(a):
    """Marsaglia-Tsang's (b, c) = (a - 1/3, 1/sqrt(9b)) for a > 1; (0, 0) otherwise (not used there)."""
    if a > 1.0:
        b = a - 1.0 / 3.0
        return b, 1.0 / np.sqrt(9 * b)
    return 0.0, 0.0


@njit(inline="always", **EXACT)
def _gamma(lo, hi, ilo, ihi, a, b, c):
    """Gamma(a, 1) as NumPy draws it, with (b, c) = _gamma_constants(a)."""
    if a > 1.0:
        return _gamma_mt(lo, hi, ilo, ihi, b, c)
    return _gamma_small(lo, hi, ilo, ihi, a)


@njit(cache=True, _nrt=False, **EXACT)
def standard_gamma(st, a):
    """One Gamma(a, 1) draw from stream ``st`` (= rng.standard_gamma(a)), a >= 0."""
    b, c = _gamma_constants(a)
    lo, hi, x = _gamma(st[0], st[1], st[2], st[3], a, b, c)
    st[0] = lo
    st[1] = hi
    return x


@njit(cache=True, **EXACT)
def gamma_table(shapes):
    """(3, n) rows: the shapes a, then b = a - 1/3 and c = 1/sqrt(9b) where a > 1 (0 elsewhere)."""
    n = shapes.shape[0]
    table = np.zeros((3, n))
    for i in range(n):
        a = shapes[i]
        table[0, i] = a
        table[1, i], table[2, i] = _gamma_constants(a)
    return table


@njit(cache=True, _nrt=False, **EXACT)
def fill_gammas(st, g, table):
    """g[i] <- a Gamma(table[0, i], 1) draw from stream ``st``, in order (= rng.standard_gamma(table[0]))."""
    lo, hi, ilo, ihi = st[0], st[1], st[2], st[3]
    for i in range(table.shape[1]):
        lo, hi, g[i] = _gamma(lo, hi, ilo, ihi, table[0, i], table[1, i], table[2, i])
    st[0] = lo
    st[1] = hi


def stream_state(generator, out=None) -> np.ndarray:
    """A PCG64 generator's state as the kernels' four uint64 (state low, high, increment low, high)."""
    s = generator.bit_generator.state
    if s.get("bit_generator") != "PCG64":
        raise ValueError(f"the kernels draw from PCG64 streams, not {s.get('bit_generator')!r}")
    state, inc = s["state"]["state"], s["state"]["inc"]
    mask = (1 << 64) - 1
    out = np.empty(4, dtype=np.uint64) if out is None else out
    out[:] = (state & mask, state >> 64, inc & mask, inc >> 64)
    return out


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_NATIVE_LAYOUT = None  # whether this NumPy keeps PCG64's state as the kernels' four uint64 (checked once)


def native_address(generator) -> int | None:
    """The address of the generator's own PCG64 state when NumPy keeps it as the kernels' four uint64 (a
    native 128-bit integer, little-endian: checked once against bit_generator.state); None otherwise (then
    the state is copied)."""
    global _NATIVE_LAYOUT
    bg = generator.bit_generator
    if type(bg) is not np.random.PCG64:
        return None
    # bitgen_t (NumPy's C API) starts with its state pointer, here PCG64's, whose first field points to the
    # 128-bit state; through the capsule, as bg.ctypes.state_address costs a few microseconds per generator
    bitgen = _capsule_pointer(bg.capsule, b"BitGenerator")
    outer = ctypes.c_void_p.from_address(bitgen).value if bitgen else None
    inner = ctypes.c_void_p.from_address(outer).value if outer else None
    if not inner:
        return None
    if _NATIVE_LAYOUT is None:
        words = tuple((ctypes.c_uint64 * 4).from_address(inner))
        _NATIVE_LAYOUT = words == tuple(int(v) for v in stream_state(generator))
    return inner if _NATIVE_LAYOUT else None


def set_stream_state(generator, st) -> None:
    """Write the kernels' four uint64 back into a PCG64 generator (its buffered 32-bit half is kept)."""
    bg = generator.bit_generator
    s = bg.state
    s["state"]["state"] = int(st[0]) | (int(st[1]) << 64)
    s["state"]["inc"] = int(st[2]) | (int(st[3]) << 64)
    bg.state = s
