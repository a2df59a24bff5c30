# Design: 2-D convolution (cross-correlation, as every CNN library computes it), forward and
# backward, by im2col + GEMM over chunks of samples.
#
# For a chunk of nb samples, im2col lays their patches side by side, col (K, L) with
# K = C·KH·KW and L = nb·OH·OW, so each chunk needs one large GEMM instead of nb tiny ones
# (on small networks the per-call overhead of BLAS was as large as the arithmetic):
#
#   out_chunk (F, L)  = W (F, K) @ col (K, L)            then + b, and scatter to NCHW
#   dW        (F, K) += dout_chunk (F, L) @ col^T (L, K)  (accumulated transposed, (K, F))
#   dcol      (K, L)  = W^T (K, F) @ dout_chunk (F, L)   then col2im into dx
#
# Grouped convolution (groups G): the C channels and F filters split into G groups, filter f
# sees only the Cg = C/G channels of its group, W is (F, Cg·KH·KW). The columns of all C
# channels are laid out as before, group g's rows [g·Kg, (g + 1)·Kg) with Kg = Cg·KH·KW, so
# each GEMM above becomes G GEMMs on those row blocks and on filters [g·Fg, (g + 1)·Fg).
#
# The geometry lives in one typed plan: ConvPlan, built once per layer shape by the caller
# (cyconv/_plans.py) from the sizes and the index tables, and a Geometry struct inside it that
# the nogil helpers read. What changes from call to call (chunk size, threads, which outputs
# are wanted) is a ConvRun struct, passed from Python as a dict.
#
# Padding of every mode is folded into two index tables made by the caller:
# row_src[oh·KH + i] is the input row that padded row oh·SH + i·DH reads, or -1 for a zero,
# and col_src[ow·KW + j] likewise for columns (DH, DW: the dilation, 1 for adjacent taps; the
# tables hold it, and the interior copy reads column ow·SW + j·DW − left). One im2col therefore serves zeros, replicate,
# reflect and circular padding, and col2im sends each padded position's gradient back to the
# pixel it was copied from (a replicated edge pixel receives the gradient of all its copies).
#
# The inner copies, adds and sums (im2col's interior runs, col2im, db) work in fixed blocks of
# 8 values through a few GCC/Clang vector helpers written in C at the top of the file, with a
# plain-C fallback for other compilers: the runs are short (OW values) and a plain loop over
# them ran as gcc's general vector loop, alias checks and remainder included, for every run;
# a single running sum is a chain of dependent adds gcc may not reorder.
#
# When the caller can spare the memory, the forward pass keeps every chunk's columns (one row
# of col_buf per chunk instead of per thread) and the backward pass reuses them instead of
# running im2col again.
#
# Parallelism: prange over chunks (forward) or over blocks of consecutive chunks (backward),
# handed out dynamically: a thread that starts late or is preempted (the lab's GUI thread
# shares the cores with training) does less of the work instead of making the others wait for
# its fixed share at the barrier. Each thread owns one row of every scratch buffer (indexed by
# threadid()) and writes only out[n] / dx[n] of the samples it took. dW and db accumulate per
# block, not per thread, into that block's row of dw_acc / db_acc, and the kernel sums the
# rows in block order: which thread ran a block changes nothing, so the results are
# reproducible for a fixed thread count however the blocks were scheduled. BLAS is
# single-threaded inside (see _blas.pxd). Layout: NCHW, C-contiguous.

from cython.parallel cimport prange, threadid
from libc.string cimport memcpy, memset

from cyconv._kernels._blas cimport floating, gemm_rowmajor


cdef struct Geometry:
    Py_ssize_t C, H, W          # input channels and size
    Py_ssize_t KH, KW           # kernel size
    Py_ssize_t OH, OW           # output size
    Py_ssize_t SW, DW, left     # column stride, dilation, left padding: the interior copy
    const Py_ssize_t *row_src   # (OH·KH,) input row under each kernel row, -1 for a zero
    const Py_ssize_t *col_src   # (OW·KW,) likewise for columns
    const Py_ssize_t *col_lo    # (KW,) first output column whose tap j lies inside the row
    const Py_ssize_t *col_hi    # (KW,) one past the last


cdef struct ConvRun:
    Py_ssize_t chunk            # samples per GEMM
    Py_ssize_t blocks           # backward: runs of consecutive chunks, one dW/db row each
    int num_threads
    bint has_bias
    bint keep_columns           # forward: keep every chunk's columns; backward: they were kept
    bint direct_dout            # backward: one GEMM per sample straight on dout
    bint need_dx
    Py_ssize_t groups           # G: W is (F, K/G) and column rows [g·K/G, (g + 1)·K/G) meet
                                # filters [g·F/G, (g + 1)·F/G)


cdef class ConvPlan:
    """The shape-only part of a convolution: sizes and the padding index tables.

    Built once per (input shape, weight shape, stride, padding, mode) and shared by every
    call with those shapes; it keeps the tables alive and never changes after construction.
    The builder checks only that the tables fit the sizes, since the kernels trust them.
    """
    cdef Geometry g
    cdef object _tables     # the memoryviews the pointers in g point into
    cdef tuple _args        # what __reduce__ rebuilds the plan from (copy, deepcopy, pickle)

    def __cinit__(self, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Py_ssize_t KH,
                  Py_ssize_t KW, Py_ssize_t SW, Py_ssize_t DW, Py_ssize_t left,
                  const Py_ssize_t[::1] row_src, const Py_ssize_t[::1] col_src,
                  const Py_ssize_t[::1] col_lo, const Py_ssize_t[::1] col_hi):
        if (KH < 1 or KW < 1 or row_src.shape[0] % KH or col_src.shape[0] % KW
                or col_lo.shape[0] != KW or col_hi.shape[0] != KW):
            raise ValueError("ConvPlan: the index tables do not fit the kernel size")
        self.g.C, self.g.H, self.g.W, self.g.KH, self.g.KW = C, H, W, KH, KW
        self.g.OH = row_src.shape[0] // KH
        self.g.OW = col_src.shape[0] // KW
        self.g.SW, self.g.DW, self.g.left = SW, DW, left
        self.g.row_src = &row_src[0]
        self.g.col_src = &col_src[0]
        self.g.col_lo = &col_lo[0]
        self.g.col_hi = &col_hi[0]
        self._tables = (row_src, col_src, col_lo, col_hi)
        self._args = (C, H, W, KH, KW, SW, DW, left, row_src.base, col_src.base, col_lo.base,
                      col_hi.base)

    def __reduce__(self):
        # A layer's forward cache holds its plan, and models are deep-copied with their caches.
        return ConvPlan, self._args

    @property
    def out_hw(self):
        return self.g.OH, self.g.OW

# The interior runs im2col copies and col2im adds are short (OW values: 8 in mnist_cnn's
# second layer), and a plain loop over them ran as gcc's general vector loop, with its alias
# checks and remainder handling, for every run. Blocks of a fixed 8 values compile to a few
# vector moves: a fixed-size memcpy, and an add of one GCC vector.
# im2col + col2im of mnist_cnn's conv2 (batch 64, 1 thread) took about half as long.
cdef enum:
    RUN_BLOCK = 8


cdef inline void copy_run(floating *dst, const floating *src, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t t = 0
    while t + RUN_BLOCK <= m:
        memcpy(dst + t, src + t, RUN_BLOCK * sizeof(floating))
        t += RUN_BLOCK
    while t < m:
        dst[t] = src[t]
        t += 1


cdef extern from *:
    """
    /* Eight values added in place as 16-byte GCC/Clang vectors (the SSE width every x86-64
       has; a 32-byte vector type went through the stack there); aligned(..) and may_alias
       make the unaligned, type-punned access well defined. */
    #if defined(__GNUC__) && !defined(CYCONV_PLAIN_C)
    typedef float cyconv_f4 __attribute__((vector_size(16), aligned(4), may_alias));
    typedef double cyconv_d2 __attribute__((vector_size(16), aligned(8), may_alias));
    static inline void cyconv_add8f(float *dst, const float *src) {
        cyconv_f4 *d = (cyconv_f4 *)dst;
        const cyconv_f4 *s = (const cyconv_f4 *)src;
        d[0] += s[0]; d[1] += s[1];
    }
    static inline void cyconv_add8d(double *dst, const double *src) {
        cyconv_d2 *d = (cyconv_d2 *)dst;
        const cyconv_d2 *s = (const cyconv_d2 *)src;
        d[0] += s[0]; d[1] += s[1]; d[2] += s[2]; d[3] += s[3];
    }
    /* A sum in eight interleaved partial sums: one running sum is a chain of dependent adds
       the compiler may not reorder (4 cycles each), and summing db over C=1 convolutions'
       large maps that way was most of their backward pass. */
    static inline float cyconv_sumf(const float *src, Py_ssize_t m) {
        cyconv_f4 a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
        Py_ssize_t t = 0;
        for (; t + 8 <= m; t += 8) {
            a += *(const cyconv_f4 *)(src + t);
            b += *(const cyconv_f4 *)(src + t + 4);
        }
        a += b;
        float total = (a[0] + a[1]) + (a[2] + a[3]);
        for (; t < m; ++t) total += src[t];
        return total;
    }
    static inline double cyconv_sumd(const double *src, Py_ssize_t m) {
        cyconv_d2 a = {0, 0}, b = {0, 0}, c = {0, 0}, d = {0, 0};
        Py_ssize_t t = 0;
        for (; t + 8 <= m; t += 8) {
            a += *(const cyconv_d2 *)(src + t);
            b += *(const cyconv_d2 *)(src + t + 2);
            c += *(const cyconv_d2 *)(src + t + 4);
            d += *(const cyconv_d2 *)(src + t + 6);
        }
        a += b; c += d; a += c;
        double total = a[0] + a[1];
        for (; t < m; ++t) total += src[t];
        return total;
    }
    #else
    /* The same helpers in plain C for other compilers (CYCONV_PLAIN_C forces them, so a test
       can build and check this branch too). */
    #define CYCONV_PLAIN_HELPERS(T, S)                                              \
        static inline T cyconv_sum##S(const T *src, Py_ssize_t m) {                \
            T part[8] = {0, 0, 0, 0, 0, 0, 0, 0}, total = 0;                       \
            Py_ssize_t t = 0;                                                      \
            for (; t + 8 <= m; t += 8)                                             \
                for (int k = 0; k < 8; ++k) part[k] += src[t + k];                 \
            for (int k = 0; k < 8; ++k) total += part[k];                          \
            for (; t < m; ++t) total += src[t];                                    \
            return total;                                                          \
        }                                                                          \
        static inline void cyconv_add8##S(T *dst, const T *src) {                  \
            for (int k = 0; k < 8; ++k) dst[k] += src[k];                          \
        }
    CYCONV_PLAIN_HELPERS(float, f)
    CYCONV_PLAIN_HELPERS(double, d)
    #endif
    """
    void add8f "cyconv_add8f"(float *dst, const float *src) noexcept nogil
    void add8d "cyconv_add8d"(double *dst, const double *src) noexcept nogil
    float sumf "cyconv_sumf"(const float *src, Py_ssize_t m) noexcept nogil
    double sumd "cyconv_sumd"(const double *src, Py_ssize_t m) noexcept nogil


cdef inline void add_run(floating *dst, const floating *src, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t t = 0
    while t + RUN_BLOCK <= m:
        if floating is float:
            add8f(dst + t, src + t)
        else:
            add8d(dst + t, src + t)
        t += RUN_BLOCK
    while t < m:
        dst[t] += src[t]
        t += 1


cdef void im2col(Geometry g, const floating *xn, floating *col,
                 Py_ssize_t ld) noexcept nogil:
    # One sample's patches into columns [0, OH·OW) of rows that are `ld` apart. For tap j the
    # outputs ow in [col_lo[j], col_hi[j]) read inside the row, at ow·SW + j·DW − left: a plain
    # strided (for SW = 1, contiguous) copy. Only the few edge columns go through the table.
    # The geometry comes by value: a local copy that no store through dst can alias (CPython
    # builds with -fno-strict-aliasing), so its fields can stay in registers.
    cdef Py_ssize_t c, i, j, oh, ow, r, s, lo, hi, offset
    cdef floating *dst
    cdef const floating *src_row
    for c in range(g.C):
        for i in range(g.KH):
            for j in range(g.KW):
                lo = g.col_lo[j]
                hi = g.col_hi[j]
                offset = j * g.DW - g.left
                dst = col + ((c * g.KH + i) * g.KW + j) * ld
                for oh in range(g.OH):
                    r = g.row_src[oh * g.KH + i]
                    if r < 0:
                        memset(dst + oh * g.OW, 0, g.OW * sizeof(floating))
                        continue
                    src_row = xn + (c * g.H + r) * g.W
                    for ow in range(lo):
                        s = g.col_src[ow * g.KW + j]
                        dst[oh * g.OW + ow] = src_row[s] if s >= 0 else 0
                    if g.SW == 1:
                        copy_run(dst + oh * g.OW + lo, src_row + lo + offset, hi - lo)
                    else:
                        for ow in range(lo, hi):
                            dst[oh * g.OW + ow] = src_row[ow * g.SW + offset]
                    for ow in range(hi, g.OW):
                        s = g.col_src[ow * g.KW + j]
                        dst[oh * g.OW + ow] = src_row[s] if s >= 0 else 0


cdef void col2im_add(Geometry g, const floating *dcol, Py_ssize_t ld,
                     floating *dxn) noexcept nogil:
    # The transpose of im2col: every patch value goes back to the pixel it was read from.
    cdef Py_ssize_t c, i, j, oh, ow, r, s, lo, hi, offset
    cdef const floating *src
    cdef floating *dst_row
    for c in range(g.C):
        for i in range(g.KH):
            for j in range(g.KW):
                lo = g.col_lo[j]
                hi = g.col_hi[j]
                offset = j * g.DW - g.left
                src = dcol + ((c * g.KH + i) * g.KW + j) * ld
                for oh in range(g.OH):
                    r = g.row_src[oh * g.KH + i]
                    if r < 0:
                        continue
                    dst_row = dxn + (c * g.H + r) * g.W
                    for ow in range(lo):
                        s = g.col_src[ow * g.KW + j]
                        if s >= 0:
                            dst_row[s] += src[oh * g.OW + ow]
                    if g.SW == 1:
                        add_run(dst_row + lo + offset, src + oh * g.OW + lo, hi - lo)
                    else:
                        for ow in range(lo, hi):
                            dst_row[ow * g.SW + offset] += src[oh * g.OW + ow]
                    for ow in range(hi, g.OW):
                        s = g.col_src[ow * g.KW + j]
                        if s >= 0:
                            dst_row[s] += src[oh * g.OW + ow]


cdef void scatter_output(const floating *chunk, Py_ssize_t ld, const floating *b,
                         bint has_bias, Py_ssize_t F, Py_ssize_t P,
                         floating *outn) noexcept nogil:
    # (F, L) chunk columns of one sample -> out[n] (F, P), with the bias on the way.
    cdef Py_ssize_t f, p
    cdef floating bias
    for f in range(F):
        bias = b[f] if has_bias else 0
        for p in range(P):
            outn[f * P + p] = chunk[f * ld + p] + bias


cdef inline floating sum_run(const floating *src, Py_ssize_t m) noexcept nogil:
    if floating is float:
        return sumf(src, m)
    else:
        return sumd(src, m)


cdef void gather_dout(const floating *doutn, Py_ssize_t F, Py_ssize_t P, floating *chunk,
                      Py_ssize_t ld, floating *db) noexcept nogil:
    # dout[n] (F, P) -> columns of the (F, L) chunk, summing db on the way.
    cdef Py_ssize_t f
    for f in range(F):
        copy_run(chunk + f * ld, doutn + f * P, P)
        db[f] += sum_run(doutn + f * P, P)


cdef void sum_db(const floating *doutn, Py_ssize_t F, Py_ssize_t P,
                 floating *db) noexcept nogil:
    cdef Py_ssize_t f
    for f in range(F):
        db[f] += sum_run(doutn + f * P, P)


def conv2d_forward(ConvPlan plan, ConvRun run,
                   const floating[:, :, :, ::1] x,       # IN  (N, C, H, W)
                   const floating[:, ::1] w,             # IN  (F, K)
                   const floating[::1] b,                # IN  (F,) (ignored unless has_bias)
                   floating[:, :, ::1] out,              # OUT (N, F, P)
                   floating[:, ::1] col_buf,             # (threads, K·chunk·P) scratch, or
                                                         # (chunks, K·chunk·P) kept for backward
                   floating[:, ::1] out_buf):            # scratch (threads, F·chunk·P)
    cdef Geometry g = plan.g
    cdef Py_ssize_t N = x.shape[0], F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t P = g.OH * g.OW
    cdef Py_ssize_t chunk = run.chunk
    cdef Py_ssize_t chunks = (N + chunk - 1) // chunk
    cdef Py_ssize_t q, n, n0, nb, L, grp
    cdef Py_ssize_t G = run.groups, Fg = F // run.groups
    cdef int tid
    cdef floating *col
    cdef floating *tmp
    for q in prange(chunks, nogil=True, num_threads=run.num_threads, schedule="dynamic"):
        tid = threadid()
        col = &col_buf[q if run.keep_columns else tid, 0]
        tmp = &out_buf[tid, 0]
        n0 = q * chunk
        nb = min(chunk, N - n0)
        L = nb * P
        for n in range(n0, n0 + nb):
            im2col(g, &x[n, 0, 0, 0], col + (n - n0) * P, L)
        # out_chunk (F, L) = W (F, K) @ col (K, L), one block per group (K here is Kg)
        for grp in range(G):
            gemm_rowmajor(False, False, <int> Fg, <int> L, <int> K,
                          1.0, &w[grp * Fg, 0], <int> K, col + grp * K * L, <int> L, 0.0,
                          tmp + grp * Fg * L, <int> L)
        for n in range(n0, n0 + nb):
            scatter_output(tmp + (n - n0) * P, L, &b[0], run.has_bias, F, P, &out[n, 0, 0])


def conv2d_backward(ConvPlan plan, ConvRun run,
                    const floating[:, :, ::1] dout,      # IN  (N, F, P)
                    const floating[:, :, :, ::1] x,      # IN  (N, C, H, W)
                    const floating[:, ::1] w,            # IN  (F, K)
                    floating[:, :, :, ::1] dx,           # OUT (N, C, H, W)
                    floating[:, ::1] dw,                 # OUT (F, K)
                    floating[::1] db,                    # OUT (F,)
                    floating[:, ::1] dw_acc,             # scratch (blocks, K·F): dWᵀ per block
                    floating[:, ::1] db_acc,             # scratch (blocks, F)
                    floating[:, ::1] col_buf,            # (threads, K·chunk·P) scratch, or the
                                                         # forward's (chunks, K·chunk·P) columns
                    floating[:, ::1] dcol_buf,           # scratch (threads, K·chunk·P)
                    floating[:, ::1] dout_buf):          # scratch (threads, F·chunk·P)
    cdef Geometry g = plan.g
    cdef Py_ssize_t N = x.shape[0], F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t chunk = run.chunk
    cdef Py_ssize_t chunks = (N + chunk - 1) // chunk
    cdef Py_ssize_t per_block = (chunks + run.blocks - 1) // run.blocks
    cdef Py_ssize_t blk, q, n0
    cdef int tid
    memset(&dw_acc[0, 0], 0, dw_acc.shape[0] * dw_acc.shape[1] * sizeof(floating))
    memset(&db_acc[0, 0], 0, db_acc.shape[0] * db_acc.shape[1] * sizeof(floating))
    for blk in prange(run.blocks, nogil=True, num_threads=run.num_threads, schedule="dynamic"):
        tid = threadid()
        for q in range(blk * per_block, min(chunks, (blk + 1) * per_block)):
            n0 = q * chunk
            backward_chunk(g, run, n0, min(chunk, N - n0), F, K, &dout[0, 0, 0], &x[0, 0, 0, 0],
                           &w[0, 0], &dx[0, 0, 0, 0], &col_buf[q if run.keep_columns else tid, 0],
                           &dout_buf[tid, 0], &dcol_buf[tid, 0], &dw_acc[blk, 0], &db_acc[blk, 0])
    with nogil:
        sum_blocks(dw_acc, db_acc, F, K, dw, db)


cdef void backward_chunk(Geometry g, ConvRun run, Py_ssize_t n0, Py_ssize_t nb,
                         Py_ssize_t F, Py_ssize_t K, const floating *dout, const floating *x,
                         const floating *w, floating *dx, floating *col, floating *dchunk,
                         floating *dcol, floating *dw_row, floating *db_row) noexcept nogil:
    # Samples n0 .. n0 + nb − 1: their share of dWᵀ and db added into this block's rows, and
    # their dx. dout (N, F, P), x (N, C·H·W), w (F, K) and dx are whole arrays.
    cdef Py_ssize_t P = g.OH * g.OW, L = nb * P, CHW = g.C * g.H * g.W
    cdef Py_ssize_t G = run.groups, Fg = F // run.groups
    cdef Py_ssize_t n, grp
    cdef bint direct = run.direct_dout
    for n in range(n0, n0 + nb):
        if not run.keep_columns:
            im2col(g, x + n * CHW, col + (n - n0) * P, L)
        if direct:
            sum_db(dout + n * F * P, F, P, db_row)
        else:
            gather_dout(dout + n * F * P, F, P, dchunk + (n - n0) * P, L, db_row)
    # dWᵀ (K, F) += col (K, L) @ dchunkᵀ (L, F): accumulated transposed, because with the
    # small F as BLAS's m this orientation ran about twice as fast on these shapes; sum_blocks
    # transposes the (K, F) sum. With many output pixels per sample, one GEMM per sample
    # straight on dout is large enough, and spares copying dout into the chunk.
    # Per group: dWᵀ rows (Kg, its Fg columns of F) += col_g (Kg, L) @ dchunk_gᵀ (L, Fg).
    for grp in range(G):
        if direct:
            for n in range(n0, n0 + nb):
                gemm_rowmajor(False, True, <int> K, <int> Fg, <int> P,
                              1.0, col + grp * K * L + (n - n0) * P, <int> L,
                              dout + (n * F + grp * Fg) * P, <int> P,
                              1.0, dw_row + grp * Fg, <int> F)
        else:
            gemm_rowmajor(False, True, <int> K, <int> Fg, <int> L,
                          1.0, col + grp * K * L, <int> L, dchunk + grp * Fg * L, <int> L,
                          1.0, dw_row + grp * Fg, <int> F)
    if not run.need_dx:
        return
    # dcol (K, L) = Wᵀ (K, F) @ dchunk (F, L), per group: dcol_g = W_gᵀ @ dchunk_g
    for grp in range(G):
        if direct:
            for n in range(n0, n0 + nb):
                gemm_rowmajor(True, False, <int> K, <int> P, <int> Fg,
                              1.0, w + grp * Fg * K, <int> K, dout + (n * F + grp * Fg) * P,
                              <int> P, 0.0, dcol + grp * K * L + (n - n0) * P, <int> L)
        else:
            gemm_rowmajor(True, False, <int> K, <int> L, <int> Fg,
                          1.0, w + grp * Fg * K, <int> K, dchunk + grp * Fg * L,
                          <int> L, 0.0, dcol + grp * K * L, <int> L)
    # Each thread zeroes its own samples' dx right before adding into them: in cache, in
    # parallel, instead of a separate zeroing pass over the whole array.
    for n in range(n0, n0 + nb):
        memset(dx + n * CHW, 0, CHW * sizeof(floating))
        col2im_add(g, dcol + (n - n0) * P, L, dx + n * CHW)


cdef void sum_blocks(floating[:, ::1] dw_acc, floating[:, ::1] db_acc,
                     Py_ssize_t F, Py_ssize_t K, floating[:, ::1] dw,
                     floating[::1] db) noexcept nogil:
    # The blocks' partial sums, added in block order into the first block's rows (reproducible
    # for a fixed thread count; whole rows at a time, so the adds run in vector blocks), then
    # dWᵀ (K, F) transposed into dW (F, K). Done here rather than by NumPy in the caller: at
    # batch 1 those few array operations cost more than the arithmetic.
    cdef Py_ssize_t t, k, f
    for t in range(1, dw_acc.shape[0]):
        add_run(&dw_acc[0, 0], &dw_acc[t, 0], K * F)
        add_run(&db_acc[0, 0], &db_acc[t, 0], F)
    for f in range(F):
        for k in range(K):
            dw[f, k] = dw_acc[0, k * F + f]
        db[f] = db_acc[0, f]
