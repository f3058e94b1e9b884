"""Atomic operations on int64 arrays, for the workers of hier_gibbs_groups that share one parallel region.

The workers pass a sweep's stages to one another through counters in one int64 array (a cache line
apart): a phase number that one worker publishes (release) and the others wait for (acquire), per-phase
claim counters tagged with their phase, and a count of finished tasks.  Numba offers no atomics of its own,
so these are LLVM's, emitted by intrinsics.
"""

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_ACQ_REL = "acq_rel"
_ACQUIRE = "acquire"
_RELEASE = "release"


def _counter_intrinsic(counter, index, n_values, returns, emit):
    """(signature, codegen) of an operation on counter[index] of an int64 vector with n_values int64 operands:
    ``emit(builder, pointer, *operands)`` emits it, and its result is returned when ``returns``."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None
    sig = (types.int64 if returns else types.void)(counter, index, *([types.int64] * n_values))

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, signature.args[0], arr, [args[1]])
        operands = [context.cast(builder, v, t, types.int64) for v, t in zip(args[2:], signature.args[2:])]
        result = emit(builder, pointer, *operands)
        return result if returns else context.get_dummy_value()

    return sig, codegen


@intrinsic
def atomic_load(typingctx, counter, index):
    """counter[index], read with acquire ordering (what was written before its release-store is visible)."""
    return _counter_intrinsic(counter, index, 0, True, lambda b, ptr: b.load_atomic(ptr, _ACQUIRE, 8))


@intrinsic
def atomic_store(typingctx, counter, index, value):
    """counter[index] = value with release ordering (everything written before it is visible to an acquire)."""
    return _counter_intrinsic(counter, index, 1, False, lambda b, ptr, v: b.store_atomic(v, ptr, _RELEASE, 8))


@intrinsic
def atomic_add(typingctx, counter, index, amount):
    """counter[index] += amount, atomically (acquire and release); returns the value before."""
    return _counter_intrinsic(counter, index, 1, True, lambda b, ptr, v: b.atomic_rmw("add", ptr, v, _ACQ_REL))


@intrinsic
def compare_exchange(typingctx, counter, index, expected, new):
    """If counter[index] == expected, set it to new, atomically (acquire and release); returns the value
    before either way."""
    return _counter_intrinsic(counter, index, 2, True, lambda b, ptr, old, new_value: b.extract_value(
        b.cmpxchg(ptr, old, new_value, _ACQ_REL, _ACQUIRE), 0))


def _spin_hint():
    """The LLVM intrinsic (name, arguments) of this processor's spin-wait hint, or None."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        return "llvm.x86.sse2.pause", ()
    if machine in ("aarch64", "arm64"):
        return "llvm.aarch64.hint", (1,)  # hint #1 is yield
    return None


@intrinsic
def spin_pause(typingctx):
    """The processor's hint that this thread is waiting in a loop (x86 pause, Arm yield; nothing elsewhere):
    it frees the core's resources for the other hardware thread and slows the loop's memory reads."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        hint = _spin_hint()
        if hint is not None:
            name, operands = hint
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i32] * len(operands))
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), [ir.Constant(i32, v) for v in operands])
        return context.get_dummy_value()

    return sig, codegen
