/* Opening a safetensors file: the header is never trusted. Its length,
 * JSON, every entry (dtype, shape, offsets) and the layout of the data
 * (names unique, tensors tiling the data exactly) are checked before any
 * byte of data is read; then one tensor's bytes can be read. */
#include "safetensors_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* The reference implementation refuses larger headers too; it also bounds
 * what a hostile file can make us allocate before anything is checked. */
#define MAX_HEADER ((uint64_t)100 << 20)
/* Largest integer a JSON number (a double in cJSON) holds exactly. */
#define MAX_JSON_INT 9007199254740992.0

void tg__st_file_free(tg_st_file *f) {
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
static int parse_entry(const char *path, const cJSON *j, tg__st_entry *e, uint64_t data_size,
                       char *err, size_t errlen) {
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
    if ((e->dtype = tg__st_dtype_find(dt->valuestring)) < 0) {
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
    uint64_t need = (uint64_t)e->numel * (uint64_t)tg__st_dtypes[e->dtype].size;
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
                     (unsigned long long)(e->end - e->begin), tg__st_dtypes[e->dtype].name,
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
    return strcmp((*(const tg__st_entry *const *)a)->name, (*(const tg__st_entry *const *)b)->name);
}

static int cmp_offsets(const void *a, const void *b) {
    const tg__st_entry *x = *(const tg__st_entry *const *)a, *y = *(const tg__st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Names unique, and the tensors tile the data section exactly: sorted by
 * offset each begins where the previous one ended and the last one ends at
 * the end of the data, as the reference implementation demands. */
static int check_layout(const char *path, tg_st_file *f, uint64_t data_size, char *err,
                        size_t errlen) {
    tg__st_entry **v = malloc((size_t)(f->n ? f->n : 1) * sizeof *v);
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
        const tg__st_entry *e = v[i];
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

/* Reads the header's length and text from fp: *text (NUL-terminated, to
 * free) holds *hlen bytes, and *data_size bytes of data follow it. */
static int read_header_text(const char *path, FILE *fp, char **text, uint64_t *hlen,
                            uint64_t *data_size, char *err, size_t errlen) {
    unsigned char len8[8];
    off_t size;
    errno = 0;
    if (fseeko(fp, 0, SEEK_END) != 0 || (size = ftello(fp)) < 0) goto io_error;
    if (size < 8) {
        tg_error_set(err, errlen, "%s: file is %lld bytes, too short for the 8-byte header length",
                     path, (long long)size);
        return -1;
    }
    if (read_at(fp, 0, len8, 8) != 0) goto io_error;
    uint64_t n = tg__st_get_le(len8, 8);
    if (n > (uint64_t)size - 8) {
        tg_error_set(err, errlen,
                     "%s: header length %llu is beyond the end of the file (%lld bytes)", path,
                     (unsigned long long)n, (long long)size);
        return -1;
    }
    if (n > MAX_HEADER) {
        tg_error_set(err, errlen, "%s: header length %llu is over the 100 MB limit", path,
                     (unsigned long long)n);
        return -1;
    }
    if (!(*text = malloc((size_t)n + 1))) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (read_at(fp, 8, *text, (size_t)n) != 0) goto io_error;
    (*text)[n] = '\0';
    *hlen = n;
    *data_size = (uint64_t)size - 8 - n;
    return 0;
io_error:
    tg_error_set(err, errlen, "%s: cannot read: %s", path,
                 errno ? strerror(errno) : "unexpected end of file");
    return -1;
}

/* The header's text as a JSON object: strict where cJSON is lenient. */
static cJSON *parse_header_json(const char *path, const char *text, uint64_t hlen, char *err,
                                size_t errlen) {
    /* cJSON would take a NUL or other control byte for white space; JSON does not */
    for (uint64_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            tg_error_set(err, errlen, "%s: header has a control byte 0x%02x at byte %llu", path, c,
                         (unsigned long long)i);
            return NULL;
        }
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        tg_error_set(err, errlen, "%s: header is not valid JSON (error at byte %lld of %llu)", path,
                     (long long)(end ? end - text : 0), (unsigned long long)hlen);
        return NULL;
    }
    /* the reference pads the header with spaces; anything else after the JSON is junk */
    for (const char *p = end; p < text + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            tg_error_set(err, errlen, "%s: header has junk after the JSON at byte %lld", path,
                         (long long)(p - text));
            cJSON_Delete(root);
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        tg_error_set(err, errlen, "%s: header is not a JSON object", path);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Every entry and the metadata of the header object root, checked against
 * a data section of data_size bytes. */
static tg_st_file *file_of(const char *path, const cJSON *root, uint64_t data_size, char *err,
                           size_t errlen) {
    tg_st_file *f = calloc(1, sizeof *f);
    int n = cJSON_GetArraySize(root);
    if (!f || !(f->e = calloc((size_t)(n ? n : 1), sizeof *f->e))) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (const cJSON *x = root->child; x; x = x->next) {
        if (strcmp(x->string, "__metadata__") == 0) {
            if (parse_meta(path, x, f, err, errlen) != 0) goto fail;
            continue;
        }
        tg__st_entry *e = &f->e[f->n];
        if (!(e->name = strdup(x->string))) {
            tg_error_set(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        f->n++;
        if (parse_entry(path, x, e, data_size, err, errlen) != 0) goto fail;
    }
    if (check_layout(path, f, data_size, err, errlen) != 0) goto fail;
    return f;
fail:
    tg__st_file_free(f);
    return NULL;
}

tg_st_file *tg__st_read_header(const char *path, FILE **fp_out, uint64_t *data_start, char *err,
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
    char *text = NULL;
    uint64_t hlen = 0, data_size = 0;
    cJSON *root = NULL;
    tg_st_file *f = NULL;
    if (read_header_text(path, fp, &text, &hlen, &data_size, err, errlen) == 0 &&
        (root = parse_header_json(path, text, hlen, err, errlen)))
        f = file_of(path, root, data_size, err, errlen);
    cJSON_Delete(root);
    free(text);
    if (!f) {
        fclose(fp);
        return NULL;
    }
    *fp_out = fp;
    *data_start = 8 + hlen;
    return f;
}

/* Reads e's bytes into raw (end - begin bytes). */
int tg__st_read_entry(FILE *fp, uint64_t data_start, const tg__st_entry *e, unsigned char *raw,
                      const char *path, char *err, size_t errlen) {
    errno = 0;
    if (read_at(fp, data_start + e->begin, raw, (size_t)(e->end - e->begin)) == 0) return 0;
    tg_error_set(err, errlen, "%s: %s: cannot read: %s", path, e->name,
                 errno ? strerror(errno) : "unexpected end of file");
    return -1;
}
