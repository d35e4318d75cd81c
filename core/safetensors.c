/* safetensors reader and writer. Byte order is explicit (put_le / get_le), so
 * the files are the same on any host; the JSON header goes through cJSON. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* The reference implementation refuses larger headers too; it also bounds
 * what a hostile file can make us allocate before anything is checked. */
#define MAX_HEADER ((uint64_t)100 << 20)
/* Largest integer a JSON number (a double in cJSON) holds exactly. */
#define MAX_JSON_INT 9007199254740992.0

/* ---- dtypes ----------------------------------------------------------- */
enum {
    DT_F64,
    DT_F32,
    DT_F16,
    DT_BF16,
    DT_I64,
    DT_I32,
    DT_I16,
    DT_I8,
    DT_U64,
    DT_U32,
    DT_U16,
    DT_U8,
    DT_BOOL,
    DT_F8_E4M3,
    DT_F8_E5M2,
    DT_COUNT
};
static const struct {
    const char *name;
    int size;
} dtypes[DT_COUNT] = {
    [DT_F64] = {"F64", 8},   [DT_F32] = {"F32", 4},         [DT_F16] = {"F16", 2},
    [DT_BF16] = {"BF16", 2}, [DT_I64] = {"I64", 8},         [DT_I32] = {"I32", 4},
    [DT_I16] = {"I16", 2},   [DT_I8] = {"I8", 1},           [DT_U64] = {"U64", 8},
    [DT_U32] = {"U32", 4},   [DT_U16] = {"U16", 2},         [DT_U8] = {"U8", 1},
    [DT_BOOL] = {"BOOL", 1}, [DT_F8_E4M3] = {"F8_E4M3", 1}, [DT_F8_E5M2] = {"F8_E5M2", 1},
};

static int dtype_find(const char *s) {
    for (int i = 0; i < DT_COUNT; i++)
        if (strcmp(dtypes[i].name, s) == 0) return i;
    return -1;
}

/* ---- bytes -------------------------------------------------------------- */
static uint64_t get_le(const unsigned char *p, int size) {
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int size) {
    for (int i = 0; i < size; i++, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

/* Two's-complement reinterpretation of the low `size` bytes of u. */
static int64_t sign_extend(uint64_t u, int size) {
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
static double decode(int dt, const unsigned char *p) {
    uint64_t u = get_le(p, dtypes[dt].size);
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
    case DT_I8: return (double)sign_extend(u, dtypes[dt].size);
    case DT_BOOL: return u != 0;
    default: return (double)u; /* unsigned */
    }
}

/* ---- errors and tensors --------------------------------------------------- */
/* Storage offset of the element at row-major position `linear`. */
static int64_t offset_of(const tg_tensor *t, int64_t linear) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (linear % t->shape[d]) * t->stride[d];
        linear /= t->shape[d];
    }
    return off;
}

static bool is_contiguous(const tg_tensor *t) {
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != expect) return false;
        expect *= t->shape[d];
    }
    return true;
}

/* ---- an open file ------------------------------------------------------- */
typedef struct entry {
    char *name;
    int dtype;
    tg_shape shape;
    int64_t numel;
    uint64_t begin, end; /* within the data section */
    tg_tensor *t;        /* values as tg_real (tg_safetensors_open only) */
    int64_t *i64;        /* exact values of an I64 tensor (open only) */
} entry;

struct tg_st_file {
    int n;
    entry *e;
    int n_meta;
    char **meta; /* key0, value0, key1, ... */
};

static void file_free(tg_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->e[i].name);
        tg_tensor_free(f->e[i].t);
        free(f->e[i].i64);
    }
    for (int i = 0; i < 2 * f->n_meta; i++) free(f->meta[i]);
    free(f->e);
    free(f->meta);
    free(f);
}

static const entry *find(const tg_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) return &f->e[i];
    return NULL;
}

/* JSON text of j for a message, cut to fit buf. */
static const char *json_text(const cJSON *j, char *buf, size_t n) {
    char *s = cJSON_PrintUnformatted(j);
    snprintf(buf, n, "%s", s ? s : "?");
    free(s);
    return buf;
}

/* A JSON number that is an integer in [0, 2^53], so a double holds it exactly. */
static bool json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= MAX_JSON_INT) || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

/* Checks one header entry `j` (named e->name) and fills in e. */
static int parse_entry(const char *path, const cJSON *j, entry *e, uint64_t data_size, char *err,
                       size_t errlen) {
    char buf[64], sh[TG_SHAPE_STR_MAX];
    const char *name = e->name;
    if (!cJSON_IsObject(j)) {
        tg_error_set(err, errlen, "%s: %s: expected an object with dtype, shape and data_offsets",
                     path, name);
        return -1;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dt)) {
        tg_error_set(err, errlen, "%s: %s: dtype must be a string", path, name);
        return -1;
    }
    if ((e->dtype = dtype_find(dt->valuestring)) < 0) {
        tg_error_set(err, errlen, "%s: %s: unknown dtype '%s'", path, name, dt->valuestring);
        return -1;
    }
    if (!cJSON_IsArray(shape)) {
        tg_error_set(err, errlen, "%s: %s: shape must be a list of sizes", path, name);
        return -1;
    }
    int nd = cJSON_GetArraySize(shape);
    if (nd > TG_MAX_DIMS) {
        tg_error_set(err, errlen, "%s: %s: shape has %d dims, at most %d are supported", path, name,
                     nd, TG_MAX_DIMS);
        return -1;
    }
    e->shape.ndim = nd;
    int d = 0;
    for (const cJSON *x = shape->child; x; x = x->next, d++) {
        uint64_t v;
        if (!json_uint(x, &v)) {
            tg_error_set(err, errlen, "%s: %s: shape[%d] is %s, expected a non-negative integer",
                         path, name, d, json_text(x, buf, sizeof buf));
            return -1;
        }
        e->shape.dim[d] = (int64_t)v;
    }
    /* tg_shape_valid also bounds numel * 16, so numel * dtype size cannot overflow */
    if (!tg_shape_valid(e->shape)) {
        tg_error_set(err, errlen, "%s: %s: shape %s has too many elements", path, name,
                     tg_shape_str(e->shape, sh, sizeof sh));
        return -1;
    }
    e->numel = tg_shape_numel(e->shape);
    uint64_t need = (uint64_t)e->numel * (uint64_t)dtypes[e->dtype].size;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(offs->child, &e->begin) || !json_uint(offs->child->next, &e->end) ||
        e->end < e->begin) {
        tg_error_set(err, errlen,
                     "%s: %s: data_offsets must be [begin, end] with 0 <= begin <= end, got %s",
                     path, name, offs ? json_text(offs, buf, sizeof buf) : "nothing");
        return -1;
    }
    if (e->end > data_size) {
        tg_error_set(err, errlen,
                     "%s: %s: data_offsets [%llu,%llu] go past the end of the data (%llu bytes)",
                     path, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                     (unsigned long long)data_size);
        return -1;
    }
    if (e->end - e->begin != need) {
        tg_error_set(err, errlen,
                     "%s: %s: data_offsets [%llu,%llu] hold %llu bytes, %s %s needs %llu", path,
                     name, (unsigned long long)e->begin, (unsigned long long)e->end,
                     (unsigned long long)(e->end - e->begin), dtypes[e->dtype].name,
                     tg_shape_str(e->shape, sh, sizeof sh), (unsigned long long)need);
        return -1;
    }
    return 0;
}

static int parse_meta(const char *path, const cJSON *j, tg_st_file *f, char *err, size_t errlen) {
    if (f->meta) {
        tg_error_set(err, errlen, "%s: __metadata__ appears twice", path);
        return -1;
    }
    if (!cJSON_IsObject(j)) {
        tg_error_set(err, errlen, "%s: __metadata__ must be an object of strings", path);
        return -1;
    }
    int n = cJSON_GetArraySize(j);
    f->meta = calloc((size_t)(2 * n + 1), sizeof *f->meta);
    if (!f->meta) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (const cJSON *x = j->child; x; x = x->next) {
        if (!cJSON_IsString(x)) {
            tg_error_set(err, errlen, "%s: __metadata__: value of '%s' is not a string", path,
                         x->string);
            return -1;
        }
        char **kv = &f->meta[2 * f->n_meta];
        kv[0] = strdup(x->string);
        kv[1] = strdup(x->valuestring);
        f->n_meta++; /* counted before the check so both strings get freed */
        if (!kv[0] || !kv[1]) {
            tg_error_set(err, errlen, "%s: out of memory", path);
            return -1;
        }
    }
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const entry *const *)a)->name, (*(const entry *const *)b)->name);
}

static int cmp_offsets(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Names unique, and the tensors tile the data section exactly: sorted by
 * offset each begins where the previous one ended and the last one ends at
 * the end of the data, as the reference implementation demands. */
static int check_layout(const char *path, tg_st_file *f, uint64_t data_size, char *err,
                        size_t errlen) {
    entry **v = malloc((size_t)(f->n ? f->n : 1) * sizeof *v);
    if (!v) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (int i = 0; i < f->n; i++) v[i] = &f->e[i];
    int rc = -1;
    qsort(v, (size_t)f->n, sizeof *v, cmp_name);
    for (int i = 1; i < f->n; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
            tg_error_set(err, errlen, "%s: %s: duplicate tensor name", path, v[i]->name);
            goto done;
        }
    qsort(v, (size_t)f->n, sizeof *v, cmp_offsets);
    uint64_t at = 0;
    for (int i = 0; i < f->n; i++) {
        const entry *e = v[i];
        if (e->begin != at) {
            if (i == 0)
                tg_error_set(err, errlen,
                             "%s: %s: data_offsets [%llu,%llu] leave a gap at the start "
                             "of the data",
                             path, e->name, (unsigned long long)e->begin,
                             (unsigned long long)e->end);
            else
                tg_error_set(err, errlen, "%s: %s: data_offsets [%llu,%llu] %s '%s' [%llu,%llu]",
                             path, e->name, (unsigned long long)e->begin,
                             (unsigned long long)e->end,
                             e->begin < at ? "overlap" : "leave a gap after", v[i - 1]->name,
                             (unsigned long long)v[i - 1]->begin, (unsigned long long)at);
            goto done;
        }
        at = e->end;
    }
    if (at != data_size) {
        tg_error_set(err, errlen, "%s: the data section has %llu bytes but the tensors cover %llu",
                     path, (unsigned long long)data_size, (unsigned long long)at);
        goto done;
    }
    rc = 0;
done:
    free(v);
    return rc;
}

static int read_at(FILE *fp, uint64_t pos, void *buf, size_t n) {
    if (n == 0) return 0;
    if (pos > (uint64_t)INT64_MAX || fseeko(fp, (off_t)pos, SEEK_SET) != 0) return -1;
    return fread(buf, 1, n, fp) == n ? 0 : -1;
}

/* Opens path and checks its whole header. On success *fp is positioned
 * nowhere in particular and *data_start is the file offset of the data. */
static tg_st_file *read_header(const char *path, FILE **fp_out, uint64_t *data_start, char *err,
                               size_t errlen) {
    if (!path) {
        tg_error_set(err, errlen, "tg_safetensors: path is NULL");
        return NULL;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        tg_error_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    tg_st_file *f = NULL;
    char *text = NULL;
    cJSON *root = NULL;
    unsigned char len8[8];
    off_t size;
    errno = 0;
    if (fseeko(fp, 0, SEEK_END) != 0 || (size = ftello(fp)) < 0) goto io_error;
    if (size < 8) {
        tg_error_set(err, errlen, "%s: file is %lld bytes, too short for the 8-byte header length",
                     path, (long long)size);
        goto fail;
    }
    if (read_at(fp, 0, len8, 8) != 0) goto io_error;
    uint64_t hlen = get_le(len8, 8), rest = (uint64_t)size - 8;
    if (hlen > rest) {
        tg_error_set(err, errlen,
                     "%s: header length %llu is beyond the end of the file (%lld bytes)", path,
                     (unsigned long long)hlen, (long long)size);
        goto fail;
    }
    if (hlen > MAX_HEADER) {
        tg_error_set(err, errlen, "%s: header length %llu is over the 100 MB limit", path,
                     (unsigned long long)hlen);
        goto fail;
    }
    text = malloc((size_t)hlen + 1);
    if (!text) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (read_at(fp, 8, text, (size_t)hlen) != 0) goto io_error;
    text[hlen] = '\0';
    /* cJSON would take a NUL or other control byte for white space; JSON does not */
    for (uint64_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            tg_error_set(err, errlen, "%s: header has a control byte 0x%02x at byte %llu", path, c,
                         (unsigned long long)i);
            goto fail;
        }
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        tg_error_set(err, errlen, "%s: header is not valid JSON (error at byte %lld of %llu)", path,
                     (long long)(end ? end - text : 0), (unsigned long long)hlen);
        goto fail;
    }
    /* the reference pads the header with spaces; anything else after the JSON is junk */
    for (const char *p = end; p < text + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            tg_error_set(err, errlen, "%s: header has junk after the JSON at byte %lld", path,
                         (long long)(p - text));
            goto fail;
        }
    if (!cJSON_IsObject(root)) {
        tg_error_set(err, errlen, "%s: header is not a JSON object", path);
        goto fail;
    }
    f = calloc(1, sizeof *f);
    int n = cJSON_GetArraySize(root);
    if (!f || !(f->e = calloc((size_t)(n ? n : 1), sizeof *f->e))) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    uint64_t data_size = rest - hlen;
    for (const cJSON *x = root->child; x; x = x->next) {
        if (strcmp(x->string, "__metadata__") == 0) {
            if (parse_meta(path, x, f, err, errlen) != 0) goto fail;
            continue;
        }
        entry *e = &f->e[f->n];
        if (!(e->name = strdup(x->string))) {
            tg_error_set(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        f->n++;
        if (parse_entry(path, x, e, data_size, err, errlen) != 0) goto fail;
    }
    if (check_layout(path, f, data_size, err, errlen) != 0) goto fail;
    cJSON_Delete(root);
    free(text);
    *fp_out = fp;
    *data_start = 8 + hlen;
    return f;
io_error:
    tg_error_set(err, errlen, "%s: cannot read: %s", path,
                 errno ? strerror(errno) : "unexpected end of file");
fail:
    cJSON_Delete(root);
    free(text);
    file_free(f);
    fclose(fp);
    return NULL;
}

/* Reads e's bytes into raw (end - begin bytes). */
static int read_entry(FILE *fp, uint64_t data_start, const entry *e, unsigned char *raw,
                      const char *path, char *err, size_t errlen) {
    errno = 0;
    if (read_at(fp, data_start + e->begin, raw, (size_t)(e->end - e->begin)) == 0) return 0;
    tg_error_set(err, errlen, "%s: %s: cannot read: %s", path, e->name,
                 errno ? strerror(errno) : "unexpected end of file");
    return -1;
}

tg_st_file *tg_safetensors_open(const char *path, char *err, size_t errlen) {
    FILE *fp;
    uint64_t data_start;
    tg_st_file *f = read_header(path, &fp, &data_start, err, errlen);
    if (!f) return NULL;
    unsigned char *raw = NULL;
    for (int i = 0; i < f->n; i++) {
        entry *e = &f->e[i];
        if (e->dtype == DT_F8_E4M3 || e->dtype == DT_F8_E5M2) continue;
        size_t bytes = (size_t)(e->end - e->begin);
        unsigned char *r = realloc(raw, bytes ? bytes : 1);
        e->t = tg_tensor_new(e->shape);
        if (e->dtype == DT_I64) e->i64 = malloc((size_t)(e->numel ? e->numel : 1) * 8);
        if (r) raw = r;
        if (!r || !e->t || (e->dtype == DT_I64 && !e->i64)) {
            tg_error_set(err, errlen, "%s: %s: out of memory", path, e->name);
            goto fail;
        }
        if (read_entry(fp, data_start, e, raw, path, err, errlen) != 0) goto fail;
        int sz = dtypes[e->dtype].size;
        for (int64_t k = 0; k < e->numel; k++) {
            e->t->data[k] = (tg_real)decode(e->dtype, raw + k * sz);
            if (e->i64) e->i64[k] = sign_extend(get_le(raw + k * sz, 8), 8);
        }
    }
    free(raw);
    fclose(fp);
    return f;
fail:
    free(raw);
    fclose(fp);
    file_free(f);
    return NULL;
}

int tg_safetensors_count(const tg_st_file *f) {
    return f ? f->n : 0;
}

const char *tg_safetensors_name(const tg_st_file *f, int i) {
    return f && i >= 0 && i < f->n ? f->e[i].name : NULL;
}

const char *tg_safetensors_dtype(const tg_st_file *f, const char *name) {
    const entry *e = find(f, name);
    return e ? dtypes[e->dtype].name : NULL;
}

const tg_tensor *tg_safetensors_get(const tg_st_file *f, const char *name) {
    const entry *e = find(f, name);
    return e ? e->t : NULL;
}

const int64_t *tg_safetensors_get_i64(const tg_st_file *f, const char *name, int64_t *count) {
    const entry *e = find(f, name);
    if (!e || !e->i64) return NULL;
    if (count) *count = e->numel;
    return e->i64;
}

const char *tg_safetensors_meta(const tg_st_file *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
    return NULL;
}

void tg_safetensors_close(tg_st_file *f) {
    file_free(f);
}

/* ---- loading into existing tensors ---------------------------------------- */
int tg_safetensors_load_into(const char *path, int n, const tg_named *items, char *err,
                             size_t errlen) {
    if (n < 0 || (n > 0 && !items)) {
        tg_error_set(err, errlen, "tg_safetensors_load_into: %d items at %p", n,
                     (const void *)items);
        return -1;
    }
    FILE *fp;
    uint64_t data_start;
    tg_st_file *f = read_header(path, &fp, &data_start, err, errlen);
    if (!f) return -1;
    const entry **found = calloc((size_t)(n ? n : 1), sizeof *found);
    unsigned char **raw = calloc((size_t)(n ? n : 1), sizeof *raw);
    int rc = -1;
    if (!found || !raw) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        goto done;
    }
    /* check everything first ... */
    for (int i = 0; i < n; i++) {
        const char *name = items[i].name;
        const tg_tensor *t = items[i].tensor;
        if (!name || !t) {
            tg_error_set(err, errlen, "%s: item %d has no %s", path, i, name ? "tensor" : "name");
            goto done;
        }
        const entry *e = found[i] = find(f, name);
        if (!e) {
            tg_error_set(err, errlen, "%s: no tensor named '%s'", path, name);
            goto done;
        }
        if (e->dtype != DT_F32 && e->dtype != DT_F64) {
            tg_error_set(err, errlen, "%s: %s: dtype %s cannot load into a float tensor", path,
                         name, dtypes[e->dtype].name);
            goto done;
        }
        tg_shape want = tg_tensor_shape(t);
        bool same = want.ndim == e->shape.ndim;
        for (int d = 0; same && d < want.ndim; d++) same = want.dim[d] == e->shape.dim[d];
        if (!same) {
            char a[TG_SHAPE_STR_MAX], b[TG_SHAPE_STR_MAX];
            tg_error_set(err, errlen, "%s: %s: expected %s, file has %s", path, name,
                         tg_shape_str(want, a, sizeof a), tg_shape_str(e->shape, b, sizeof b));
            goto done;
        }
    }
    /* ... then read every tensor's bytes, so an I/O error leaves all untouched ... */
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)(found[i]->end - found[i]->begin);
        if (!(raw[i] = malloc(bytes ? bytes : 1))) {
            tg_error_set(err, errlen, "%s: %s: out of memory", path, found[i]->name);
            goto done;
        }
        if (read_entry(fp, data_start, found[i], raw[i], path, err, errlen) != 0) goto done;
    }
    /* ... and only then write */
    for (int i = 0; i < n; i++) {
        tg_tensor *t = items[i].tensor;
        int dt = found[i]->dtype, sz = dtypes[dt].size;
        bool contig = is_contiguous(t);
        for (int64_t k = 0; k < found[i]->numel; k++)
            t->data[contig ? k : offset_of(t, k)] = (tg_real)decode(dt, raw[i] + k * sz);
    }
    rc = 0;
done:
    for (int i = 0; raw && i < n; i++) free(raw[i]);
    free(raw);
    free(found);
    fclose(fp);
    file_free(f);
    return rc;
}

/* ---- saving --------------------------------------------------------------- */
static cJSON *raw_int(uint64_t v) {
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return cJSON_CreateRaw(s); /* exact, where a cJSON number would be a double */
}

/* The header JSON, or NULL (out of memory). */
static char *header_json(int dt, int n, const tg_named *items, int n_meta,
                         const char *const *meta_kv) {
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int i = 0; ok && i < n_meta; i++)
            ok = cJSON_AddStringToObject(m, meta_kv[2 * i], meta_kv[2 * i + 1]) != NULL;
    }
    uint64_t at = 0;
    for (int i = 0; ok && i < n; i++) {
        const tg_tensor *t = items[i].tensor;
        cJSON *e = cJSON_AddObjectToObject(root, items[i].name), *sh, *offs;
        ok = e && cJSON_AddStringToObject(e, "dtype", dtypes[dt].name) &&
             (sh = cJSON_AddArrayToObject(e, "shape")) &&
             (offs = cJSON_AddArrayToObject(e, "data_offsets"));
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(sh, raw_int((uint64_t)t->shape[d]));
        uint64_t bytes = (uint64_t)tg_shape_numel(tg_tensor_shape(t)) * (uint64_t)dtypes[dt].size;
        ok = ok && cJSON_AddItemToArray(offs, raw_int(at)) &&
             cJSON_AddItemToArray(offs, raw_int(at + bytes));
        at += bytes;
    }
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

/* Checks what tg_safetensors_save_as was given; 0 if all is well. */
static int check_save_args(const char *path, int dt, int n, const tg_named *items, int n_meta,
                           const char *const *meta_kv, char *err, size_t errlen) {
    const char *fn = "tg_safetensors_save";
    if (!path) {
        tg_error_set(err, errlen, "%s: path is NULL", fn);
        return -1;
    }
    if (dt < 0) {
        tg_error_set(err, errlen, "%s: %s: dtype must be F32 or F64", fn, path);
        return -1;
    }
    if (n < 0 || (n > 0 && !items) || n_meta < 0 || (n_meta > 0 && !meta_kv)) {
        tg_error_set(err, errlen, "%s: %s: bad counts (%d tensors, %d metadata pairs)", fn, path, n,
                     n_meta);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *name = items[i].name;
        const tg_tensor *t = items[i].tensor;
        if (!name || !t) {
            tg_error_set(err, errlen, "%s: %s: item %d has no %s", fn, path, i,
                         name ? "tensor" : "name");
            return -1;
        }
        if (strcmp(name, "__metadata__") == 0) {
            tg_error_set(err, errlen, "%s: %s: '__metadata__' cannot name a tensor", fn, path);
            return -1;
        }
        if (!tg_shape_valid(tg_tensor_shape(t)) || (!t->data && t->numel > 0)) {
            tg_error_set(err, errlen, "%s: %s: %s: not a valid tensor", fn, path, name);
            return -1;
        }
        for (int k = 0; k < i; k++)
            if (strcmp(items[k].name, name) == 0) {
                tg_error_set(err, errlen, "%s: %s: %s: duplicate tensor name", fn, path, name);
                return -1;
            }
    }
    for (int i = 0; i < n_meta; i++) {
        if (!meta_kv[2 * i] || !meta_kv[2 * i + 1]) {
            tg_error_set(err, errlen, "%s: %s: metadata pair %d has a NULL", fn, path, i);
            return -1;
        }
        for (int k = 0; k < i; k++)
            if (strcmp(meta_kv[2 * k], meta_kv[2 * i]) == 0) {
                tg_error_set(err, errlen, "%s: %s: duplicate metadata key '%s'", fn, path,
                             meta_kv[2 * i]);
                return -1;
            }
    }
    return 0;
}

/* Writes t's values, row-major, encoded as dt, through a small buffer. */
static int write_tensor(FILE *fp, const tg_tensor *t, int dt, unsigned char *buf, size_t cap) {
    int sz = dtypes[dt].size;
    int64_t numel = tg_shape_numel(tg_tensor_shape(t));
    bool contig = is_contiguous(t);
    size_t used = 0;
    for (int64_t k = 0; k < numel; k++) {
        tg_real v = t->data[contig ? k : offset_of(t, k)];
        uint64_t bits;
        if (dt == DT_F64) {
            double d = (double)v;
            memcpy(&bits, &d, sizeof d);
        } else {
            float x = (float)v;
            uint32_t w;
            memcpy(&w, &x, sizeof w);
            bits = w;
        }
        put_le(buf + used, bits, sz);
        used += (size_t)sz;
        if (used + (size_t)sz > cap || k == numel - 1) {
            if (fwrite(buf, 1, used, fp) != used) return -1;
            used = 0;
        }
    }
    return 0;
}

int tg_safetensors_save_as(const char *path, const char *dtype, int n, const tg_named *items,
                           int n_meta, const char *const *meta_kv, char *err, size_t errlen) {
    int dt = !dtype ? (sizeof(tg_real) == 8 ? DT_F64 : DT_F32) : dtype_find(dtype);
    if (dt != DT_F32 && dt != DT_F64) dt = -1;
    if (check_save_args(path, dt, n, items, n_meta, meta_kv, err, errlen) != 0) return -1;

    char *json = header_json(dt, n, items, n_meta, meta_kv);
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    unsigned char *buf = malloc(1 << 16);
    FILE *fp = NULL;
    bool created = false;
    int rc = -1;
    if (!json || !tmp || !buf) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        goto done;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    if (!(fp = fopen(tmp, "wb"))) {
        tg_error_set(err, errlen, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    created = true;
    /* pad with spaces so the data starts 8-byte aligned, as the reference does */
    size_t jlen = strlen(json), hlen = jlen + (8 - (8 + jlen) % 8) % 8;
    unsigned char len8[8];
    put_le(len8, hlen, 8);
    bool ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(json, 1, jlen, fp) == jlen;
    for (size_t i = jlen; ok && i < hlen; i++) ok = fputc(' ', fp) != EOF;
    for (int i = 0; ok && i < n; i++) ok = write_tensor(fp, items[i].tensor, dt, buf, 1 << 16) == 0;
    /* flushed and on disk before the rename, so a crash leaves old or new, never half */
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    if (!ok) {
        tg_error_set(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    int closed = fclose(fp);
    fp = NULL;
    if (closed != 0) {
        tg_error_set(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        tg_error_set(err, errlen, "%s: cannot rename %s into place: %s", path, tmp,
                     strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (fp) fclose(fp);
    if (rc != 0 && created) remove(tmp);
    free(json);
    free(tmp);
    free(buf);
    return rc;
}

int tg_safetensors_save(const char *path, int n, const tg_named *items, int n_meta,
                        const char *const *meta_kv, char *err, size_t errlen) {
    return tg_safetensors_save_as(path, NULL, n, items, n_meta, meta_kv, err, errlen);
}
