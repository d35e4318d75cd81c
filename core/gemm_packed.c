/* See gemm_packed.h. BLIS's blocked GEMM, reduced to what a product with
 * a small left operand needs: no MC/NC blocking (the operands fit in
 * cache), KC blocking exactly as BLIS does it (the order of the sums),
 * the micro-kernel of BLIS's context, and the problem transposed when the
 * kernel prefers C's other storage, as BLIS transposes it. */
#include "gemm_packed.h"

#include <blis.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#ifdef TG_DOUBLE
#define TG_DT BLIS_DOUBLE
typedef dgemm_ukr_ft ukr_fn;
#else
#define TG_DT BLIS_FLOAT
typedef sgemm_ukr_ft ukr_fn;
#endif

/* Below this many multiply-adds a product runs on one thread (tg_gemm's
 * rule, so a packed product threads where BLIS's would). */
#define PACKED_THREAD_MIN ((int64_t)1 << 22)

/* The active kernel set's micro-kernel and block sizes. */
typedef struct blk {
    cntx_t *cntx;
    ukr_fn ukr;
    int64_t mr, nr, kc, kc_max;
    bool prefers_cols;
} blk;

static blk blocks(void) {
    tg__blis_setup(); /* the kernel set is chosen before the first query */
    cntx_t *cx = bli_gks_query_cntx();
    return (blk){cx,
                 (ukr_fn)bli_cntx_get_l3_nat_ukr_dt(TG_DT, BLIS_GEMM_UKR, cx),
                 bli_cntx_get_blksz_def_dt(TG_DT, BLIS_MR, cx),
                 bli_cntx_get_blksz_def_dt(TG_DT, BLIS_NR, cx),
                 bli_cntx_get_blksz_def_dt(TG_DT, BLIS_KC, cx),
                 bli_cntx_get_blksz_max_dt(TG_DT, BLIS_KC, cx),
                 bli_cntx_l3_nat_ukr_prefers_cols_dt(TG_DT, BLIS_GEMM_UKR, cx)};
}

/* The length of the KC block starting with `left` values to go: BLIS
 * takes the whole rest when it is at most the maximum, KC otherwise. */
static int64_t kc_len(int64_t left, const blk *b) {
    return left <= b->kc_max ? left : b->kc;
}

static int64_t panels(int64_t rows, int64_t height) {
    return (rows + height - 1) / height;
}

/* The `kb` values from column p0 of rows r0.. (rn of them) of X into a
 * panel of height P (P values per column, rows past rn zero). */
static void pack_panel(tg_real *restrict d, const tg_real *restrict x, int64_t rn, int64_t kb,
                       int64_t rs, int64_t cs, int64_t P) {
    if (rs == 1) /* a column's values are adjacent: copy them in runs */
        for (int64_t p = 0; p < kb; p++) {
            memcpy(d + p * P, x + p * cs, (size_t)rn * sizeof *d);
            for (int64_t r = rn; r < P; r++) d[p * P + r] = 0;
        }
    else /* a row's values are adjacent: P rows read side by side, each
          * panel column written whole */
        for (int64_t p = 0; p < kb; p++) {
            tg_real *dp = d + p * P;
            const tg_real *xp = x + p * cs;
            for (int64_t r = 0; r < rn; r++) dp[r] = xp[r * rs];
            for (int64_t r = rn; r < P; r++) dp[r] = 0;
        }
}

/* X (rows x k, strides rs, cs) into panels of P rows, KC block by block:
 * block [p0, p0 + kb) of panel i starts at dst + p0 * P * np + i * P * kb. */
static void pack(tg_real *dst, const tg_real *x, int64_t rows, int64_t k, int64_t rs, int64_t cs,
                 int64_t P, const blk *b) {
    int64_t np = panels(rows, P);
    for (int64_t p0 = 0, kb; p0 < k; p0 += kb) {
        kb = kc_len(k - p0, b);
        for (int64_t i = 0; i < np; i++) {
            int64_t rn = rows - i * P < P ? rows - i * P : P;
            pack_panel(dst + p0 * P * np + i * P * kb, x + i * P * rs + p0 * cs, rn, kb, rs, cs,
                       P);
        }
    }
}

/* *buf holds at least n elements, 64-byte aligned (contents dropped). */
static bool reserve(tg_real **buf, size_t *cap, size_t n) {
    if (*cap >= n) return true;
    free(*buf);
    size_t bytes = (n * sizeof(tg_real) + 63) / 64 * 64;
    *buf = aligned_alloc(64, bytes);
    *cap = *buf ? n : 0;
    return *buf != NULL;
}

bool tg_pack_b(tg_packed *p, int64_t k, int64_t n, const tg_real *b, int64_t rsb, int64_t csb) {
    blk bl = blocks();
    /* C is row-major: a kernel that prefers columns runs C^T = B^T A^T,
     * where B^T is the kernel's A (MR panels) */
    p->trans = bl.prefers_cols;
    p->pw = p->trans ? bl.mr : bl.nr;
    p->px = p->trans ? bl.nr : bl.mr;
    p->k = 0;
    if (k <= 0 || n <= 0 || !reserve(&p->w, &p->w_cap, (size_t)(panels(n, p->pw) * p->pw * k)))
        return false;
    pack(p->w, b, n, k, csb, rsb, p->pw, &bl); /* the rows of B^T */
    *p = (tg_packed){p->w, p->x, p->w_cap, p->x_cap, k, n, b, rsb, csb, p->trans, p->pw, p->px};
    return true;
}

bool tg_packed_holds(const tg_packed *p, const tg_real *b, int64_t k, int64_t n, int64_t rsb,
                     int64_t csb) {
    return p->k > 0 && p->src == b && p->k == k && p->n == n && p->rsb == rsb && p->csb == csb;
}

/* One call's tiles over B's panels [lo, hi). */
typedef struct packed_job {
    const tg_packed *p;
    const blk *b;
    int64_t m;
    tg_real beta, *c;
    int64_t ldc;
} packed_job;

/* The micro-kernel on one tile: kernel A panel a (height mr_ rows of C'),
 * B panel b; C' is C or, transposed, C^T. */
static void packed_part(void *ctx, int64_t lo, int64_t hi) {
    const packed_job *j = ctx;
    const tg_packed *p = j->p;
    int64_t k = p->k, nw = panels(p->n, p->pw), nx = panels(j->m, p->px);
    inc_t rs = p->trans ? 1 : j->ldc, cs = p->trans ? j->ldc : 1; /* C' */
    auxinfo_t aux;
    memset(&aux, 0, sizeof aux);
    tg_real one = 1;
    for (int64_t p0 = 0, kb; p0 < k; p0 += kb) {
        kb = kc_len(k - p0, j->b);
        tg_real beta = p0 == 0 ? j->beta : 1; /* later blocks add to the first's */
        for (int64_t i = lo; i < hi; i++) {
            tg_real *wpan = p->w + p0 * p->pw * nw + i * p->pw * kb;
            int64_t wn = p->n - i * p->pw < p->pw ? p->n - i * p->pw : p->pw;
            for (int64_t jx = 0; jx < nx; jx++) {
                tg_real *xpan = p->x + p0 * p->px * nx + jx * p->px * kb;
                int64_t xn = j->m - jx * p->px < p->px ? j->m - jx * p->px : p->px;
                /* C' rows come from the kernel's A panel, columns from its B */
                tg_real *a = p->trans ? wpan : xpan, *bp = p->trans ? xpan : wpan;
                int64_t mr_ = p->trans ? wn : xn, nr_ = p->trans ? xn : wn;
                int64_t r0 = p->trans ? i * p->pw : jx * p->px;
                int64_t c0 = p->trans ? jx * p->px : i * p->pw;
                bli_auxinfo_set_next_ab(a, bp, &aux);
                j->b->ukr((dim_t)mr_, (dim_t)nr_, (dim_t)kb, &one, a, bp, &beta,
                          j->c + (p->trans ? c0 * j->ldc + r0 : r0 * j->ldc + c0), rs, cs, &aux,
                          j->b->cntx);
            }
        }
    }
}

bool tg_gemm_packed(tg_packed *p, int64_t m, const tg_real *a, int64_t rsa, int64_t csa,
                    tg_real beta, tg_real *c, int64_t ldc) {
    if (p->k <= 0) return false;
    blk bl = blocks();
    int64_t k = p->k, n = p->n;
    if (!reserve(&p->x, &p->x_cap, (size_t)(panels(m, p->px) * p->px * k))) return false;
    tg__gemm_packed_note(m, n, k, a, rsa, csa, p->src, p->rsb, p->csb, beta, c, ldc);
    if (m == 0) return true;
    pack(p->x, a, m, k, rsa, csa, p->px, &bl);
    packed_job j = {p, &bl, m, beta, c, ldc};
    int64_t nw = panels(n, p->pw);
    tg__parallel_for(nw, m * n * k < PACKED_THREAD_MIN ? nw : 1, packed_part, &j);
    return true;
}

bool tg_gemm_packed_exact(void) {
    blk b = blocks();
    return bli_cntx_get_l3_sup_thresh_dt(TG_DT, BLIS_MT, b.cntx) == 0 &&
           bli_cntx_get_l3_sup_thresh_dt(TG_DT, BLIS_NT, b.cntx) == 0 &&
           bli_cntx_get_l3_sup_thresh_dt(TG_DT, BLIS_KT, b.cntx) == 0;
}

void tg_packed_free(tg_packed *p) {
    free(p->w);
    free(p->x);
    *p = (tg_packed){0};
}

__attribute__((weak)) void tg__gemm_packed_note(int64_t m, int64_t n, int64_t k, const tg_real *a,
                                                int64_t rsa, int64_t csa, const tg_real *b,
                                                int64_t rsb, int64_t csb, tg_real beta,
                                                tg_real *c, int64_t ldc) {
    (void)m, (void)n, (void)k, (void)a, (void)rsa, (void)csa, (void)b, (void)rsb, (void)csb;
    (void)beta, (void)c, (void)ldc;
}
