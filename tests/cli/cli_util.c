/* See cli_util.h. */
#include "cli_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tapegrad.h"

#ifndef TAPEGRAD_BIN
#define TAPEGRAD_BIN "tapegrad"
#endif

const char *cli_binary(void) {
    const char *b = getenv("TAPEGRAD_BIN");
    return b && *b ? b : TAPEGRAD_BIN;
}

/* Runs prog (NULL: tapegrad) with args. */
static pid_t start(const char *prog, const char *const *args, const char *out_path,
                   const char *err_path) {
    const char *argv[64];
    int n = 0;
    argv[n++] = prog ? prog : cli_binary();
    while (args[n - 1] && n < 63) argv[n] = args[n - 1], n++;
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0) _exit(127);
        dup2(o, 1), dup2(e, 2), dup2(in, 0);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int cli_wait(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static cli_out exec_prog(const char *prog, const char *const *args) {
    char dir[256], o[300], e[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(o, sizeof o, dir, "stdout");
    cli_path(e, sizeof e, dir, "stderr");
    cli_out r;
    r.status = cli_wait(start(prog, args, o, e));
    r.out = test_read_file(o);
    r.err = test_read_file(e);
    cli_rmdir(dir);
    return r;
}

cli_out cli_exec(const char *const *args) {
    return exec_prog(NULL, args);
}

cli_out cli_exec_sh(const char *const *args) {
    return exec_prog("/bin/sh", args);
}

void cli_out_free(cli_out *o) {
    free(o->out);
    free(o->err);
}

pid_t cli_spawn(const char *const *args, const char *dir) {
    char o[300], e[300];
    return start(NULL, args, cli_path(o, sizeof o, dir, "stdout"),
                 cli_path(e, sizeof e, dir, "stderr"));
}

void cli_tmpdir(char *buf, size_t n) {
    snprintf(buf, n, "/tmp/tapegrad-cli-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

void cli_rmdir(const char *dir) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) cli_wait(pid);
}

const char *cli_path(char *buf, size_t n, const char *dir, const char *name) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

void cli_write(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

bool cli_same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = false;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

double cli_checkpoint_diff(const char *a, const char *b) {
    char err[256];
    tg_st_file *fa = tg_safetensors_open(a, err, sizeof err);
    tg_st_file *fb = tg_safetensors_open(b, err, sizeof err);
    double worst = fa && fb && tg_safetensors_count(fa) == tg_safetensors_count(fb) ? 0 : INFINITY;
    for (int i = 0; worst < INFINITY && i < tg_safetensors_count(fa); i++) {
        const char *name = tg_safetensors_name(fa, i);
        const tg_tensor *x = tg_safetensors_get(fa, name), *y = tg_safetensors_get(fb, name);
        if (!x && !y) continue; /* integers (steps, data position): cli_same_file's job */
        if (!x || !y || x->numel != y->numel) {
            worst = INFINITY;
            break;
        }
        for (int64_t k = 0; k < x->numel; k++) worst = fmax(worst, fabs(x->data[k] - y->data[k]));
    }
    if (fa) tg_safetensors_close(fa);
    if (fb) tg_safetensors_close(fb);
    return worst;
}

bool cli_resume_same(const char *spec, const char *data, const char *dir, int first, int steps) {
    char a[512], b[512], n[16], k[16];
    cli_path(a, sizeof a, dir, "whole.safetensors");
    cli_path(b, sizeof b, dir, "halves.safetensors");
    snprintf(n, sizeof n, "%d", steps);
    snprintf(k, sizeof k, "%d", first);
    const char *whole[] = {"train", spec, "--data", data, "--steps", n, "--checkpoint", a, NULL};
    const char *half[] = {"train", spec, "--data", data, "--steps", k, "--checkpoint", b, NULL};
    const char *rest[] = {"train", spec, "--steps", n, "--resume", b, NULL};
    const char *const *runs[] = {whole, half, rest};
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        cli_out r = cli_exec(runs[i]);
        if (r.status != 0) fprintf(stderr, "cli_resume_same: run %d: %s", i, r.err);
        ok = ok && r.status == 0;
        cli_out_free(&r);
    }
    return ok && cli_same_file(a, b);
}

double cli_value(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == ' ') return strtod(p + k + 1, NULL);
    return NAN;
}

int cli_count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

cli_out cli_run(const char *const *args, int want) {
    cli_out r = cli_exec(args);
    ck_assert_msg(r.status == want, "%s: status %d (want %d)\n%s\n%s", args[0], r.status, want,
                  r.out, r.err);
    return r;
}

void cli_expect_err(const char *const *args, int want, const char *err_has) {
    cli_out r = cli_run(args, want);
    ck_assert_msg(strstr(r.err, err_has) != NULL, "stderr lacks '%s':\n%s", err_has, r.err);
    cli_out_free(&r);
}
