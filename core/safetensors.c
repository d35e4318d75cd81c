/* safetensors reading: a whole file into tensors (tg_safetensors_open and
 * its getters), its header alone (open_header), or named tensors into
 * existing ones (load_into). The header's checks are in
 * safetensors_header.c, the dtypes in safetensors_dtype.c, writing in
 * safetensors_write.c. */
#include "safetensors_impl.h"

#include <stdlib.h>
#include <string.h>

static const tg__st_entry *find(const tg_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) return &f->e[i];
    return NULL;
}

tg_st_file *tg_safetensors_open(const char *path, char *err, size_t errlen) {
    FILE *fp;
    uint64_t data_start;
    tg_st_file *f = tg__st_read_header(path, &fp, &data_start, err, errlen);
    if (!f) return NULL;
    unsigned char *raw = NULL;
    for (int i = 0; i < f->n; i++) {
        tg__st_entry *e = &f->e[i];
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
        if (tg__st_read_entry(fp, data_start, e, raw, path, err, errlen) != 0) goto fail;
        tg__st_decode_n(e->dtype, raw, e->numel, e->t->data);
        for (int64_t k = 0; e->i64 && k < e->numel; k++)
            e->i64[k] = tg__st_sign_extend(tg__st_get_le(raw + k * 8, 8), 8);
    }
    free(raw);
    fclose(fp);
    return f;
fail:
    free(raw);
    fclose(fp);
    tg__st_file_free(f);
    return NULL;
}

tg_st_file *tg_safetensors_open_header(const char *path, char *err, size_t errlen) {
    FILE *fp;
    uint64_t data_start;
    tg_st_file *f = tg__st_read_header(path, &fp, &data_start, err, errlen);
    if (f) fclose(fp);
    return f;
}

int tg_safetensors_count(const tg_st_file *f) {
    return f ? f->n : 0;
}

const char *tg_safetensors_name(const tg_st_file *f, int i) {
    return f && i >= 0 && i < f->n ? f->e[i].name : NULL;
}

const char *tg_safetensors_dtype(const tg_st_file *f, const char *name) {
    const tg__st_entry *e = find(f, name);
    return e ? tg__st_dtypes[e->dtype].name : NULL;
}

const tg_tensor *tg_safetensors_get(const tg_st_file *f, const char *name) {
    const tg__st_entry *e = find(f, name);
    return e ? e->t : NULL;
}

const int64_t *tg_safetensors_get_i64(const tg_st_file *f, const char *name, int64_t *count) {
    const tg__st_entry *e = find(f, name);
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
    tg__st_file_free(f);
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
    tg_st_file *f = tg__st_read_header(path, &fp, &data_start, err, errlen);
    if (!f) return -1;
    const tg__st_entry **found = calloc((size_t)(n ? n : 1), sizeof *found);
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
        const tg__st_entry *e = found[i] = find(f, name);
        if (!e) {
            tg_error_set(err, errlen, "%s: no tensor named '%s'", path, name);
            goto done;
        }
        if (e->dtype != DT_F32 && e->dtype != DT_F64) {
            tg_error_set(err, errlen, "%s: %s: dtype %s cannot load into a float tensor", path,
                         name, tg__st_dtypes[e->dtype].name);
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
        if (tg__st_read_entry(fp, data_start, found[i], raw[i], path, err, errlen) != 0) goto done;
    }
    /* ... and only then write */
    for (int i = 0; i < n; i++) {
        tg_tensor *t = items[i].tensor;
        int dt = found[i]->dtype, sz = tg__st_dtypes[dt].size;
        if (tg_is_contiguous(t))
            tg__st_decode_n(dt, raw[i], found[i]->numel, t->data);
        else
            for (int64_t k = 0; k < found[i]->numel; k++)
                t->data[tg__st_offset_of(t, k)] = (tg_real)tg__st_decode(dt, raw[i] + k * sz);
    }
    rc = 0;
done:
    for (int i = 0; raw && i < n; i++) free(raw[i]);
    free(raw);
    free(found);
    fclose(fp);
    tg__st_file_free(f);
    return rc;
}
