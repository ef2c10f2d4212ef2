/* The compact plan's fused kernels (logdepth/model/fused.py builds and loads them,
 * model/compact.py calls them): averaging-hard attention in one sweep per query, then sparse
 * feed-forwards and the residual stream's gather and scatter (at the end of the file).
 *
 * The torch path of compact.py runs four passes over a [queries, keys] score block: the
 * product, the row maximum, the tie test and the product with the values. Here one query's
 * scores stay in a scratch row in cache, and the same four steps run over it:
 *
 *   s_j   = q . k_j          for every key j the query sees, d = 0..dk-1 in order
 *   floor = max_j s_j - tol  (in the dtype, as the torch path's amax(...) - tol)
 *   out   = (sum of v_j over the keys with s_j >= floor) / how many
 *
 * which is the definition of averaging-hard attention (every key within tol of the best
 * shares the weight evenly). The sum runs lane by lane over the keys (a key that is not
 * attended adds an exact 0), then across the lanes as a tree. Only the rounding of each dot product and
 * the order of the sum of the attended values can differ from the torch path's BLAS products: built with
 * -ffp-contract=fast, a multiply and add may fuse (one rounding instead of two) where the CPU
 * has FMA, as BLAS's own kernels do; the compact plan's bounds (gamma_k times the sum of the
 * |terms|, compact.py's module docstring) hold for either. The caller passes finite q, k and v
 * only (the torch path keeps any NaN or infinity, whose spread it defines); -inf is only the
 * padding past the last visible key.
 *
 * Query i of batch row b sees the keys j < length[b], and j <= i too when its head is causal.
 * Layouts, contiguous: q [B, H, T, dk]; kt [B, H, dk, stride] (keys transposed so that the
 * score loop reads consecutive keys; stride >= T, a multiple of GROUP vectors, zero past T so
 * that whole vectors can be read); vt [B, H, dv, stride] (the values, the same way);
 * out[b, i, h, e] lies at
 * b * out_b + i * out_t + h * out_h + e. The rows [row0, row1) of the flattened (b, h, i)
 * range are computed, so a caller may split them across threads, each with its own scratch
 * (`_scratch(stride, dk, dv)` values).
 *
 * Consecutive queries of one head are scored as a tile of QUERIES: each key vector loaded
 * serves all of them, and GROUP vectors of keys are summed side by side, so that the adds of a
 * long dot product (the wide code's heads read 41 dimensions) do not wait on each other.
 * Measured on one AVX-512 core at 1,026 tokens (one causal head): 0.5-0.7 ns a query-key pair
 * at 2 to 4 dimensions, 1.4-1.6 ns at 41, against 10-15 ns for the torch path's four passes.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The widest vectors the target has (GCC and clang lower a wider vector type to several
 * narrower ones, slowly: 64-byte vectors without AVX-512 ran 6x slower than native ones). */
#if defined(__AVX512F__)
#define VECTOR_BYTES 64
#elif defined(__AVX__)
#define VECTOR_BYTES 32
#else
#define VECTOR_BYTES 16
#endif
/* The score loop sums GROUP vectors of keys side by side; the tie test reads GROUP vectors at
 * a time and looks closer only where one holds a hit. A tile holds QUERIES queries (their
 * GROUP x QUERIES sums stay in registers: 32 vector registers with AVX-512, 16 otherwise). */
#define GROUP 4
#if VECTOR_BYTES == 64
#define QUERIES 4
#else
#define QUERIES 2
#endif
/* p-bit emulation (the paper's Definition 4; transformer.round_to_bits) rounds a result x to
 * its row's p bits by Veltkamp's split, c = s x, x' = c - (c - x), s = 2^(52 - p) + 1. The split
 * must not fuse into an FMA (fma(s, x, -x) is exact where c - x is not, and x' would not be
 * the rounding), so these functions are built without contraction, and not inlined into
 * callers built with it; the sums around them may fuse, as BLAS's do. round_block rounds
 * x[t] with its own s[t]; round_row all of x with one s; round_one one value. A compiler that
 * fuses them anyway (clang documents that -ffp-contract=fast disregards the pragma) is caught
 * when the library loads: fused.py checks all three against Python's own float arithmetic and
 * refuses the library on any difference. */
#if defined(__clang__)
#define NO_CONTRACT __attribute__((noinline))
#define BEGIN_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define NO_CONTRACT __attribute__((noinline, optimize("O3", "fp-contract=off")))
#define BEGIN_NO_CONTRACT
#endif

#define ROUNDING(SUFFIX, REAL)                                                                 \
    NO_CONTRACT void round_block_##SUFFIX(REAL *x, int64_t w, const REAL *split) {             \
        BEGIN_NO_CONTRACT                                                                      \
        for (int64_t t = 0; t < w; t++) {                                                      \
            const REAL c = x[t] * split[t];                                                    \
            x[t] = c - (c - x[t]);                                                             \
        }                                                                                      \
    }                                                                                          \
    NO_CONTRACT void round_row_##SUFFIX(REAL *x, int64_t w, REAL split) {                      \
        BEGIN_NO_CONTRACT                                                                      \
        for (int64_t t = 0; t < w; t++) {                                                      \
            const REAL c = x[t] * split;                                                       \
            x[t] = c - (c - x[t]);                                                             \
        }                                                                                      \
    }                                                                                          \
    NO_CONTRACT REAL round_one_##SUFFIX(REAL x, REAL split) {                                  \
        BEGIN_NO_CONTRACT                                                                      \
        const REAL c = x * split;                                                              \
        return c - (c - x);                                                                    \
    }

ROUNDING(f64, double)
ROUNDING(f32, float)

/* Where one head's keys (kt, dk rows) exceed KEYS_IN_CACHE bytes, queries are taken
 * BLOCK_QUERIES at a time, keys BLOCK_KEY_BYTES of kt at a time: each key block is read from
 * memory once per query block and stays in cache for all its tiles (at 30,840 tokens and 41
 * dimensions, all of kt is 5 MB in float32; reading it whole per tile of 4 queries made the
 * kernel 1.7x slower). Where they fit, a block is one tile, whose score rows stay nearest the
 * core (1.1-1.3x faster at 1,026 to 8,192 tokens and 2 to 41 dimensions). */
#if VECTOR_BYTES == 64
#include <immintrin.h>
#define ANY_AT_LEAST(NAME, REAL, INT)                                                          \
    return sizeof(REAL) == 8                                                                   \
               ? _mm512_cmp_pd_mask((__m512d)x, _mm512_set1_pd(floor), _CMP_GE_OQ) != 0        \
               : _mm512_cmp_ps_mask((__m512)x, _mm512_set1_ps(floor), _CMP_GE_OQ) != 0;
#else
#define ANY_AT_LEAST(NAME, REAL, INT)                                                          \
    const NAME##_mask near = x >= floor;                                                       \
    INT any = 0;                                                                               \
    for (int64_t u = 0; u < NAME##_LANES; u++) any |= near[u];                                 \
    return any != 0;
#endif
/* A vector's lanes from the int64 offsets index[u]: one gather instruction for 8 doubles with
 * AVX-512, else lane by lane. attention_inputs' cells read lane by lane took 1.23-1.26x
 * longer (star-free's three scored layers at 16 x 258 tokens, two A/B runs in one process). */
#if defined(__AVX512F__)
#define GATHER(REAL, x, base, index)                                                           \
    if (sizeof(REAL) == 8) {                                                                   \
        const __m512d g = _mm512_i64gather_pd(_mm512_loadu_si512(index), base, 8);             \
        memcpy(&x, &g, sizeof x);                                                              \
    } else {                                                                                   \
        for (size_t u = 0; u < sizeof x / sizeof(REAL); u++) x[u] = (base)[(index)[u]];        \
    }
#else
#define GATHER(REAL, x, base, index)                                                           \
    for (size_t u = 0; u < sizeof x / sizeof(REAL); u++) x[u] = (base)[(index)[u]];
#endif
#define BLOCK_QUERIES 32
#define BLOCK_KEY_BYTES (128 * 1024)
#define KEYS_IN_CACHE (1024 * 1024)

#define HARD_ATTENTION(NAME, REAL, INT, ROUND_ROW, ROUND_ONE)                                  \
    typedef REAL NAME##_vec __attribute__((vector_size(VECTOR_BYTES)));                        \
    typedef INT NAME##_mask __attribute__((vector_size(VECTOR_BYTES)));                        \
    enum { NAME##_LANES = VECTOR_BYTES / sizeof(REAL), NAME##_W = NAME##_LANES * GROUP };      \
                                                                                               \
    static inline NAME##_vec NAME##_load(const REAL *p) {                                      \
        NAME##_vec x;                                                                          \
        memcpy(&x, p, sizeof x);                                                               \
        return x;                                                                              \
    }                                                                                          \
                                                                                               \
    /* a > b ? a : b lane by lane (exact: a maximum rounds nothing) */                        \
    static inline NAME##_vec NAME##_max(NAME##_vec a, NAME##_vec b) {                          \
        NAME##_mask take = a > b;                                                              \
        return (NAME##_vec)(((NAME##_mask)a & take) | ((NAME##_mask)b & ~take));               \
    }                                                                                          \
                                                                                               \
    /* The scores of the QUERIES queries q[r] (dk each; nq of them wanted) against the keys    \
     * [lo, hi) into s[r * stride + j], -inf from keys[r] on; top[r] becomes the larger of     \
     * itself and their maximum. */                                                          \
    static void NAME##_scores(int64_t nq, const REAL *q, int64_t dk, const REAL *kt,           \
                              int64_t stride, int64_t lo, int64_t hi, const int64_t *keys,      \
                              REAL *s, REAL *top) {                                            \
        const int64_t L = NAME##_LANES;                                                        \
        NAME##_vec best[QUERIES], lowest;                                                      \
        NAME##_mask iota;                                                                      \
        for (int64_t u = 0; u < L; u++) lowest[u] = -INFINITY, iota[u] = u;                    \
        for (int64_t r = 0; r < QUERIES; r++) best[r] = lowest;                                \
        for (int64_t j = lo; j < hi; j += NAME##_W) {                                          \
            NAME##_vec acc[QUERIES][GROUP];                                                    \
            for (int64_t g = 0; g < GROUP; g++) {                                              \
                const NAME##_vec k = NAME##_load(kt + j + g * L);                              \
                for (int64_t r = 0; r < QUERIES; r++) acc[r][g] = q[r * dk] * k;               \
            }                                                                                  \
            for (int64_t d = 1; d < dk; d++) {                                                 \
                for (int64_t g = 0; g < GROUP; g++) {                                          \
                    const NAME##_vec k = NAME##_load(kt + d * stride + j + g * L);             \
                    for (int64_t r = 0; r < QUERIES; r++)                                      \
                        acc[r][g] = acc[r][g] + q[r * dk + d] * k;                             \
                }                                                                              \
            }                                                                                  \
            /* every row of the tile, nq or not (its spare rows repeat a query, and their     \
               keys, scratch rows and top are there): with constant indices the sums stay in   \
               registers (a row count known only at run time left them on the stack, each     \
               stored and loaded back) */                                                    \
            for (int64_t r = 0; r < QUERIES; r++) {                                            \
                for (int64_t g = 0; g < GROUP; g++) {                                          \
                    const int64_t j0 = j + g * L;                                              \
                    if (j0 + L > keys[r]) { /* past the keys it sees: never the max or a hit */ \
                        const NAME##_mask past = iota + (INT)(j0 - keys[r]) >= 0;              \
                        acc[r][g] = (NAME##_vec)(((NAME##_mask)acc[r][g] & ~past) |             \
                                                 ((NAME##_mask)lowest & past));                \
                    }                                                                          \
                    memcpy(s + r * stride + j0, &acc[r][g], sizeof acc[r][g]);                 \
                    best[r] = NAME##_max(acc[r][g], best[r]);                                  \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        (void)nq;                                                                              \
        for (int64_t r = 0; r < QUERIES; r++) {                                                \
            REAL x = top[r];                                                                   \
            for (int64_t u = 0; u < L; u++) x = best[r][u] > x ? best[r][u] : x;               \
            top[r] = x;                                                                        \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* Whether a lane of x is >= floor (NaN is not): one compare into a mask register with    \
     * AVX-512 (the vector compare's lanes, or'ed one by one, took a tenth of the kernel's     \
     * time at 258 tokens), else the lanes' compare or'ed. */                                  \
    static inline int NAME##_any_at_least(NAME##_vec x, REAL floor) {                          \
        ANY_AT_LEAST(NAME, REAL, INT)                                                          \
    }                                                                                          \
                                                                                               \
    /* The sum of x's lanes as a tree: halves added, then their halves, down to one lane. */ \
    static inline REAL NAME##_lanes_sum(NAME##_vec x) {                                        \
        REAL half[NAME##_LANES];                                                               \
        memcpy(half, &x, sizeof half);                                                         \
        for (int64_t w = NAME##_LANES / 2; w >= 1; w /= 2)                                     \
            for (int64_t u = 0; u < w; u++) half[u] = half[u] + half[u + w];                   \
        return half[0];                                                                        \
    }                                                                                          \
                                                                                               \
    /* o = the mean of the values vt[e * stride + j] over the keys j < keys with s[j] >=     \
     * floor: lane by lane sums of the hits (a miss adds an exact 0, so a vector of keys      \
     * without a hit is skipped), then the lanes' sum as a tree (their sum one by one, and    \
     * every vector of a group with a hit, ran star-free's three scored layers at 16 x 258    \
     * tokens 1.28x slower, uniform's 1.17x and the wide code's at 1,026 1.02x: one A/B run,  \
     * one process). `sums`: dv vectors of scratch. */                                       \
    static inline __attribute__((always_inline)) void NAME##_attend_body(                     \
        const REAL *s, int64_t keys, REAL floor, const REAL *vt, int64_t stride, int64_t dv,    \
        NAME##_vec *sums, REAL split, REAL *o) {                                               \
        const int64_t L = NAME##_LANES;                                                        \
        NAME##_vec count;                                                                      \
        for (int64_t u = 0; u < L; u++) count[u] = 0;                                          \
        for (int64_t e = 0; e < dv; e++) sums[e] = count;                                      \
        for (int64_t j0 = 0; j0 < keys; j0 += NAME##_W) {                                      \
            NAME##_vec x = NAME##_load(s + j0);                                                \
            for (int64_t g = 1; g < GROUP; g++) x = NAME##_max(NAME##_load(s + j0 + g * L), x); \
            if (!NAME##_any_at_least(x, floor)) continue;                                      \
            for (int64_t g = 0; g < GROUP; g++) {                                              \
                const int64_t j = j0 + g * L;                                                  \
                const NAME##_vec sj = NAME##_load(s + j);                                      \
                if (!NAME##_any_at_least(sj, floor)) continue;                                 \
                const NAME##_mask hit = sj >= floor;                                           \
                count = count + (NAME##_vec)((NAME##_mask)((NAME##_vec){0} + 1) & hit);       \
                for (int64_t e = 0; e < dv; e++)                                               \
                    sums[e] = sums[e] +                                                        \
                              (NAME##_vec)((NAME##_mask)NAME##_load(vt + e * stride + j) & hit); \
            }                                                                                  \
        }                                                                                      \
        const REAL n = NAME##_lanes_sum(count);                                                \
        for (int64_t e = 0; e < dv; e++) {                                                     \
            const REAL total = NAME##_lanes_sum(sums[e]);                                      \
            /* emulated: the sum rounded, then the division (transformer.Attention) */        \
            o[e] = split ? ROUND_ONE(ROUND_ONE(total, split) / n, split) : total / n;           \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* attend_body with the sums in registers for the value widths up to 4 (a constant dv   \
     * lets the compiler keep them out of memory; the same sums in the same order): the wide  \
     * code's heads (dk 41, dv 2) ran 1.1x faster at 258 tokens, star-free's within noise. */ \
    static void NAME##_attend(const REAL *s, int64_t keys, REAL floor, const REAL *vt,         \
                              int64_t stride, int64_t dv, NAME##_vec *sums, REAL split,        \
                              REAL *o) {                                                       \
        NAME##_vec held[4];                                                                    \
        switch (dv) {                                                                          \
        case 1: NAME##_attend_body(s, keys, floor, vt, stride, 1, held, split, o); return;     \
        case 2: NAME##_attend_body(s, keys, floor, vt, stride, 2, held, split, o); return;     \
        case 3: NAME##_attend_body(s, keys, floor, vt, stride, 3, held, split, o); return;     \
        case 4: NAME##_attend_body(s, keys, floor, vt, stride, 4, held, split, o); return;     \
        default: NAME##_attend_body(s, keys, floor, vt, stride, dv, sums, split, o);           \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* The key padding the kernel reads in whole: kt's stride is a multiple of it. */         \
    int64_t NAME##_block(void) { return NAME##_W; }                                            \
                                                                                               \
    /* Scratch: BLOCK_QUERIES score rows of `stride`, their queries, dv sum vectors. */     \
    int64_t NAME##_scratch(int64_t stride, int64_t dk, int64_t dv) {                           \
        return BLOCK_QUERIES * (stride + dk) + (dv + 1) * NAME##_LANES;                        \
    }                                                                                          \
                                                                                               \
    void NAME(int64_t H, int64_t T, int64_t stride, int64_t dk, int64_t dv, const REAL *q,     \
              const REAL *kt, const REAL *vt, const uint8_t *causal, const int64_t *length,     \
              REAL tol, const REAL *split, const REAL *tols, REAL *out, int64_t out_b,          \
              int64_t out_t, int64_t out_h, int64_t row0, int64_t row1, REAL *scratch) {       \
        REAL *s = scratch, *tile = scratch + BLOCK_QUERIES * stride, top[BLOCK_QUERIES];       \
        /* the sum vectors, aligned to a vector within the scratch */                         \
        const uintptr_t at = (uintptr_t)(tile + BLOCK_QUERIES * dk), size = sizeof(NAME##_vec); \
        NAME##_vec *sums = (NAME##_vec *)((at + size - 1) / size * size);                      \
        int64_t keys[BLOCK_QUERIES];                                                           \
        const int64_t queries =                                                                \
            dk * stride * (int64_t)sizeof(REAL) > KEYS_IN_CACHE ? BLOCK_QUERIES : QUERIES;     \
        /* keys a block: its dk rows of kt within BLOCK_KEY_BYTES, a whole number of W */     \
        int64_t span = BLOCK_KEY_BYTES / (int64_t)sizeof(REAL) / dk / NAME##_W * NAME##_W;     \
        if (span < NAME##_W) span = NAME##_W;                                                  \
        for (int64_t row = row0; row < row1;) {                                                \
            const int64_t i0 = row % T, bh = row / T, h = bh % H, b = bh / H;                  \
            /* the block: up to `queries` rows of this head within [row0, row1), in tiles of \
               QUERIES; a tile's unused rows repeat its first query (never read) */          \
            int64_t nq = queries, most = 0;                                                    \
            if (nq > T - i0) nq = T - i0;                                                      \
            if (nq > row1 - row) nq = row1 - row;                                              \
            const int64_t tiles = (nq + QUERIES - 1) / QUERIES;                                \
            for (int64_t r = 0; r < tiles * QUERIES; r++) {                                    \
                const int64_t i = i0 + (r < nq ? r : r / QUERIES * QUERIES);                   \
                keys[r] = causal[h] && i + 1 < length[b] ? i + 1 : length[b];                  \
                most = keys[r] > most ? keys[r] : most;                                        \
                memcpy(tile + r * dk, q + (bh * T + i) * dk, dk * sizeof(REAL));               \
                top[r] = -INFINITY;                                                            \
            }                                                                                  \
            const int64_t padded = (most + NAME##_W - 1) / NAME##_W * NAME##_W;                \
            /* key blocks outside, so that a block's keys stay in cache for every tile */     \
            for (int64_t lo = 0; lo < padded; lo += span) {                                    \
                const int64_t hi = lo + span < padded ? lo + span : padded;                    \
                for (int64_t t = 0; t < tiles; t++) {                                          \
                    const int64_t first = t * QUERIES, in = nq - first < QUERIES ? nq - first : QUERIES; \
                    int64_t seen = 0; /* the tile's most keys (causal: its last query's) */    \
                    for (int64_t r = first; r < first + in; r++) seen = keys[r] > seen ? keys[r] : seen; \
                    if (lo >= seen) continue; /* keys none of the tile sees */                 \
                    const int64_t end = (seen + NAME##_W - 1) / NAME##_W * NAME##_W;           \
                    NAME##_scores(in, tile + first * dk, dk, kt + bh * dk * stride, stride, lo, \
                                  hi < end ? hi : end, keys + first, s + first * stride,       \
                                  top + first);                                                \
                }                                                                              \
            }                                                                                  \
            /* emulated: each score rounded (rounding is monotone, so the maximum of the     \
               rounded scores is the rounded maximum), then the floor best - tol */           \
            const REAL sp = split ? split[b] : 0;                                              \
            for (int64_t r = 0; r < nq; r++) {                                                 \
                REAL floor = top[r] - tol;                                                     \
                if (split) {                                                                   \
                    ROUND_ROW(s + r * stride, keys[r], sp);                                    \
                    floor = ROUND_ONE(ROUND_ONE(top[r], sp) - tols[b], sp);                    \
                }                                                                              \
                NAME##_attend(s + r * stride, keys[r], floor, vt + bh * dv * stride, stride,   \
                              dv, sums, sp, out + b * out_b + (i0 + r) * out_t + h * out_h);   \
            }                                                                                  \
            row += nq;                                                                         \
        }                                                                                      \
    }

HARD_ATTENTION(hard_attention_f64, double, int64_t, round_row_f64, round_one_f64)
HARD_ATTENTION(hard_attention_f32, float, int32_t, round_row_f32, round_one_f32)

/* A sparse feed-forward, out = W_out relu(W_in z), for the compact plan's CSR layers (the wide
 * models' threshold layers: thousands of units that each read a few cells). Tokens run along
 * the vectors: z is [c, N] (a row per read cell), out [outs, N]; W_in [units, c] is CSR (row
 * starts, columns, values) and W_out is given unit by unit (CSC of [outs, units]: per unit,
 * the outputs it feeds, ascending, and their weights). Over a block of TOKEN_BLOCK tokens,
 * each unit's activation is formed in one scratch row (its sum adds its W_in row's nonzero
 * terms in column order) and added at once into the outputs it feeds, units in ascending
 * order: each output's sum adds its W_out row's nonzero terms in column order, as a CSR row
 * would (the dense product's terms less exact zeros, in another order: compact.py's
 * contract), while the block's outputs stay in cache and no [units, tokens] hidden layer is
 * stored (a 4,104-unit layer's block is 8.4 MB: streamed, it ran 2.1x faster per token). A
 * unit whose activation is 0 on every token of the block adds nothing (each of its terms is
 * x * 0, an exact zero; a NaN is not 0 and is added). Tokens [t0, t1) are computed, so a
 * caller may split them across threads. The caller passes finite z and weights only.
 * (Summing a row's terms in registers, a few vectors of tokens at a time, ran 1.5x slower: the
 * rows hold 5 to 8 terms, too few to pay for the loop around them.)
 *
 * p-bit emulation (transformer.FeedForward under precision_bits) passes `split`, one Veltkamp
 * constant per token: each unit's sum and each output's sum is then rounded to its token's p
 * bits, as transformer.round_to_bits rounds (round_block above). NULL: no rounding. */
#define TOKEN_BLOCK 256

#define SPARSE_FEED_FORWARD(NAME, REAL, ROUND)                                                 \
    int64_t NAME##_scratch(int64_t units) { (void)units; return TOKEN_BLOCK; }                 \
                                                                                               \
    void NAME(int64_t N, const REAL *z, int64_t units, const int64_t *in_rows,                 \
              const int64_t *in_cols, const REAL *in_vals, int64_t outs,                       \
              const int64_t *unit_starts, const int64_t *unit_outs, const REAL *unit_vals,     \
              REAL *out, const REAL *split, int64_t t0, int64_t t1, REAL *hidden) {            \
        REAL *restrict h = hidden;                                                             \
        for (int64_t a = t0; a < t1; a += TOKEN_BLOCK) {                                       \
            const int64_t w = t1 - a < TOKEN_BLOCK ? t1 - a : TOKEN_BLOCK;                     \
            for (int64_t o = 0; o < outs; o++)                                                 \
                for (int64_t t = 0; t < w; t++) out[o * N + a + t] = 0;                        \
            for (int64_t u = 0; u < units; u++) {                                              \
                for (int64_t t = 0; t < w; t++) h[t] = 0;                                      \
                for (int64_t k = in_rows[u]; k < in_rows[u + 1]; k++) {                        \
                    const REAL x = in_vals[k], *restrict zc = z + in_cols[k] * N + a;          \
                    for (int64_t t = 0; t < w; t++) h[t] = h[t] + x * zc[t];                   \
                }                                                                              \
                if (split) ROUND(h, w, split + a);                                             \
                int live = 0;                                                                  \
                for (int64_t t = 0; t < w; t++) { /* relu, NaN kept as torch keeps it */      \
                    h[t] = h[t] > 0 || h[t] != h[t] ? h[t] : 0;                                \
                    live |= h[t] != 0;                                                         \
                }                                                                              \
                if (!live) continue;                                                           \
                for (int64_t k = unit_starts[u]; k < unit_starts[u + 1]; k++) {               \
                    const REAL x = unit_vals[k];                                               \
                    REAL *restrict y = out + unit_outs[k] * N + a;                             \
                    for (int64_t t = 0; t < w; t++) y[t] = y[t] + x * h[t];                    \
                }                                                                              \
            }                                                                                  \
            if (split)                                                                         \
                for (int64_t o = 0; o < outs; o++) ROUND(out + o * N + a, w, split + a);       \
        }                                                                                      \
    }

SPARSE_FEED_FORWARD(sparse_feed_forward_f64, double, round_block_f64)
SPARSE_FEED_FORWARD(sparse_feed_forward_f32, float, round_block_f32)

/* Per lane: the square root of `squares`, and infinity where it is 0 (norm(0) = 0 then reads
 * x / inf = 0). Lane by lane through an array, which the compiler makes one vector square
 * root: written on the vector's own lanes, it split the work into scalar and half-width
 * pieces through the stack (a quarter of a small feed-forward's time). */
#define NORM(NAME, REAL, SQRT)                                                                 \
    /* x[u] = base[index[u]] for every lane u (GATHER) */                                    \
    static inline NAME##_vec NAME##_gather(const REAL *base, const int64_t *index) {           \
        NAME##_vec x;                                                                          \
        GATHER(REAL, x, base, index);                                                          \
        return x;                                                                              \
    }                                                                                          \
                                                                                               \
    static inline NAME##_vec NAME##_norm(NAME##_vec squares) {                                 \
        REAL lanes[sizeof(NAME##_vec) / sizeof(REAL)];                                         \
        memcpy(lanes, &squares, sizeof lanes);                                                 \
        for (size_t u = 0; u < sizeof lanes / sizeof *lanes; u++) lanes[u] = SQRT(lanes[u]);   \
        NAME##_vec norm;                                                                       \
        memcpy(&norm, lanes, sizeof norm);                                                     \
        const __typeof__(norm == norm) zero = norm == 0;                                       \
        return (NAME##_vec)(((__typeof__(zero))norm & ~zero) |                                 \
                            ((__typeof__(zero))((NAME##_vec){0} + INFINITY) & zero));          \
    }

/* The residual stream's gather and scatter (compact.py's _prenorm and _add), for h [N, d]
 * contiguous: z[t, e] = x_e / ||x|| with x_e = mask[e] h[t, cols[e]] (no mask: 1), and 0 for
 * every e where ||x|| = 0 (norm(0) = 0; the norm is the square root of the sum of the squares
 * in column order, as a dot product in another order: compact.py's contract; NaN and
 * infinity spread as in the torch path: x / inf = 0, inf / inf = NaN); and h[t, cols[e]] +=
 * delta[t, e]. z[t, e] and delta[t, e] sit at t * st + e * se (the caller's strides: [N, c]
 * token-major, or [c, N] with tokens along the rows, as the sparse feed-forward reads and
 * writes them). Tokens [t0, t1) are computed, so a caller may split them across threads.
 * The gather runs a vector of tokens at a time (each token's sum of squares is a chain of
 * dependent adds; side by side they do not wait on each other), and a write to a run of
 * columns is one contiguous add per token: on the wide model at 1,026 tokens, one word a pass
 * (1 thread, one run each on a loaded machine) the pre-norms took 3.5 ms a pass instead of
 * 4.5 and the adds 2.5 instead of 3.1. */
#define RESIDUAL(NAME, REAL, SQRT)                                                             \
    typedef REAL NAME##_vec __attribute__((vector_size(VECTOR_BYTES)));                        \
    enum { NAME##_LANES = VECTOR_BYTES / sizeof(REAL) };                                       \
    NORM(NAME, REAL, SQRT)                                                                     \
                                                                                               \
    /* Scratch: the gathered cells (or inputs) of one vector of tokens, and room to align. */ \
    int64_t NAME##_gather_scratch(int64_t c) { return (c + 1) * NAME##_LANES; }               \
    /* uniform_add's: H dv vectors of means, H dv running sums, and room to align. */         \
    int64_t NAME##_uniform_scratch(int64_t n) { return (n + 1) * NAME##_LANES + n; }           \
                                                                                               \
    void NAME##_gather_norm(int64_t d, const REAL *h, int64_t c, const int64_t *cols,          \
                            const REAL *mask, REAL *z, int64_t st, int64_t se, int64_t t0,     \
                            int64_t t1, REAL *x) {                                             \
        const int64_t L = NAME##_LANES;                                                        \
        int64_t t = t0;                                                                        \
        /* a vector of tokens at a time, a token a lane: each token's sum of squares is the   \
           same chain in column order as one at a time, without waiting on each add */        \
        for (; t + L <= t1; t += L) {                                                          \
            NAME##_vec squares = {0};                                                          \
            for (int64_t e = 0; e < c; e++) {                                                  \
                NAME##_vec v;                                                                  \
                for (int64_t u = 0; u < L; u++) v[u] = h[(t + u) * d + cols[e]];               \
                if (mask) v = mask[e] * v;                                                     \
                memcpy(x + e * L, &v, sizeof v);                                               \
                squares = squares + v * v;                                                     \
            }                                                                                  \
            const NAME##_vec norm = NAME##_norm(squares);                                      \
            for (int64_t e = 0; e < c; e++) {                                                  \
                NAME##_vec v;                                                                  \
                memcpy(&v, x + e * L, sizeof v);                                               \
                v = v / norm;                                                                  \
                for (int64_t u = 0; u < L; u++) z[(t + u) * st + e * se] = v[u];                \
            }                                                                                  \
        }                                                                                      \
        for (; t < t1; t++) {                                                                  \
            const REAL *ht = h + t * d;                                                        \
            REAL *zt = z + t * st, squares = 0;                                                \
            for (int64_t e = 0; e < c; e++) {                                                  \
                const REAL v = mask ? mask[e] * ht[cols[e]] : ht[cols[e]];                     \
                zt[e * se] = v;                                                                \
                squares = squares + v * v;                                                     \
            }                                                                                  \
            REAL norm = SQRT(squares);                                                         \
            if (norm == 0) norm = INFINITY;                                                    \
            for (int64_t e = 0; e < c; e++) zt[e * se] = zt[e * se] / norm;                    \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* h[t, cols[o]] += sum_j x[t, j] m[j, o] (x [N, k], m [k, w] contiguous; j in order    \
     * from 0): an attention sublayer's output projection and add in one pass, a vector of    \
     * tokens at a time (a token at a time took 1.5x longer on star-free's layers). Scratch:   \
     * `gather_scratch(k)` values. */                                                        \
    void NAME##_project_add(int64_t d, REAL *h, int64_t w, const int64_t *cols, int64_t k,    \
                            const REAL *x, const REAL *m, int64_t t0, int64_t t1,             \
                            REAL *scratch) {                                                   \
        const int64_t L = NAME##_LANES;                                                        \
        const uintptr_t at = (uintptr_t)scratch, size = sizeof(NAME##_vec);                    \
        NAME##_vec *xs = (NAME##_vec *)((at + size - 1) / size * size);                        \
        int64_t t = t0;                                                                        \
        /* a vector of tokens at a time, a token a lane: the same sums, side by side */       \
        for (; t + L <= t1; t += L) {                                                          \
            int64_t row[NAME##_LANES];                                                         \
            for (int64_t u = 0; u < L; u++) row[u] = (t + u) * k;                              \
            for (int64_t j = 0; j < k; j++) xs[j] = NAME##_gather(x + j, row);                 \
            for (int64_t o = 0; o < w; o++) {                                                  \
                NAME##_vec acc = {0};                                                          \
                for (int64_t j = 0; j < k; j++) acc = acc + xs[j] * m[j * w + o];              \
                for (int64_t u = 0; u < L; u++) h[(t + u) * d + cols[o]] += acc[u];            \
            }                                                                                  \
        }                                                                                      \
        for (; t < t1; t++)                                                                    \
            for (int64_t o = 0; o < w; o++) {                                                  \
                REAL acc = 0;                                                                  \
                for (int64_t j = 0; j < k; j++) acc = acc + x[t * k + j] * m[j * w + o];        \
                h[t * d + cols[o]] += acc;                                                     \
            }                                                                                  \
    }                                                                                          \
                                                                                               \
    /* A sublayer of constant-score heads (compact.py: every visible key ties, so each head   \
     * averages its values), with its output projection and add: for batch rows [b0, b1),    \
     * values vt [B, H, dv, stride] (attention_inputs' layout), a causal head's mean at token  \
     * t is the running sum of v_0..v_t (in order) divided by t + 1, an unmasked head's the    \
     * sum of v_j over j < length[b] (in order) divided by length[b], the same for every      \
     * token; then h[t, cols[o]] += sum_j mean_j m[j, o] (m [H dv, w], j in order from 0).    \
     * Scratch: `uniform_scratch(H dv)` values. With attention_inputs before it, it replaces  \
     * six passes over the tokens (pre-norm, product, prefix sum, division, product, add):    \
     * star-free's layer ran 1.4x faster, its whole pass 1.05x, counting's 1.02x, solvable's  \
     * 1.04x (16 x 258 tokens, one A/B run each in one process). */                         \
    void NAME##_uniform_add(int64_t T, int64_t d, REAL *h, int64_t H, int64_t dv,              \
                            const REAL *vt, int64_t stride, const uint8_t *causal,             \
                            const int64_t *length, int64_t w, const int64_t *cols,             \
                            const REAL *m, int64_t b0, int64_t b1, REAL *scratch) {            \
        const int64_t n = H * dv, L = NAME##_LANES;                                            \
        const uintptr_t at = (uintptr_t)scratch, size = sizeof(NAME##_vec);                    \
        NAME##_vec *mean = (NAME##_vec *)((at + size - 1) / size * size);                      \
        REAL *sums = (REAL *)(mean + n);                                                       \
        NAME##_vec iota;                                                                       \
        for (int64_t u = 0; u < L; u++) iota[u] = u + 1;                                       \
        for (int64_t b = b0; b < b1; b++) {                                                    \
            const REAL *v = vt + b * n * stride; /* the row's values, row j = head j / dv */  \
            for (int64_t head = 0, j = 0; head < H; head++)                                    \
                for (int64_t e = 0; e < dv; e++, j++) {                                        \
                    sums[j] = 0;                                                               \
                    if (causal[head]) continue;                                                \
                    REAL total = 0;                                                            \
                    for (int64_t k = 0; k < length[b]; k++) total = total + v[j * stride + k]; \
                    mean[j] = (NAME##_vec){0} + total / (REAL)length[b];                       \
                }                                                                              \
            /* a vector of tokens at a time, a token a lane: the running sums one token after \
               another, then their division by the counts t + 1 and the projection side by    \
               side (the same operations in the same order as a token at a time) */           \
            for (int64_t t = 0; t < T; t += L) {                                               \
                const int64_t live = T - t < L ? T - t : L;                                    \
                for (int64_t head = 0, j = 0; head < H; head++, j += dv)                       \
                    if (causal[head])                                                          \
                        for (int64_t e = j; e < j + dv; e++) {                                 \
                            NAME##_vec prefix = {0};                                           \
                            for (int64_t u = 0; u < live; u++)                                 \
                                prefix[u] = sums[e] = sums[e] + v[e * stride + t + u];         \
                            mean[e] = prefix / (iota + (REAL)t);                               \
                        }                                                                      \
                for (int64_t o = 0; o < w; o++) {                                              \
                    NAME##_vec acc = {0};                                                      \
                    for (int64_t j = 0; j < n; j++) acc = acc + mean[j] * m[j * w + o];        \
                    for (int64_t u = 0; u < live; u++) h[(b * T + t + u) * d + cols[o]] += acc[u]; \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    void NAME##_scatter_add(int64_t d, REAL *h, int64_t w, const int64_t *cols,                \
                            const REAL *delta, int64_t st, int64_t se, int64_t t0, int64_t t1, \
                            REAL *unused) {                                                    \
        (void)unused;                                                                          \
        int64_t run = 0; /* cols[e] = cols[0] + e: a run of columns, added as one */          \
        while (run < w && cols[run] == cols[0] + run) run++;                                   \
        if (run == w && se == 1) {                                                             \
            REAL *restrict ht = h + cols[0];                                                   \
            for (int64_t t = t0; t < t1; t++)                                                  \
                for (int64_t e = 0; e < w; e++) ht[t * d + e] += delta[t * st + e];           \
            return;                                                                            \
        }                                                                                      \
        for (int64_t t = t0; t < t1; t++)                                                      \
            for (int64_t e = 0; e < w; e++) h[t * d + cols[e]] += delta[t * st + e * se];     \
    }

RESIDUAL(residual_f64, double, sqrt)
RESIDUAL(residual_f32, float, sqrtf)

/* An attention sublayer's inputs in one pass (compact.py, a layer whose heads are all scored):
 * the masked pre-norm z of the read cells (as gather_norm computes it: the same operations in
 * the same order) and its projection onto every head's query, key and value, written as
 * hard_attention reads them: q [B, H, T, dk] contiguous, kt [B, H, dk, stride] and vt [B, H,
 * dv, stride] with tokens along the rows and zeros past T. The projection is given feature by
 * feature (CSC of [c, F], F = H dk + H dk + H dv, in the order queries, keys, values): each
 * feature sums its nonzero terms in row order, the dense product's terms less exact zeros, in
 * another order (compact.py's contract). This replaces the pre-norm's [N, c] tensor, a
 * [N, F] product and three layout copies (one of star-free's layers at 16 x 258 tokens, each
 * timed alone: 77, 15 and 59 us, against the attention kernel's 280; the whole pass ran 1.06x
 * faster with this pass, one A/B run). A vector of tokens of one row b runs at a time (the
 * row's last vector repeats its last token in the unused lanes, computed, not written); rows
 * [b0, b1) are computed, so a caller may split them across threads. Returns 1 where a query,
 * key or value it wrote is not finite, else 0 (so that the caller need not sum them again). */
#define ATTENTION_INPUTS(NAME, REAL, SQRT)                                                     \
    typedef REAL NAME##_vec __attribute__((vector_size(VECTOR_BYTES)));                        \
    enum { NAME##_LANES = VECTOR_BYTES / sizeof(REAL) };                                       \
    NORM(NAME, REAL, SQRT)                                                                     \
                                                                                               \
    int64_t NAME##_scratch(int64_t c) { return (c + 1) * NAME##_LANES; /* + 1: to align */ }   \
                                                                                               \
    int64_t NAME(int64_t T, int64_t d, const REAL *h, int64_t c, const int64_t *cols,          \
              const REAL *mask, int64_t H, int64_t dk, int64_t dv, const int64_t *starts,      \
              const int64_t *rows, const REAL *vals, int64_t n_used, const int64_t *used,      \
              REAL *q, REAL *kt, REAL *vt, int64_t stride, int64_t b0, int64_t b1,             \
              REAL *scratch) {                                                                 \
        const int64_t L = NAME##_LANES, queries = H * dk, features = 2 * H * dk + H * dv;      \
        const uintptr_t at = (uintptr_t)scratch, size = sizeof(NAME##_vec);                    \
        NAME##_vec *z = (NAME##_vec *)((at + size - 1) / size * size);                         \
        NAME##_vec wrong = {0}; /* NaN in a lane where a feature written was not finite */     \
        for (int64_t b = b0; b < b1; b++) {                                                    \
            for (int64_t i = 0; i < T; i += L) {                                               \
                const int64_t live = T - i < L ? T - i : L;                                    \
                NAME##_vec squares = {0}, bad = {0}; /* bad: NaN where a cell is not finite */ \
                int64_t row[NAME##_LANES]; /* each lane's token row */                         \
                for (int64_t u = 0; u < L; u++) row[u] = (b * T + i + (u < live ? u : live - 1)) * d; \
                for (int64_t e = 0; e < c; e++) {                                              \
                    NAME##_vec v = NAME##_gather(h + cols[e], row);                            \
                    if (mask) v = mask[e] * v;                                                 \
                    z[e] = v;                                                                  \
                    squares = squares + v * v;                                                 \
                    bad = bad + (v - v);                                                       \
                }                                                                              \
                const NAME##_vec norm = NAME##_norm(squares);                                  \
                /* only the cells the projection reads are divided (a division per cell and  \
                   token is most of this pass's arithmetic) */                                \
                for (int64_t k = 0; k < n_used; k++) z[used[k]] = z[used[k]] / norm;         \
                int poisoned = 0;                                                              \
                for (int64_t u = 0; u < L; u++) poisoned |= bad[u] != 0;                       \
                for (int64_t f = 0; f < features; f++) {                                       \
                    NAME##_vec acc = {0};                                                      \
                    for (int64_t k = starts[f]; k < starts[f + 1]; k++)                        \
                        acc = acc + vals[k] * z[rows[k]];                                      \
                    /* a cell that is not finite makes every feature of its token NaN, as the \
                       dense product's zero terms would (inf * 0): the caller then takes the   \
                       torch path, which defines how it spreads */                            \
                    if (poisoned) acc = acc + bad;                                             \
                    wrong = wrong + (acc - acc);                                               \
                    if (f < queries) { /* head f / dk, dimension f % dk */                     \
                        REAL *o = q + ((b * H + f / dk) * T + i) * dk + f % dk;                \
                        for (int64_t u = 0; u < live; u++) o[u * dk] = acc[u];                 \
                    } else {                                                                   \
                        const int64_t g = f < 2 * queries ? f - queries : f - 2 * queries;     \
                        REAL *o = f < 2 * queries ? kt + ((b * H + g / dk) * dk + g % dk) * stride \
                                                  : vt + ((b * H + g / dv) * dv + g % dv) * stride; \
                        if (live == L)                                                         \
                            memcpy(o + i, &acc, sizeof acc);                                   \
                        else                                                                   \
                            for (int64_t u = 0; u < live; u++) o[i + u] = acc[u];              \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
            for (int64_t r = 0; r < H * dk; r++) /* the keys' padding past T */               \
                for (int64_t j = T; j < stride; j++) kt[(b * H * dk + r) * stride + j] = 0;    \
            for (int64_t r = 0; r < H * dv; r++)                                               \
                for (int64_t j = T; j < stride; j++) vt[(b * H * dv + r) * stride + j] = 0;    \
        }                                                                                      \
        int64_t any = 0;                                                                       \
        for (int64_t u = 0; u < L; u++) any |= wrong[u] != 0;                                  \
        return any;                                                                            \
    }

ATTENTION_INPUTS(attention_inputs_f64, double, sqrt)
ATTENTION_INPUTS(attention_inputs_f32, float, sqrtf)

/* A small dense feed-forward sublayer in one pass (compact.py's dense layers of few units):
 * for each token, x_e = mask[e] h[t, read[e]], z = x / ||x|| (0 where ||x|| = 0, as
 * gather_norm), hidden_u = relu(sum_e z_e W_in[e, u]), and h[t, write[o]] += sum_u hidden_u
 * W_out[u, o], each sum in index order from 0 (the dense products' terms, every one of them, in
 * another order than BLAS's: compact.py's contract; relu keeps NaN as torch does). A vector of
 * tokens runs at a time, a token a lane, so the z, the hidden units and the outputs stay in
 * registers and cache instead of five passes over [tokens, cells] tensors; the tokens after
 * the last whole vector repeat the last token in the unused lanes (computed, not written).
 * Tokens [t0, t1) are computed, so a caller may split them across threads. Scratch:
 * `_scratch(c, units, w)` values. */
#define DENSE_FEED_FORWARD(NAME, REAL, INT, SQRT)                                              \
    typedef REAL NAME##_vec __attribute__((vector_size(VECTOR_BYTES)));                        \
    typedef INT NAME##_mask __attribute__((vector_size(VECTOR_BYTES)));                        \
    enum { NAME##_LANES = VECTOR_BYTES / sizeof(REAL), NAME##_B = 4 };                         \
    NORM(NAME, REAL, SQRT)                                                                     \
                                                                                               \
    /* y[j] = sum_i x[i] w[i * m + j] for j < m, i in order from 0 (relu'd, NaN kept, where   \
     * relu): NAME##_B columns at a time, so that their chains of adds run side by side. */    \
    static inline void NAME##_product(const NAME##_vec *x, int64_t n, const REAL *w,           \
                                      int64_t m, NAME##_vec *y, int relu) {                    \
        int64_t j = 0;                                                                         \
        for (; j + NAME##_B <= m; j += NAME##_B) {                                             \
            NAME##_vec acc[NAME##_B] = {{0}};                                                  \
            for (int64_t i = 0; i < n; i++)                                                    \
                for (int64_t b = 0; b < NAME##_B; b++) acc[b] = acc[b] + x[i] * w[i * m + j + b]; \
            for (int64_t b = 0; b < NAME##_B; b++) y[j + b] = acc[b];                          \
        }                                                                                      \
        for (; j < m; j++) {                                                                   \
            NAME##_vec acc = {0};                                                              \
            for (int64_t i = 0; i < n; i++) acc = acc + x[i] * w[i * m + j];                   \
            y[j] = acc;                                                                        \
        }                                                                                      \
        if (relu)                                                                              \
            for (j = 0; j < m; j++) {                                                          \
                const NAME##_mask keep = (y[j] > 0) | (y[j] != y[j]);                          \
                y[j] = (NAME##_vec)((NAME##_mask)y[j] & keep);                                 \
            }                                                                                  \
    }                                                                                          \
                                                                                               \
    /* The same sums over the nonzero weights only, given column by column (CSC: starts,     \
     * rows ascending, values): the dense order less its exact zero terms, the same value     \
     * where every x is finite (the caller checks: a zero weight times an infinite x is NaN).  \
     * The built-in small layers are 7 to 30 percent nonzero. */                              \
    static inline void NAME##_sparse_product(const NAME##_vec *x, const int64_t *starts,       \
                                             const int64_t *rows, const REAL *vals, int64_t m, \
                                             NAME##_vec *y, int relu) {                        \
        for (int64_t j = 0; j < m; j++) {                                                      \
            NAME##_vec acc = {0};                                                              \
            for (int64_t k = starts[j]; k < starts[j + 1]; k++) acc = acc + x[rows[k]] * vals[k]; \
            y[j] = acc;                                                                        \
        }                                                                                      \
        if (relu)                                                                              \
            for (int64_t j = 0; j < m; j++) {                                                  \
                const NAME##_mask keep = (y[j] > 0) | (y[j] != y[j]);                          \
                y[j] = (NAME##_vec)((NAME##_mask)y[j] & keep);                                 \
            }                                                                                  \
    }                                                                                          \
                                                                                               \
    /* Whether every lane of x[0..n) is finite (x - x is 0, not NaN). */                      \
    static inline int NAME##_finite(const NAME##_vec *x, int64_t n) {                          \
        NAME##_mask bad = {0};                                                                 \
        for (int64_t i = 0; i < n; i++) bad |= (x[i] - x[i]) != 0;                             \
        INT any = 0;                                                                           \
        for (int64_t u = 0; u < NAME##_LANES; u++) any |= bad[u];                              \
        return !any;                                                                           \
    }                                                                                          \
                                                                                               \
    int64_t NAME##_scratch(int64_t c, int64_t units, int64_t w) {                              \
        return (c + units + w + 1) * NAME##_LANES; /* + 1: room to align */                   \
    }                                                                                          \
                                                                                               \
    void NAME(int64_t d, REAL *h, int64_t c, const int64_t *read, const REAL *mask,            \
              int64_t units, const REAL *w_in, int64_t w, const REAL *w_out,                   \
              const int64_t *write, const int64_t *in_starts, const int64_t *in_rows,          \
              const REAL *in_vals, int64_t n_used, const int64_t *used,                        \
              const int64_t *out_starts, const int64_t *out_rows, const REAL *out_vals,        \
              int64_t t0, int64_t t1, REAL *scratch) {                                         \
        const int64_t L = NAME##_LANES;                                                        \
        const uintptr_t at = (uintptr_t)scratch, size = sizeof(NAME##_vec);                    \
        NAME##_vec *z = (NAME##_vec *)((at + size - 1) / size * size), *hidden = z + c;       \
        NAME##_vec *y = hidden + units;                                                        \
        for (int64_t t = t0; t < t1; t += L) {                                                 \
            const int64_t live = t1 - t < L ? t1 - t : L;                                      \
            NAME##_vec squares = {0};                                                          \
            int64_t row[NAME##_LANES]; /* each lane's token row */                             \
            for (int64_t u = 0; u < L; u++) row[u] = (t + (u < live ? u : live - 1)) * d;      \
            for (int64_t e = 0; e < c; e++) {                                                  \
                NAME##_vec v = NAME##_gather(h + read[e], row);                                \
                if (mask) v = mask[e] * v;                                                     \
                z[e] = v;                                                                      \
                squares = squares + v * v;                                                     \
            }                                                                                  \
            const NAME##_vec norm = NAME##_norm(squares);                                      \
            /* the nonzero weights only (in_starts given) where no zero term could be NaN:    \
               every cell finite (then so is every x / norm), and only the cells they read    \
               divided (a division per cell and token is most of this pass's arithmetic) */   \
            const int sparse = in_starts && NAME##_finite(z, c);                               \
            if (sparse)                                                                        \
                for (int64_t k = 0; k < n_used; k++) z[used[k]] = z[used[k]] / norm;         \
            else                                                                               \
                for (int64_t e = 0; e < c; e++) z[e] = z[e] / norm;                            \
            if (sparse)                                                                        \
                NAME##_sparse_product(z, in_starts, in_rows, in_vals, units, hidden, 1);       \
            else                                                                               \
                NAME##_product(z, c, w_in, units, hidden, 1);                                  \
            if (sparse && NAME##_finite(hidden, units))                                        \
                NAME##_sparse_product(hidden, out_starts, out_rows, out_vals, w, y, 0);        \
            else                                                                               \
                NAME##_product(hidden, units, w_out, w, y, 0);                                 \
            for (int64_t o = 0; o < w; o++)                                                    \
                for (int64_t u = 0; u < live; u++) h[(t + u) * d + write[o]] += y[o][u];       \
        }                                                                                      \
    }

DENSE_FEED_FORWARD(dense_feed_forward_f64, double, int64_t, sqrt)
DENSE_FEED_FORWARD(dense_feed_forward_f32, float, int32_t, sqrtf)
