/* safetensors: round trips (strided, 0-d, empty, metadata), exact bytes,
 * load_into's mismatch messages, a table of corrupt files, random damage,
 * atomic saves, and a fixture written by PyTorch. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 512

/* ---- temp dirs and files ------------------------------------------------- */
static void make_tmpdir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/tg_st_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Removes dir and the files (and empty dirs) directly inside it. */
static void remove_tmpdir(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    char p[512];
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* The whole file; *n receives its length. Caller frees. */
static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

static void put_f32(unsigned char *p, float x) {
    uint32_t w;
    memcpy(&w, &x, 4);
    for (int i = 0; i < 4; i++, w >>= 8) p[i] = (unsigned char)(w & 0xff);
}

/* A safetensors file from a header string and ndata bytes (zeros if data is NULL). */
static void write_st(const char *path, const char *header, const unsigned char *data,
                     size_t ndata) {
    size_t hl = strlen(header);
    unsigned char *b = calloc(8 + hl + ndata + 1, 1);
    ck_assert_ptr_nonnull(b);
    put_u64(b, hl);
    memcpy(b + 8, header, hl);
    if (data) memcpy(b + 8 + hl, data, ndata);
    write_bytes(path, b, 8 + hl + ndata);
    free(b);
}

/* err equals "<path>: <msg>" */
#define ck_assert_err(err, path, msg)                                                \
    do {                                                                             \
        char ck_e_[1024];                                                            \
        snprintf(ck_e_, sizeof ck_e_, "%s: %s", (path), (msg));                      \
        ck_assert_str_eq((err), ck_e_);                                              \
    } while (0)

#ifdef TG_DOUBLE
#define REAL_DTYPE "F64"
#else
#define REAL_DTYPE "F32"
#endif

/* ---- round trips ------------------------------------------------------------ */
START_TEST(round_trip) {
    char dir[64], path[512], err[ERRLEN] = "";
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    tg_real av[6] = {1, -2.5, 3.25, (tg_real)0.1, (tg_real)1e-3, -7};
    tg_tensor *a = tg_tensor_new(TG_SHAPE(2, 3));
    tg_copy_from(a, av);
    /* a transposed view of a [3,2] base: shape [2,3], strides (1,2) */
    tg_real bv[6] = {0, 1, 2, 3, 4, 5};
    tg_tensor *base = tg_tensor_new(TG_SHAPE(3, 2));
    tg_copy_from(base, bv);
    tg_tensor view = *base;
    view.on_heap = false;
    view.shape[0] = 2, view.shape[1] = 3, view.stride[0] = 1, view.stride[1] = 2;
    ck_assert(!tg_is_contiguous(&view));
    tg_tensor *scalar = tg_tensor_new(TG_SCALAR);
    scalar->data[0] = (tg_real)42.5;
    tg_tensor *empty = tg_tensor_new(TG_SHAPE(0, 4));
    tg_tensor *four = tg_tensor_new(TG_SHAPE(1, 2, 1, 3));
    tg_real fv[6] = {9, 8, 7, -6, -5, (tg_real)1e30};
    tg_copy_from(four, fv);

    tg_named items[] = {{"a", a}, {"layer.0.weight \"t\"", &view}, {"scalar", scalar},
                        {"empty", empty}, {"four", four}};
    const char *meta[] = {"format", "pt", "note", "h\xc3\xa9llo \"quoted\"\n"};
    ck_assert_int_eq(tg_safetensors_save(path, 5, items, 2, meta, err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(dir_entries(dir), 1); /* no temporary left behind */

    /* the bytes: LE header length, header padded so data is 8-aligned, a[0] = 1.0 LE */
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    ck_assert_uint_eq((8 + hl) % 8, 0);
    ck_assert_uint_eq(n, 8 + hl + (6 + 6 + 1 + 0 + 6) * sizeof(tg_real));
    ck_assert(memcmp(b + 8, "{\"__metadata__\":{\"format\":\"pt\"", 30) == 0);
    size_t close = 8 + hl - 1; /* the JSON's last '}', then fewer than 8 spaces */
    while (b[close] == ' ') close--;
    ck_assert_int_eq(b[close], '}');
    ck_assert_uint_lt(8 + hl - 1 - close, 8);
#ifdef TG_DOUBLE
    const unsigned char one[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
#else
    const unsigned char one[4] = {0, 0, 0x80, 0x3f};
#endif
    ck_assert(memcmp(b + 8 + hl, one, sizeof one) == 0);
    free(b);

    /* the header alone: names, dtypes and metadata, no values */
    tg_st_file *f = tg_safetensors_open_header(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(tg_safetensors_count(f), 5);
    for (int i = 0; i < 5; i++) ck_assert_str_eq(tg_safetensors_name(f, i), items[i].name);
    ck_assert_str_eq(tg_safetensors_dtype(f, "four"), REAL_DTYPE);
    ck_assert_str_eq(tg_safetensors_meta(f, "note"), "h\xc3\xa9llo \"quoted\"\n");
    ck_assert_ptr_null(tg_safetensors_get(f, "a"));
    ck_assert_ptr_null(tg_safetensors_get_i64(f, "a", NULL));
    tg_safetensors_close(f);

    f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(tg_safetensors_count(f), 5);
    for (int i = 0; i < 5; i++) ck_assert_str_eq(tg_safetensors_name(f, i), items[i].name);
    ck_assert_ptr_null(tg_safetensors_name(f, 5));
    ck_assert_ptr_null(tg_safetensors_name(f, -1));
    ck_assert_str_eq(tg_safetensors_dtype(f, "a"), REAL_DTYPE);
    ck_assert_str_eq(tg_safetensors_meta(f, "format"), "pt");
    ck_assert_str_eq(tg_safetensors_meta(f, "note"), "h\xc3\xa9llo \"quoted\"\n");
    ck_assert_ptr_null(tg_safetensors_meta(f, "missing"));
    ck_assert_ptr_null(tg_safetensors_get(f, "missing"));
    ck_assert_ptr_null(tg_safetensors_get_i64(f, "a", NULL));

    const tg_tensor *t = tg_safetensors_get(f, "a");
    ck_assert(tg_same_shape(t, a));
    ck_assert_tensor(t, av, 0);
    t = tg_safetensors_get(f, "layer.0.weight \"t\"");
    tg_real vt[6] = {0, 2, 4, 1, 3, 5};
    ck_assert(tg_same_shape(t, &view));
    ck_assert_tensor(t, vt, 0);
    t = tg_safetensors_get(f, "scalar");
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_int_eq(t->numel, 1);
    ck_assert_close(t->data[0], 42.5, 0);
    t = tg_safetensors_get(f, "empty");
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[0], 0);
    ck_assert_int_eq(t->shape[1], 4);
    ck_assert_int_eq(t->numel, 0);
    t = tg_safetensors_get(f, "four");
    ck_assert(tg_same_shape(t, four));
    ck_assert_tensor(t, fv, 0);
    tg_safetensors_close(f);

    /* load_into, including into a strided destination */
    tg_tensor *a2 = tg_tensor_new(TG_SHAPE(2, 3)), *s2 = tg_tensor_new(TG_SCALAR);
    tg_tensor *e2 = tg_tensor_new(TG_SHAPE(0, 4)), *base2 = tg_tensor_new(TG_SHAPE(3, 2));
    tg_tensor view2 = *base2;
    view2.on_heap = false;
    view2.shape[0] = 2, view2.shape[1] = 3, view2.stride[0] = 1, view2.stride[1] = 2;
    tg_named into[] = {{"scalar", s2}, {"layer.0.weight \"t\"", &view2}, {"a", a2},
                       {"empty", e2}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 4, into, err, sizeof err), 0);
    ck_assert_tensor(a2, av, 0);
    ck_assert_tensor(base2, bv, 0); /* the view wrote through its strides */
    ck_assert_close(s2->data[0], 42.5, 0);

    /* F32 from any build: values rounded to float */
    ck_assert_int_eq(tg_safetensors_save_as(path, "F32", 1, items, 0, NULL, err, sizeof err), 0);
    f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_str_eq(tg_safetensors_dtype(f, "a"), "F32");
    ck_assert_int_eq(tg_safetensors_count(f), 1);
    ck_assert_ptr_null(tg_safetensors_meta(f, "format"));
    /* av's values as floats, written out: GCC 12's vectoriser has been seen
     * folding (double)(float)x back to x in a loop computing these */
    tg_real af[6] = {1, -2.5, 3.25, (tg_real)0.100000001490116119384765625,
                     (tg_real)0.001000000047497451305389404296875, -7};
    ck_assert_tensor(tg_safetensors_get(f, "a"), af, 0);
    tg_safetensors_close(f);
    ck_assert_int_eq(tg_safetensors_save_as(path, "F64", 1, items, 0, NULL, err, sizeof err), 0);
    f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_str_eq(tg_safetensors_dtype(f, "a"), "F64");
    ck_assert_tensor(tg_safetensors_get(f, "a"), av, 0);
    tg_safetensors_close(f);

    /* an empty file: no tensors at all */
    ck_assert_int_eq(tg_safetensors_save(path, 0, NULL, 0, NULL, err, sizeof err), 0);
    f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(tg_safetensors_count(f), 0);
    tg_safetensors_close(f);
    ck_assert_int_eq(tg_safetensors_load_into(path, 0, NULL, err, sizeof err), 0);

    tg_tensor *ts[] = {a, base, scalar, empty, four, a2, s2, e2, base2};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) tg_tensor_free(ts[i]);
    remove_tmpdir(dir);
}
END_TEST

START_TEST(save_bad_args) {
    char dir[64], path[512], err[ERRLEN];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    tg_tensor *a = tg_tensor_new(TG_SHAPE(2));
    char want[600];

    tg_named dup[] = {{"w", a}, {"w", a}};
    ck_assert_int_eq(tg_safetensors_save(path, 2, dup, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "tg_safetensors_save: %s: w: duplicate tensor name", path);
    ck_assert_str_eq(err, want);
    tg_named meta_name[] = {{"__metadata__", a}};
    ck_assert_int_eq(tg_safetensors_save(path, 1, meta_name, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "tg_safetensors_save: %s: '__metadata__' cannot name a tensor",
             path);
    ck_assert_str_eq(err, want);
    tg_named null_t[] = {{"w", NULL}};
    ck_assert_int_eq(tg_safetensors_save(path, 1, null_t, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "tg_safetensors_save: %s: item 0 has no tensor", path);
    ck_assert_str_eq(err, want);
    const char *kv[] = {"k", "1", "k", "2"};
    ck_assert_int_eq(tg_safetensors_save(path, 1, dup, 2, kv, err, sizeof err), -1);
    snprintf(want, sizeof want, "tg_safetensors_save: %s: duplicate metadata key 'k'", path);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(tg_safetensors_save_as(path, "I64", 1, dup, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "tg_safetensors_save: %s: dtype must be F32 or F64", path);
    ck_assert_str_eq(err, want);
    /* err may be NULL or tiny */
    ck_assert_int_eq(tg_safetensors_save(path, 2, dup, 0, NULL, NULL, 0), -1);
    char tiny[4];
    ck_assert_int_eq(tg_safetensors_save(path, 2, dup, 0, NULL, tiny, sizeof tiny), -1);
    ck_assert_str_eq(tiny, "tg_");
    ck_assert_int_eq(dir_entries(dir), 0);
    tg_tensor_free(a);
    remove_tmpdir(dir);
}
END_TEST

/* ---- load_into's messages --------------------------------------------------- */
START_TEST(load_into_mismatch) {
    char dir[64], path[512], err[ERRLEN];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    /* written by hand: an F32 [4,2] (values 1..8) and an I64 [2] (values 7, -1) */
    unsigned char data[48];
    for (int i = 0; i < 8; i++) put_f32(data + 4 * i, (float)(i + 1));
    put_u64(data + 32, 7);
    put_u64(data + 40, (uint64_t)-1);
    write_st(path,
             "{\"weight_hh_l1\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[0,32]},"
             "\"bias\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[32,48]}}",
             data, sizeof data);

    tg_tensor *w = tg_tensor_new(TG_SHAPE(4, 2)), *wrong = tg_tensor_new(TG_SHAPE(4, 3));
    tg_tensor *bias = tg_tensor_new(TG_SHAPE(2));
    tg_named shape[] = {{"weight_hh_l1", wrong}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, shape, err, sizeof err), -1);
    ck_assert_err(err, path, "weight_hh_l1: expected [4,3], file has [4,2]");
    tg_named scal[] = {{"weight_hh_l1", bias}};
    tg_tensor *s = tg_tensor_new(TG_SCALAR);
    scal[0].tensor = s;
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, scal, err, sizeof err), -1);
    ck_assert_err(err, path, "weight_hh_l1: expected [], file has [4,2]");
    tg_named missing[] = {{"bias_ih_l0", bias}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, missing, err, sizeof err), -1);
    ck_assert_err(err, path, "no tensor named 'bias_ih_l0'");
    tg_named dtype[] = {{"bias", bias}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, dtype, err, sizeof err), -1);
    ck_assert_err(err, path, "bias: dtype I64 cannot load into a float tensor");

    /* the first item is fine, the second is not: nothing is written */
    tg_fill(w, -1);
    tg_named half[] = {{"weight_hh_l1", w}, {"bias_ih_l0", bias}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 2, half, err, sizeof err), -1);
    ck_assert_err(err, path, "no tensor named 'bias_ih_l0'");
    for (int i = 0; i < 8; i++) ck_assert_close(w->data[i], -1, 0);

    /* the good one loads, bytes decoded as little-endian */
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, half, err, sizeof err), 0);
    tg_real wv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_tensor(w, wv, 0);

    /* whole-file access converts I64 and keeps the exact integers */
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    int64_t cnt = 0;
    const int64_t *iv = tg_safetensors_get_i64(f, "bias", &cnt);
    ck_assert_int_eq(cnt, 2);
    ck_assert_int_eq(iv[0], 7);
    ck_assert_int_eq(iv[1], -1);
    tg_real bv[2] = {7, -1};
    ck_assert_tensor(tg_safetensors_get(f, "bias"), bv, 0);
    ck_assert_str_eq(tg_safetensors_dtype(f, "bias"), "I64");
    tg_safetensors_close(f);

    /* no such file; bad item */
    char nofile[600];
    snprintf(nofile, sizeof nofile, "%s/nope.safetensors", dir);
    ck_assert_int_eq(tg_safetensors_load_into(nofile, 1, half, err, sizeof err), -1);
    ck_assert_err(err, nofile, "cannot open: No such file or directory");
    ck_assert_ptr_null(tg_safetensors_open(nofile, err, sizeof err));
    ck_assert_err(err, nofile, "cannot open: No such file or directory");
    tg_named noname[] = {{NULL, w}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, noname, err, sizeof err), -1);
    ck_assert_err(err, path, "item 0 has no name");
    /* a directory opens but cannot be read */
    ck_assert_ptr_null(tg_safetensors_open(dir, err, sizeof err));
    ck_assert_err(err, dir, "cannot read: Is a directory");

    tg_tensor_free(w);
    tg_tensor_free(wrong);
    tg_tensor_free(bias);
    tg_tensor_free(s);
    remove_tmpdir(dir);
}
END_TEST

/* The dtypes the fixture does not hold: sign extension, unsigned ranges, F16
 * specials, and F8, which is accepted but not converted. */
START_TEST(other_dtypes) {
    char dir[64], path[512], err[ERRLEN];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/dtypes.safetensors", dir);
    const unsigned char data[28] = {
        0xff, 0x7f,                                     /* I8: -1, 127 */
        0x00, 0x80, 0x34, 0x12,                         /* I16: -32768, 4660 */
        0xff, 0xff,                                     /* U16: 65535 */
        0xff, 0xff, 0xff, 0xff,                         /* U32: 4294967295 */
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, /* U64: 2^63 + 1 */
        0x00, 0x7c, 0x00, 0x80, 0x00, 0x7e,             /* F16: inf, -0, NaN */
        0x38, 0x40,                                     /* F8_E4M3 */
    };
    write_st(path,
             "{\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
             "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[2,6]},"
             "\"u16\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[6,8]},"
             "\"u32\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[8,12]},"
             "\"u64\":{\"dtype\":\"U64\",\"shape\":[],\"data_offsets\":[12,20]},"
             "\"f16\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[20,26]},"
             "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[26,28]}}  ",
             data, sizeof data);
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    tg_real i8[2] = {-1, 127}, i16[2] = {-32768, 4660}, u16[1] = {65535};
    tg_real u32[1] = {(tg_real)4294967295.0}, u64[1] = {(tg_real)9223372036854775809.0};
    ck_assert_tensor(tg_safetensors_get(f, "i8"), i8, 0);
    ck_assert_tensor(tg_safetensors_get(f, "i16"), i16, 0);
    ck_assert_tensor(tg_safetensors_get(f, "u16"), u16, 0);
    ck_assert_tensor(tg_safetensors_get(f, "u32"), u32, 0);
    ck_assert_tensor(tg_safetensors_get(f, "u64"), u64, 0);
    ck_assert_ptr_null(tg_safetensors_get_i64(f, "u64", NULL));
    const tg_real *h = tg_safetensors_get(f, "f16")->data;
    ck_assert(isinf(h[0]) && h[0] > 0);
    ck_assert(h[1] == 0 && signbit(h[1]));
    ck_assert(isnan(h[2]));
    ck_assert_ptr_null(tg_safetensors_get(f, "f8"));
    ck_assert_str_eq(tg_safetensors_dtype(f, "f8"), "F8_E4M3");
    ck_assert_ptr_null(tg_safetensors_dtype(f, "f9"));
    tg_safetensors_close(f);
    tg_tensor *t = tg_tensor_new(TG_SHAPE(2));
    tg_named f16[] = {{"f16", t}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 1, f16, err, sizeof err), -1);
    ck_assert_err(err, path, "f16: dtype F16 cannot load into a float tensor");
    tg_tensor_free(t);
    remove_tmpdir(dir);
}
END_TEST

/* ---- corrupt files ------------------------------------------------------------- */
#define F32_2(off0, off1) "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" #off0 "," #off1 "]}"

static const struct corrupt {
    const char *label;
    const char *raw;    /* the whole file, when header is NULL */
    size_t rawlen;
    const char *header; /* else: u64 length + header + ndata zero bytes */
    size_t ndata;
    const char *msg;    /* after "<path>: " */
} corrupt[] = {
    {"empty file", "", 0, NULL, 0,
     "file is 0 bytes, too short for the 8-byte header length"},
    {"truncated length", "\x10\x00\x00", 3, NULL, 0,
     "file is 3 bytes, too short for the 8-byte header length"},
    {"length beyond file", "\xe8\x03\x00\x00\x00\x00\x00\x00{}", 10, NULL, 0,
     "header length 1000 is beyond the end of the file (10 bytes)"},
    {"length 2^64-1", "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, NULL, 0,
     "header length 18446744073709551615 is beyond the end of the file (10 bytes)"},
    {"zero length", "\x00\x00\x00\x00\x00\x00\x00\x00", 8, NULL, 0,
     "header is not valid JSON (error at byte 0 of 0)"},
    {"bad JSON", NULL, 0, "{\"a\":{\"dtype\":\"F32\",", 0,
     "header is not valid JSON (error at byte 19 of 20)"},
    {"NUL in header", "\x04\x00\x00\x00\x00\x00\x00\x00{\0}\0", 12, NULL, 0,
     "header has a control byte 0x00 at byte 1"},
    {"junk after JSON", NULL, 0, "{} x", 0, "header has junk after the JSON at byte 3"},
    {"non-object header", NULL, 0, "[1,2]", 0, "header is not a JSON object"},
    {"entry not an object", NULL, 0, "{\"a\":3}", 0,
     "a: expected an object with dtype, shape and data_offsets"},
    {"unknown dtype", NULL, 0, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}",
     4, "a: unknown dtype 'Q4'"},
    {"dtype not a string", NULL, 0, "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
     4, "a: dtype must be a string"},
    {"shape not a list", NULL, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}",
     16, "a: shape must be a list of sizes"},
    {"negative shape", NULL, 0,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", 24,
     "a: shape[1] is -3, expected a non-negative integer"},
    {"fractional shape", NULL, 0,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
     "a: shape[0] is 1.5, expected a non-negative integer"},
    {"string in shape", NULL, 0,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
     "a: shape[0] is \"2\", expected a non-negative integer"},
    {"shape past 2^53", NULL, 0,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,8]}}", 8,
     "a: shape[0] is 1e+300, expected a non-negative integer"},
    {"too many dims", NULL, 0,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
     "a: shape has 5 dims, at most 4 are supported"},
    {"numel overflow", NULL, 0,
     "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0,
     "a: shape [4294967296,4294967296] has too many elements"},
    {"bytes overflow", NULL, 0,
     "{\"a\":{\"dtype\":\"F64\",\"shape\":[1048576,1048576,1048576,1048576],"
     "\"data_offsets\":[0,8]}}", 8,
     "a: shape [1048576,1048576,1048576,1048576] has too many elements"},
    {"offsets past data", NULL, 0, "{\"a\":" F32_2(0, 8) "}", 4,
     "a: data_offsets [0,8] go past the end of the data (4 bytes)"},
    {"offsets reversed", NULL, 0, "{\"a\":" F32_2(8, 0) "}", 8,
     "a: data_offsets must be [begin, end] with 0 <= begin <= end, got [8,0]"},
    {"offsets negative", NULL, 0, "{\"a\":" F32_2(-8, 0) "}", 8,
     "a: data_offsets must be [begin, end] with 0 <= begin <= end, got [-8,0]"},
    {"one offset", NULL, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
     "a: data_offsets must be [begin, end] with 0 <= begin <= end, got [0]"},
    {"no offsets", NULL, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
     "a: data_offsets must be [begin, end] with 0 <= begin <= end, got nothing"},
    {"short data", NULL, 0,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
     "a: data_offsets [0,20] hold 20 bytes, F32 [2,3] needs 24"},
    {"overlap", NULL, 0, "{\"a\":" F32_2(0, 8) ",\"b\":" F32_2(4, 12) "}", 12,
     "b: data_offsets [4,12] overlap 'a' [0,8]"},
    {"same bytes twice", NULL, 0, "{\"a\":" F32_2(0, 8) ",\"b\":" F32_2(0, 8) "}", 8,
     "b: data_offsets [0,8] overlap 'a' [0,8]"},
    {"gap", NULL, 0, "{\"a\":" F32_2(0, 8) ",\"b\":" F32_2(12, 20) "}", 20,
     "b: data_offsets [12,20] leave a gap after 'a' [0,8]"},
    {"gap at start", NULL, 0, "{\"a\":" F32_2(4, 12) "}", 12,
     "a: data_offsets [4,12] leave a gap at the start of the data"},
    {"trailing data", NULL, 0, "{\"a\":" F32_2(0, 8) "}", 12,
     "the data section has 12 bytes but the tensors cover 8"},
    {"duplicate names", NULL, 0, "{\"a\":" F32_2(0, 8) ",\"a\":" F32_2(8, 16) "}", 16,
     "a: duplicate tensor name"},
    {"metadata not strings", NULL, 0, "{\"__metadata__\":{\"k\":1}}", 0,
     "__metadata__: value of 'k' is not a string"},
    {"metadata not an object", NULL, 0, "{\"__metadata__\":[]}", 0,
     "__metadata__ must be an object of strings"},
    {"metadata twice", NULL, 0, "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
     "__metadata__ appears twice"},
};

START_TEST(corrupt_files) {
    char dir[64], path[512], err[ERRLEN];
    make_tmpdir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        const struct corrupt *c = &corrupt[i];
        snprintf(path, sizeof path, "%s/bad%zu.safetensors", dir, i);
        if (c->header)
            write_st(path, c->header, NULL, c->ndata);
        else
            write_bytes(path, c->raw, c->rawlen);
        err[0] = '\0';
        tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
        ck_assert_msg(f == NULL, "%s: opened", c->label);
        char want[1024];
        snprintf(want, sizeof want, "%s: %s", path, c->msg);
        ck_assert_msg(strcmp(err, want) == 0, "%s: got \"%s\", expected \"%s\"", c->label, err,
                      want);
        /* open_header and load_into read the same header and fail the same way */
        err[0] = '\0';
        ck_assert_ptr_null(tg_safetensors_open_header(path, err, sizeof err));
        ck_assert_msg(strcmp(err, want) == 0, "%s (open_header): got \"%s\"", c->label, err);
        err[0] = '\0';
        ck_assert_int_eq(tg_safetensors_load_into(path, 0, NULL, err, sizeof err), -1);
        ck_assert_msg(strcmp(err, want) == 0, "%s (load_into): got \"%s\"", c->label, err);
    }
    /* JSON nested beyond cJSON's limit is refused, not a stack overflow */
    static char deep[20001];
    memset(deep, '[', 20000);
    snprintf(path, sizeof path, "%s/deep.safetensors", dir);
    write_st(path, deep, NULL, 0);
    ck_assert_ptr_null(tg_safetensors_open(path, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s: header is not valid JSON", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\"", err);
    remove_tmpdir(dir);
}
END_TEST

/* Every truncation and many random byte changes of a good file: each is
 * either a valid file or refused with a message; ASan watches for the rest. */
START_TEST(damaged_files_never_crash) {
    char dir[64], good[512], path[512], err[ERRLEN];
    make_tmpdir(dir, sizeof dir);
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(path, sizeof path, "%s/damaged.safetensors", dir);
    tg_tensor *a = tg_tensor_new(TG_SHAPE(2, 3)), *b = tg_tensor_new(TG_SHAPE(4));
    tg_named items[] = {{"a", a}, {"b", b}};
    const char *kv[] = {"k", "v"};
    ck_assert_int_eq(tg_safetensors_save(good, 2, items, 1, kv, err, sizeof err), 0);
    size_t n;
    unsigned char *orig = read_bytes(good, &n), *buf = malloc(n);
    for (size_t len = 0; len < n; len++) {
        write_bytes(path, orig, len);
        err[0] = '\0';
        ck_assert_ptr_null(tg_safetensors_open(path, err, sizeof err));
        ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "truncated to %zu: \"%s\"", len,
                      err);
    }
    tg_rng r;
    tg_rng_seed(&r, 11);
    int opened = 0, refused = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, orig, n);
        int flips = 1 + (int)tg_rng_below(&r, 4);
        for (int k = 0; k < flips; k++) {
            /* mostly the header, where the interesting damage is */
            size_t at = tg_rng_below(&r, 4) ? tg_rng_below(&r, 8 + (n - 8) / 2)
                                            : tg_rng_below(&r, n);
            buf[at] = (unsigned char)tg_rng_below(&r, 256);
        }
        write_bytes(path, buf, n);
        err[0] = '\0';
        tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
        if (f) {
            opened++;
            for (int i = 0; i < tg_safetensors_count(f); i++)
                tg_safetensors_get(f, tg_safetensors_name(f, i));
            tg_safetensors_close(f);
        } else {
            refused++;
            ck_assert_msg(err[0] != '\0', "refused without a message");
        }
    }
    ck_assert_int_gt(refused, 1000); /* the damage did reach the checks */
    ck_assert_int_gt(opened, 10);    /* and data bytes changed are still a valid file */
    free(orig);
    free(buf);
    tg_tensor_free(a);
    tg_tensor_free(b);
    remove_tmpdir(dir);
}
END_TEST

/* ---- atomic saves ------------------------------------------------------------ */
START_TEST(atomic_save) {
    char dir[64], path[512], tmp[700], want[1600], err[ERRLEN];
    make_tmpdir(dir, sizeof dir);
    tg_tensor *a = tg_tensor_new(TG_SHAPE(3));
    tg_real av[3] = {1, 2, 3};
    tg_copy_from(a, av);
    tg_named items[] = {{"a", a}};

    /* into a directory that does not exist: a message, nothing created */
    snprintf(path, sizeof path, "%s/no/such/dir/m.safetensors", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_eq(tg_safetensors_save(path, 1, items, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot create %s: No such file or directory", path, tmp);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(dir_entries(dir), 0);

    /* an existing file survives every failed save byte for byte */
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_eq(tg_safetensors_save(path, 1, items, 0, NULL, err, sizeof err), 0);
    size_t n0, n1;
    unsigned char *old = read_bytes(path, &n0), *now;

    tg_tensor *big = tg_tensor_new(TG_SHAPE(64, 1024));
    tg_fill(big, 5);
    tg_named bad[] = {{"a", big}, {"a", a}};
    ck_assert_int_eq(tg_safetensors_save(path, 2, bad, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "tg_safetensors_save: %s: a: duplicate tensor name", path);
    ck_assert_str_eq(err, want);

    /* a write that fails half-way: the file size limit stops the temp file at 4 KB */
    struct rlimit lim, small;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    small = lim;
    small.rlim_cur = 4096;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    tg_named good[] = {{"big", big}};
    int rc = tg_safetensors_save(path, 1, good, 0, NULL, err, sizeof err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    signal(SIGXFSZ, was);
    ck_assert_int_eq(rc, -1);
    snprintf(want, sizeof want, "%s: cannot write %s: File too large", path, tmp);
    ck_assert_str_eq(err, want);

    /* the temporary name is taken by a directory: refused, and it is left alone */
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    ck_assert_int_eq(tg_safetensors_save(path, 1, good, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot create %s: Is a directory", path, tmp);
    ck_assert_str_eq(err, want);
    struct stat st;
    ck_assert_int_eq(stat(tmp, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(rmdir(tmp), 0);

    now = read_bytes(path, &n1);
    ck_assert_uint_eq(n1, n0);
    ck_assert(memcmp(old, now, n0) == 0);
    free(now);
    ck_assert_int_eq(dir_entries(dir), 1); /* no temporary left behind */

    /* the target is a non-empty directory: the rename fails, the temp file goes */
    char sub[600], inner[700];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    write_bytes(inner, "x", 1);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", sub, (long)getpid());
    ck_assert_int_eq(tg_safetensors_save(sub, 1, items, 0, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot rename %s into place: Is a directory", sub, tmp);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(dir_entries(dir), 2); /* m.safetensors and sub */
    ck_assert_int_eq(remove(inner), 0);

    /* and a good save does replace the file */
    ck_assert_int_eq(tg_safetensors_save(path, 1, good, 0, NULL, err, sizeof err), 0);
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_ptr_null(tg_safetensors_get(f, "a"));
    ck_assert_close(tg_at(tg_safetensors_get(f, "big"), 65535), 5, 0);
    tg_safetensors_close(f);

    free(old);
    tg_tensor_free(a);
    tg_tensor_free(big);
    remove_tmpdir(dir);
}
END_TEST

/* ---- a file PyTorch wrote: tests/core/gen_safetensors_fixture.py ------------- */
static void fixture_path(char *buf, size_t n) {
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 1;
    snprintf(buf, n, "%.*s/fixtures/torch_tensors.safetensors", dirlen, slash ? __FILE__ : ".");
}

START_TEST(torch_fixture) {
    char path[512], err[ERRLEN];
    fixture_path(path, sizeof path);
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *order[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                           "hidden_f64", "lengths", "targets_i32", "mask", "bytes_u8", "half",
                           "brain", "scalar", "empty", "transposed"};
    const char *dtype[] = {"F32", "F32", "F32", "F32", "F64", "I64", "I32", "BOOL", "U8", "F16",
                           "BF16", "F32", "F32", "F32"};
    ck_assert_int_eq(tg_safetensors_count(f), 14);
    for (int i = 0; i < 14; i++) {
        ck_assert_str_eq(tg_safetensors_name(f, i), order[i]);
        ck_assert_str_eq(tg_safetensors_dtype(f, order[i]), dtype[i]);
    }
    ck_assert_str_eq(tg_safetensors_meta(f, "format"), "pt");
    ck_assert_str_eq(tg_safetensors_meta(f, "source"), "gen_safetensors_fixture.py");

    /* nn.LSTM(3, 2) after torch.manual_seed(0) */
    const tg_tensor *w = tg_safetensors_get(f, "weight_ih_l0");
    ck_assert_int_eq(w->ndim, 2);
    ck_assert_int_eq(w->shape[0], 8);
    ck_assert_int_eq(w->shape[1], 3);
    ck_assert_close(w->data[0], (tg_real)-0.00529398117f, 0);
    ck_assert_close(w->data[7 * 3 + 2], (tg_real)0.5291363f, 0);
    tg_real bih[8] = {0.0371878482f, -0.362521976f, 0.119631633f, -0.660221875f,
                      -0.510931492f, -0.364534736f, 0.446140498f, 0.4145917f};
    ck_assert_tensor(tg_safetensors_get(f, "bias_ih_l0"), bih, 0);

    tg_real h[6] = {(tg_real)-0.020879472995974358, (tg_real)-0.71848004236003482,
                    (tg_real)0.51863674895103518,  (tg_real)-1.3125219619835629,
                    (tg_real)0.19199507185683629,  (tg_real)0.54277134947277683};
    ck_assert_tensor(tg_safetensors_get(f, "hidden_f64"), h, 0);

    int64_t cnt = 0;
    const int64_t *len = tg_safetensors_get_i64(f, "lengths", &cnt);
    ck_assert_int_eq(cnt, 5);
    int64_t lv[5] = {5, 3, 2, -1, 4000000000};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(len[i], lv[i]);
    tg_real lr[5] = {5, 3, 2, -1, 4000000000.0};
    ck_assert_tensor(tg_safetensors_get(f, "lengths"), lr, 0);
    ck_assert_ptr_null(tg_safetensors_get_i64(f, "targets_i32", &cnt));
    tg_real ti[4] = {1, -2, 3, (tg_real)2147483647.0};
    ck_assert_tensor(tg_safetensors_get(f, "targets_i32"), ti, 0);
    tg_real mask[3] = {1, 0, 1}, u8[3] = {0, 7, 255};
    ck_assert_tensor(tg_safetensors_get(f, "mask"), mask, 0);
    ck_assert_tensor(tg_safetensors_get(f, "bytes_u8"), u8, 0);
    tg_real half[4] = {1.5, -0.333251953125, 65504, (tg_real)5.9604644775390625e-08};
    ck_assert_tensor(tg_safetensors_get(f, "half"), half, 0);
    tg_real brain[2] = {3.140625, (tg_real)-0.00099945068359375};
    ck_assert_tensor(tg_safetensors_get(f, "brain"), brain, 0);
    const tg_tensor *s = tg_safetensors_get(f, "scalar");
    ck_assert_int_eq(s->ndim, 0);
    ck_assert_close(s->data[0], 2.5, 0);
    const tg_tensor *e = tg_safetensors_get(f, "empty");
    ck_assert_int_eq(e->ndim, 2);
    ck_assert_int_eq(e->numel, 0);
    tg_real tr[6] = {0, 3, 1, 4, 2, 5};
    ck_assert_tensor(tg_safetensors_get(f, "transposed"), tr, 0);

    /* load the LSTM state dict into parameters ... */
    tg_tensor *p[5] = {tg_param_new(TG_SHAPE(8, 3)), tg_param_new(TG_SHAPE(8, 2)),
                       tg_param_new(TG_SHAPE(8)), tg_param_new(TG_SHAPE(8)),
                       tg_tensor_new(TG_SHAPE(2, 3))};
    tg_named sd[] = {{"weight_ih_l0", p[0]}, {"weight_hh_l0", p[1]}, {"bias_ih_l0", p[2]},
                     {"bias_hh_l0", p[3]}, {"hidden_f64", p[4]}};
    ck_assert_int_eq(tg_safetensors_load_into(path, 5, sd, err, sizeof err), 0);
    ck_assert_close(p[1]->data[3 * 2 + 1], (tg_real)0.610940814f, 0);
    ck_assert_close(p[3]->data[7], (tg_real)-0.416346133f, 0);
    ck_assert_tensor(p[2], bih, 0);
    ck_assert_tensor(p[4], h, 0);

    /* ... and write them back as F32: the bytes are exactly PyTorch's */
    char dir[64], out[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/back.safetensors", dir);
    ck_assert_int_eq(tg_safetensors_save_as(out, "F32", 4, sd, 0, NULL, err, sizeof err), 0);
    size_t na, nb;
    unsigned char *ta = read_bytes(path, &na), *tb = read_bytes(out, &nb);
    uint64_t ha = 0, hb = 0;
    for (int i = 7; i >= 0; i--) ha = ha << 8 | ta[i], hb = hb << 8 | tb[i];
    ck_assert_uint_eq(nb, 8 + hb + 224);
    ck_assert(memcmp(ta + 8 + ha, tb + 8 + hb, 224) == 0); /* the four LSTM tensors */
    free(ta);
    free(tb);
    for (int i = 0; i < 5; i++) tg_tensor_free(p[i]);
    tg_safetensors_close(f);
    remove_tmpdir(dir);
}
END_TEST

TCase *tcase_safetensors(void) {
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, save_bad_args);
    tcase_add_test(tc, load_into_mismatch);
    tcase_add_test(tc, other_dtypes);
    tcase_add_test(tc, corrupt_files);
    tcase_add_test(tc, damaged_files_never_crash);
    tcase_add_test(tc, atomic_save);
    tcase_add_test(tc, torch_fixture);
    return tc;
}
