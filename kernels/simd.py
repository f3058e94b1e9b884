"""Vector code Numba does not write by itself, emitted as LLVM vector operations by an intrinsic.

Numba runs LLVM's loop vectoriser but not its SLP vectoriser, and the loop vectoriser only vectorises an
innermost loop: a small matrix-vector product with a run-time size p either stays scalar (its inner loop is
a dot product of p terms, too short for the vector loop the vectoriser builds) or keeps its accumulators in
memory.  :func:`lane_matvec` holds them in vector registers instead.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 8  # doubles per vector (one AVX-512 register; LLVM splits it into smaller ones on other processors)
MATVEC_BLOCK = 2 * LANES  # outputs per pass: two independent accumulators hide the fused multiply-add latency


def _float64_array(ty, ndim):
    return isinstance(ty, types.Array) and ty.dtype == types.float64 and ty.ndim == ndim and ty.layout == "C"


@intrinsic
def lane_matvec(typingctx, cols, x, out):
    """out[i] = sum_j cols[j, i] x[j] for every i < W, summed in ascending j with one fused multiply-add per
    term (the order of an axpy loop over j), for cols (p, W) C-contiguous with W a multiple of MATVEC_BLOCK,
    x (p,) and out (W,) contiguous.  Pad cols' columns with zeros to reach W."""
    if not (_float64_array(cols, 2) and _float64_array(x, 1) and _float64_array(out, 1)):
        return None
    sig = types.void(cols, x, out)

    def codegen(context, builder, signature, args):
        cols_a, x_a, out_a = (context.make_array(t)(context, builder, v) for t, v in zip(signature.args, args))
        i64 = ir.IntType(64)
        vec = ir.VectorType(ir.DoubleType(), LANES)
        vec_ptr = vec.as_pointer()
        zero = ir.Constant(vec, [0.0] * LANES)
        splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                                             f"llvm.fma.v{LANES}f64")
        p, width = cgutils.unpack_tuple(builder, cols_a.shape, 2)
        accumulators = [cgutils.alloca_once(builder, vec) for _ in range(MATVEC_BLOCK // LANES)]

        def vector_at(data, index):
            return builder.bitcast(builder.gep(data, [index]), vec_ptr)

        with cgutils.for_range(builder, builder.udiv(width, ir.Constant(i64, MATVEC_BLOCK))) as block:
            i0 = builder.mul(block.index, ir.Constant(i64, MATVEC_BLOCK))
            for acc in accumulators:
                builder.store(zero, acc)
            with cgutils.for_range(builder, p) as term:
                j = term.index
                xj = builder.load(builder.gep(x_a.data, [j]))
                xj = builder.shuffle_vector(builder.insert_element(ir.Constant(vec, ir.Undefined), xj,
                                                                   ir.Constant(ir.IntType(32), 0)),
                                            ir.Constant(vec, ir.Undefined), splat_mask)
                row = builder.add(builder.mul(j, width), i0)
                for a, acc in enumerate(accumulators):
                    m = builder.load(vector_at(cols_a.data, builder.add(row, ir.Constant(i64, a * LANES))), align=8)
                    builder.store(builder.call(fma, [m, xj, builder.load(acc)]), acc)
            for a, acc in enumerate(accumulators):
                builder.store(builder.load(acc), vector_at(out_a.data, builder.add(i0, ir.Constant(i64, a * LANES))),
                              align=8)
        return context.get_dummy_value()

    return sig, codegen
