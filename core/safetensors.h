/* Checkpoints in the safetensors format, the one PyTorch and Hugging Face use:
 *
 *     u64 N (little-endian) | N bytes of JSON header | raw little-endian data
 *
 * The header maps each tensor name to {"dtype": "F32", "shape": [2,3],
 * "data_offsets": [begin, end]} (offsets relative to the start of the data)
 * plus an optional "__metadata__": {string: string}. A header is never
 * trusted: lengths, offsets, shapes and dtypes are all checked before any
 * byte of data is read, and a bad file gives a message naming the file and
 * the tensor, never a crash.
 *
 * Every function that can fail writes a message into `err` (errlen bytes,
 * always NUL-terminated; err may be NULL) and returns -1 (or NULL). */
#ifndef TG_SAFETENSORS_H
#define TG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

typedef struct tg_named {
    const char *name;
    tg_tensor *tensor;
} tg_named;

/* Writes the tensors (any strides) in this build's precision: F32, or F64 in
 * the double build. meta_kv holds n_meta key/value pairs (key0, value0,
 * key1, ...) for "__metadata__", or is NULL when n_meta is 0. Atomic: the
 * file is written to PATH.tmp.<pid>, flushed to disk and renamed over PATH;
 * on any failure an old PATH is untouched and the temporary file removed. */
int tg_safetensors_save(const char *path, int n, const tg_named *items, int n_meta,
                        const char *const *meta_kv, char *err, size_t errlen);
/* The same with an explicit dtype for every tensor: "F32" or "F64" (NULL
 * means this build's precision), e.g. F32 files from the double build. */
int tg_safetensors_save_as(const char *path, const char *dtype, int n, const tg_named *items,
                           int n_meta, const char *const *meta_kv, char *err, size_t errlen);

/* Loads named tensors into existing tensors (any strides). Every requested
 * name must exist, shapes must match exactly and the dtype must be F32 or
 * F64 (converted to tg_real). The first mismatch is reported, e.g.
 *     "model.st: weight_hh_l1: expected [1024,256], file has [1024,128]"
 *     "model.st: no tensor named 'bias_ih_l0'"
 *     "model.st: bias: dtype I64 cannot load into a float tensor"
 * Nothing is written into any tensor unless all of them check out and all
 * their data has been read. Tensors in the file that nobody asked for are
 * ignored. */
int tg_safetensors_load_into(const char *path, int n, const tg_named *items, char *err,
                             size_t errlen);

/* ---- whole-file access, for fixtures and inspection ------------------- */
typedef struct tg_st_file tg_st_file;

/* Reads and checks the whole file. Returns NULL on failure. */
tg_st_file *tg_safetensors_open(const char *path, char *err, size_t errlen);
/* Reads and checks the header only: the names, dtypes, shapes and
 * metadata, and that the tensors' bytes lie where the header says, without
 * reading them (what a checkpoint says about itself, cheaply: a training
 * checkpoint is mostly optimizer state). On such a file tg_safetensors_get
 * and _get_i64 return NULL. */
tg_st_file *tg_safetensors_open_header(const char *path, char *err, size_t errlen);
/* The number of tensors in the file. */
int tg_safetensors_count(const tg_st_file *f);
/* The i-th tensor's name, in the order of the file's header; NULL when i is
 * out of range. */
const char *tg_safetensors_name(const tg_st_file *f, int i);
/* The tensor's dtype as written in the file ("F32", "I64", ...); NULL if
 * there is no such tensor. */
const char *tg_safetensors_dtype(const tg_st_file *f, const char *name);
/* A heap tensor holding the values converted to tg_real, owned by f (do not
 * free it). F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8 and
 * BOOL convert (large integers round to the nearest tg_real); NULL if there
 * is no such tensor or its dtype is F8_E4M3 / F8_E5M2. */
const tg_tensor *tg_safetensors_get(const tg_st_file *f, const char *name);
/* The exact values of an I64 tensor (lengths, targets), row-major, owned by
 * f; *count receives numel (count may be NULL). NULL if there is no such
 * tensor or it is not I64. */
const int64_t *tg_safetensors_get_i64(const tg_st_file *f, const char *name, int64_t *count);
/* A "__metadata__" value; NULL if absent. */
const char *tg_safetensors_meta(const tg_st_file *f, const char *key);
/* Frees what tg_safetensors_open read. */
void tg_safetensors_close(tg_st_file *f);

#endif
