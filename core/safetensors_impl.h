/* What the safetensors files share. Internal to core/:
 *   safetensors_dtype.c   dtypes, byte order, one element decoded, where a
 *                         tensor's k-th element lies (the lowest);
 *   safetensors_header.c  opening a file: its header checked whole, then
 *                         one tensor's bytes read;
 *   safetensors.c         the reading API (tg_safetensors_open, ..._load_into);
 *   safetensors_write.c   tg_safetensors_save(_as).
 * Arrows point down that list (write uses dtype only). */
#ifndef TG_SAFETENSORS_IMPL_H
#define TG_SAFETENSORS_IMPL_H

#include <stdbool.h>
#include <stdio.h>

#include "safetensors.h"

/* ---- safetensors_dtype.c ---- */

/* The dtypes of the format, in the order of the table below. */
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
typedef struct tg__st_dtype {
    const char *name; /* as the header writes it: "F32" */
    int size;         /* bytes per element */
} tg__st_dtype;
extern const tg__st_dtype tg__st_dtypes[DT_COUNT];

/* The index of dtype name s, or -1. */
int tg__st_dtype_find(const char *s);
/* The little-endian unsigned integer of size bytes at p, and back. */
uint64_t tg__st_get_le(const unsigned char *p, int size);
void tg__st_put_le(unsigned char *p, uint64_t v, int size);
/* Two's-complement reinterpretation of the low `size` bytes of u. */
int64_t tg__st_sign_extend(uint64_t u, int size);
/* One element of dtype dt at p, as a double. F8 never gets here. */
double tg__st_decode(int dt, const unsigned char *p);
/* n elements of dtype dt from p into out[0..n): tg__st_decode's values,
 * F32 and F64 on a little-endian host as plain copies. */
void tg__st_decode_n(int dt, const unsigned char *p, int64_t n, tg_real *out);
/* Storage offset of the element at row-major position `linear`. */
int64_t tg__st_offset_of(const tg_tensor *t, int64_t linear);

/* ---- safetensors_header.c ---- */

/* An open file: every tensor's entry, checked, and the metadata. */
typedef struct tg__st_entry {
    char *name;
    int dtype;
    tg_shape shape;
    int64_t numel;
    uint64_t begin, end; /* within the data section */
    tg_tensor *t;        /* values as tg_real (tg_safetensors_open; NULL after open_header) */
    int64_t *i64;        /* exact values of an I64 tensor (open only) */
} tg__st_entry;

struct tg_st_file {
    int n;
    tg__st_entry *e;
    int n_meta;
    char **meta; /* key0, value0, key1, ... */
};

void tg__st_file_free(tg_st_file *f);
/* Opens path and checks its whole header. On success *fp is positioned
 * nowhere in particular and *data_start is the file offset of the data. */
tg_st_file *tg__st_read_header(const char *path, FILE **fp_out, uint64_t *data_start, char *err,
                               size_t errlen);
/* Reads e's bytes into raw (end - begin bytes). */
int tg__st_read_entry(FILE *fp, uint64_t data_start, const tg__st_entry *e, unsigned char *raw,
                      const char *path, char *err, size_t errlen);

#endif
