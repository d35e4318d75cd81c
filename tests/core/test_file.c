/* tg_read_stream: whole streams, growing past its first buffer, and the
 * limit a reader sets for files too large to be its own. */
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

TCase *tcase_file(void) {
    TCase *tc = tcase_create("file");
    tcase_add_test(tc, reads_whole_streams);
    return tc;
}
