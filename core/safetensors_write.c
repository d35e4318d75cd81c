/* safetensors writing: the header JSON (offsets as exact integers), the
 * values encoded little-endian in F32 or F64, all to a temporary file that
 * is flushed to disk and renamed into place. */
#include "safetensors_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        ok = e && cJSON_AddStringToObject(e, "dtype", tg__st_dtypes[dt].name) &&
             (sh = cJSON_AddArrayToObject(e, "shape")) &&
             (offs = cJSON_AddArrayToObject(e, "data_offsets"));
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(sh, raw_int((uint64_t)t->shape[d]));
        uint64_t bytes =
            (uint64_t)tg_shape_numel(tg_tensor_shape(t)) * (uint64_t)tg__st_dtypes[dt].size;
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
    int sz = tg__st_dtypes[dt].size;
    int64_t numel = tg_shape_numel(tg_tensor_shape(t));
    bool contig = tg_is_contiguous(t);
    size_t used = 0;
    for (int64_t k = 0; k < numel; k++) {
        tg_real v = t->data[contig ? k : tg__st_offset_of(t, k)];
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
        tg__st_put_le(buf + used, bits, sz);
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
    int dt = !dtype ? (sizeof(tg_real) == 8 ? DT_F64 : DT_F32) : tg__st_dtype_find(dtype);
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
    tg__st_put_le(len8, hlen, 8);
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
