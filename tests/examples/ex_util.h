/* Helpers for the fast variants of the examples: a scratch directory, and
 * running the tapegrad binary of this build, which trains the examples'
 * specs on small made-up data. */
#ifndef TG_TEST_EX_UTIL_H
#define TG_TEST_EX_UTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The tapegrad binary of this build: $TAPEGRAD_BIN, else the Makefile's
 * TAPEGRAD_BIN, else ../tapegrad next to this test program (the build
 * directory's layout: $(BUILD)/tests/test_examples, $(BUILD)/tapegrad).
 * Fails the test if it is not there. */
static inline const char *ex_tapegrad(void) {
    static char path[4096];
    const char *env = getenv("TAPEGRAD_BIN");
    if (env && *env) snprintf(path, sizeof path, "%s", env);
#ifdef TAPEGRAD_BIN
    else
        snprintf(path, sizeof path, "%s", TAPEGRAD_BIN);
#else
    else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
        path[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(path, '/');
        if (slash) *slash = '\0'; /* .../tests */
        slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, 16, "tapegrad");
    }
#endif
    ck_assert_msg(access(path, X_OK) == 0, "%s is not built (make tapegrad)", path);
    return path;
}

/* Runs argv (argv[0]: the program's path; NULL-terminated) with its
 * standard output in out_path and standard error in dir/stderr (NULL:
 * discarded); returns the exit status (128 + signal if killed). */
static inline int ex_run(const char *const *argv, const char *out_path, const char *dir) {
    char err_path[512] = "/dev/null";
    if (dir) snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0) _exit(127);
        dup2(o, 1), dup2(e, 2), dup2(in, 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The number after "key " in text (eval's "accuracy 0.93"), or -1. */
static inline double ex_value(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *p = text; p && (p = strstr(p, key)); p += k)
        if ((p == text || p[-1] == '\n') && p[k] == ' ') return atof(p + k + 1);
    return -1;
}

/* A fresh directory under /tmp, and its removal (its files only: the
 * tests write no subdirectories). */
static inline void ex_tmpdir(char *buf, size_t n) {
    snprintf(buf, n, "/tmp/tg-examples-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static inline void ex_rmdir(const char *dir) {
    const char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    ex_run(argv, NULL, NULL);
}

static inline const char *ex_path(char *buf, size_t n, const char *dir, const char *name) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

#endif
