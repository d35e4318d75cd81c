/* safetensors dtypes and bytes: the format's dtype table, explicit byte
 * order (put_le / get_le, so files are the same on any host), one element
 * decoded to a double, and where a strided tensor's k-th element lies. */
#include "safetensors_impl.h"

#include <math.h>
#include <string.h>

const tg__st_dtype tg__st_dtypes[DT_COUNT] = {
    [DT_F64] = {"F64", 8},   [DT_F32] = {"F32", 4},         [DT_F16] = {"F16", 2},
    [DT_BF16] = {"BF16", 2}, [DT_I64] = {"I64", 8},         [DT_I32] = {"I32", 4},
    [DT_I16] = {"I16", 2},   [DT_I8] = {"I8", 1},           [DT_U64] = {"U64", 8},
    [DT_U32] = {"U32", 4},   [DT_U16] = {"U16", 2},         [DT_U8] = {"U8", 1},
    [DT_BOOL] = {"BOOL", 1}, [DT_F8_E4M3] = {"F8_E4M3", 1}, [DT_F8_E5M2] = {"F8_E5M2", 1},
};

int tg__st_dtype_find(const char *s) {
    for (int i = 0; i < DT_COUNT; i++)
        if (strcmp(tg__st_dtypes[i].name, s) == 0) return i;
    return -1;
}

/* ---- bytes -------------------------------------------------------------- */
uint64_t tg__st_get_le(const unsigned char *p, int size) {
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

void tg__st_put_le(unsigned char *p, uint64_t v, int size) {
    for (int i = 0; i < size; i++, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

/* Two's-complement reinterpretation of the low `size` bytes of u. */
int64_t tg__st_sign_extend(uint64_t u, int size) {
    if (size < 8 && (u >> (8 * size - 1) & 1)) u |= ~(uint64_t)0 << (8 * size);
    int64_t s;
    memcpy(&s, &u, sizeof s);
    return s;
}

static double half_to_double(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double s = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 0) return s * ldexp(m, -24); /* zero and subnormals */
    if (e == 31) return m ? NAN : s * INFINITY;
    return s * ldexp(m + 1024, e - 25);
}

static float bits_to_float(uint32_t w) {
    float x;
    memcpy(&x, &w, sizeof x);
    return x;
}

/* One element of dtype dt at p, as a double. F8 never gets here. */
double tg__st_decode(int dt, const unsigned char *p) {
    uint64_t u = tg__st_get_le(p, tg__st_dtypes[dt].size);
    switch (dt) {
    case DT_F64: {
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    case DT_F32: return bits_to_float((uint32_t)u);
    case DT_F16: return half_to_double((uint16_t)u);
    case DT_BF16: return bits_to_float((uint32_t)u << 16);
    case DT_I64:
    case DT_I32:
    case DT_I16:
    case DT_I8: return (double)tg__st_sign_extend(u, tg__st_dtypes[dt].size);
    case DT_BOOL: return u != 0;
    default: return (double)u; /* unsigned */
    }
}

/* Whether this host stores numbers little-endian, as the format does. */
static bool host_little_endian(void) {
    const uint16_t one = 1;
    unsigned char low;
    memcpy(&low, &one, 1);
    return low == 1;
}

/* A checkpoint is almost all F32 (or F64): read those in one loop the
 * compiler turns into a copy, not byte by byte (a sampler's start-up spent
 * half its time there). */
void tg__st_decode_n(int dt, const unsigned char *p, int64_t n, tg_real *out) {
    if (dt == DT_F32 && host_little_endian()) {
        for (int64_t k = 0; k < n; k++) {
            float x;
            memcpy(&x, p + 4 * k, sizeof x);
            out[k] = (tg_real)x;
        }
    } else if (dt == DT_F64 && host_little_endian()) {
        for (int64_t k = 0; k < n; k++) {
            double x;
            memcpy(&x, p + 8 * k, sizeof x);
            out[k] = (tg_real)x;
        }
    } else {
        int sz = tg__st_dtypes[dt].size;
        for (int64_t k = 0; k < n; k++) out[k] = (tg_real)tg__st_decode(dt, p + k * sz);
    }
}

/* ---- where a tensor's elements lie ---------------------------------------- */
/* Storage offset of the element at row-major position `linear`. */
int64_t tg__st_offset_of(const tg_tensor *t, int64_t linear) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (linear % t->shape[d]) * t->stride[d];
        linear /= t->shape[d];
    }
    return off;
}
