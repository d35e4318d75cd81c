/* tg_read_stream: whole streams, growing past its first buffer, and the
 * limit a reader sets for files too large to be its own; tg_read_file:
 * the same by path, and why it failed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

START_TEST(reads_whole_streams) {
    enum { N = 200000 }; /* past the first 64 KiB buffer, twice */
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < N; i++) fputc('a' + i % 26, f);
    rewind(f);
    size_t len = 0;
    char *s = tg_read_stream(f, 0, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, N);
    ck_assert_int_eq(s[N], '\0');
    for (int i = 0; i < N; i++) ck_assert_int_eq(s[i], 'a' + i % 26);
    free(s);
    /* with a limit it stops once past it, and says how far it got */
    rewind(f);
    s = tg_read_stream(f, 1000, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_gt(len, 1000);
    ck_assert_uint_lt(len, N);
    free(s);
    /* an empty stream is an empty string */
    fclose(f);
    f = tmpfile();
    s = tg_read_stream(f, 0, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(s, "");
    free(s);
    fclose(f);
}
END_TEST

START_TEST(reads_whole_files) {
    char path[] = "/tmp/tg_read_fileXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("two\nlines\n", f);
    fclose(f);
    size_t len = 7;
    tg_read_error why = {0};
    char *s = tg_read_file(path, 0, &len, &why);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(s, "two\nlines\n");
    free(s);
    remove(path);
    /* a file that is not there: why says it would not open, and errno */
    s = tg_read_file(path, 0, &len, &why);
    ck_assert_ptr_null(s);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(why.what, TG_READ_OPEN);
    ck_assert_int_eq(why.errnum, ENOENT);
    /* a directory opens but cannot be read */
    s = tg_read_file("/tmp", 0, &len, &why);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(why.what, TG_READ_IO);
    ck_assert_int_eq(why.errnum, EISDIR);
}
END_TEST

TCase *tcase_file(void) {
    TCase *tc = tcase_create("file");
    tcase_add_test(tc, reads_whole_streams);
    tcase_add_test(tc, reads_whole_files);
    return tc;
}
