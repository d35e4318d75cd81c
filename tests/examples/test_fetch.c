/* The fetch scripts' shared halves (examples/data/npm-fetch.sh and
 * apt-fetch.sh): when npm or apt-get fails, the reason it gave is shown.
 * npm and apt-get are stand-ins on PATH that fail as the real ones do for a
 * package that does not exist; the real npm is asked too when it is there
 * (its reason then depends on the network: not found, or no route). */
#include <check.h>
#include <sys/stat.h>

#include "ex_util.h"
#include "testutil.h"

/* An executable script at dir/name. */
static void tool(const char *dir, const char *name, const char *body) {
    char p[512];
    ex_path(p, sizeof p, dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(p, 0755);
}

/* Runs sh SCRIPT args... with dir's stand-ins first on PATH (when bin);
 * returns the status, stderr in *err (owned). */
static int run_script(const char *const *argv, const char *dir, const char *bin, char **err) {
    char path[8192], e[512];
    const char *old = getenv("PATH");
    if (bin) {
        snprintf(path, sizeof path, "%s:%s", bin, old ? old : "/usr/bin:/bin");
        setenv("PATH", path, 1);
    }
    int st = ex_run(argv, NULL, dir);
    if (bin) setenv("PATH", old ? old : "/usr/bin:/bin", 1);
    *err = test_read_file(ex_path(e, sizeof e, dir, "stderr"));
    ck_assert_ptr_nonnull(*err);
    return st;
}

/* A scratch directory with bin/ (for stand-ins) and work/ (the script's). */
static void scratch(char dir[256], char bin[300], char work[300]) {
    ex_tmpdir(dir, 256);
    ex_path(bin, 300, dir, "bin");
    ex_path(work, 300, dir, "work");
    mkdir(bin, 0755), mkdir(work, 0755);
}

START_TEST(npm_reason_shown) {
    char dir[256], bin[300], work[300];
    scratch(dir, bin, work);
    tool(bin, "npm",
         "echo 'npm ERR! code E404' >&2\n"
         "echo 'npm ERR! 404 Not Found - GET https://registry.npmjs.org/@tapegrad%2fno-such' >&2\n"
         "exit 1\n");
    const char *argv[] = {"/bin/sh",    "examples/data/npm-fetch.sh",
                          "fetch-test", "@tapegrad/no-such@1.0.0",
                          "0000",       work,
                          NULL};
    char *err;
    ck_assert_int_eq(run_script(argv, dir, bin, &err), 1);
    ck_assert_msg(strstr(err, "fetch-test: npm pack @tapegrad/no-such@1.0.0 failed; npm said:\n"
                              "  npm ERR! code E404\n  npm ERR! 404 Not Found - GET "),
                  "%s", err);
    free(err);
    ex_rmdir(dir);
}
END_TEST

START_TEST(real_npm_reason_shown) {
    if (system("command -v npm >/dev/null 2>&1") != 0) return; /* no npm: nothing to ask */
    char dir[256], work[300];
    ex_tmpdir(dir, sizeof dir);
    ex_path(work, sizeof work, dir, "work");
    mkdir(work, 0755);
    const char *argv[] = {"/bin/sh",    "examples/data/npm-fetch.sh",
                          "fetch-test", "@tapegrad-tests/no-such-package@0.0.1",
                          "0000",       work,
                          NULL};
    char *err;
    ck_assert_int_eq(run_script(argv, dir, NULL, &err), 1);
    ck_assert_msg(strstr(err, "failed; npm said:\n  npm "), "%s", err);
    /* E404 (not found), or ENOTFOUND / EAI_AGAIN / ECONNREFUSED offline */
    ck_assert_msg(strstr(err, " code E"), "no npm error code in:\n%s", err);
    free(err);
    ex_rmdir(dir);
}
END_TEST

START_TEST(apt_reason_shown) {
    char dir[256], bin[300], work[300];
    scratch(dir, bin, work);
    /* download fails as for an unknown package; update succeeds */
    tool(bin, "apt-get",
         "[ \"$1\" = download ] || exit 0\n"
         "echo \"E: Unable to locate package $2\" >&2\nexit 100\n");
    tool(bin, "sudo", "exec \"$@\"\n"); /* not root: the script's sudo runs the stand-in */
    const char *argv[] = {"/bin/sh", "examples/data/apt-fetch.sh", "fetch-test",
                          work,      "no-such-package-xyz",        NULL};
    char *err;
    ck_assert_int_eq(run_script(argv, dir, bin, &err), 1);
    ck_assert_msg(strstr(err, "fetch-test: apt-get download no-such-package-xyz failed; apt-get "
                              "said:\n  E: Unable to locate package no-such-package-xyz\n"),
                  "%s", err);
    free(err);
    ex_rmdir(dir);
}
END_TEST

TCase *tcase_fetch(void) {
    TCase *tc = tcase_create("fetch");
    tcase_add_test(tc, npm_reason_shown);
    tcase_add_test(tc, real_npm_reason_shown);
    tcase_add_test(tc, apt_reason_shown);
    return tc;
}
