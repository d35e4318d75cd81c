/* tapegrad train on 2 processes against 1 (a build with MPI=1, run by
 * `make test-mpi`): the same spec must give the same parameters, optimizer
 * state and carried state, up to the order of float sums; a resumed run on
 * a different number of processes must equal an uninterrupted one; a rank
 * that dies must end the job quickly with its last checkpoint intact. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "tapegrad.h"

#ifdef TG_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-5
#endif

#ifndef MPIRUN
#define MPIRUN "mpirun --oversubscribe"
#endif

/* Adam with clipping, 20 steps; batches of 7 or 15, which 2 processes
 * cannot split evenly. No dropout: masks differ per rank by design. */
#define OPT "\"optimizer\": {\"type\": \"adam\", \"lr\": 0.003, \"clip_norm\": 0.5},\n"
#define TRAIN(b)                                                                                   \
    "\"train\": {\"batch\": " #b                                                                   \
    ", \"seq_len\": 16, \"steps\": 20, \"eval_every\": 10, \"log_every\": 5, "                     \
    "\"checkpoint_every\": 5, \"valid_fraction\": 0.1, \"seed\": 5}}\n"

static const char LM[] =
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
    "   {\"type\": \"lstm\", \"hidden\": 32, \"num_layers\": 2}, {\"type\": \"linear\", \"out\": "
    "\"vocab\"}]},\n " OPT " " TRAIN(7);

static const char CLASSIFY[] =
    "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8, \"padding_idx\": 0},\n"
    "   {\"type\": \"lstm\", \"hidden\": 16}, {\"type\": \"linear\", \"out\": 2}]},\n " OPT
    " " TRAIN(15);

static const char TREE[] =
    "{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
    "   {\"type\": \"tree_lstm\", \"hidden\": 16}, {\"type\": \"linear\", \"out\": 2}]},\n " OPT
    " " TRAIN(15);

static const char SEQ2SEQ[] =
    "{\"tapegrad\": 1, \"task\": \"seq2seq\",\n"
    " \"input\": {\"type\": \"tokens\", \"source\": \"chars\", \"target\": \"spaces\"},\n"
    " \"model\": {\"encoder\": {\"type\": \"gru\", \"embedding\": 16, \"hidden\": 16,\n"
    "   \"bidirectional\": true}, \"decoder\": {\"hidden\": 16}, \"attention\": \"general\"},\n"
    " " OPT " " TRAIN(15);

typedef struct run_dir {
    char dir[256], spec[300], data[300];
} run_dir;

static const char *WORDS[] = {"the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "it"};

/* A tree over a few leaves, labelled 1 when an "x" is below. */
static int tree(tg_rng *r, int d, FILE *f) {
    if (d == 0 || tg_rng_below(r, 4) == 0) {
        int x = tg_rng_below(r, 5) == 0;
        fprintf(f, "(%d %s)", x, x ? "x" : WORDS[tg_rng_below(r, 10)]);
        return x;
    }
    char buf[4096];
    FILE *kids = fmemopen(buf, sizeof buf, "w");
    int any = 0, n = 1 + (int)tg_rng_below(r, 3);
    for (int k = 0; k < n; k++) fputc(' ', kids), any |= tree(r, d - 1, kids);
    fclose(kids);
    fprintf(f, "(%d%s)", any, buf);
    return any;
}

/* The spec and a data file for its task (lengths vary: padding counts). */
static void setup(run_dir *d, const char *spec) {
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "spec.json");
    cli_path(d->data, sizeof d->data, d->dir, "data.txt");
    cli_write(d->spec, spec);
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 11);
    for (int i = 0; i < 400; i++) {
        int n = 1 + (int)tg_rng_below(&r, 6);
        if (spec == TREE) {
            tree(&r, 4, f), fputc('\n', f);
            continue;
        }
        if (spec == SEQ2SEQ) { /* digits reversed */
            char s[8];
            for (int k = 0; k < n; k++) s[k] = (char)('0' + tg_rng_below(&r, 10));
            fprintf(f, "%.*s\t", n, s);
            for (int k = n - 1; k >= 0; k--) fprintf(f, "%c%s", s[k], k ? " " : "\n");
            continue;
        }
        int pos = (int)tg_rng_below(&r, 2);
        if (spec == CLASSIFY) fprintf(f, "%s\t", pos ? "pos" : "neg");
        for (int k = 0; k < n; k++)
            fprintf(f, "%s%s", k ? " " : "",
                    k == n / 2 && spec == CLASSIFY ? (pos ? "good" : "bad")
                                                   : WORDS[tg_rng_below(&r, 10)]);
        fputs(spec == CLASSIFY ? "\n" : ". ", f);
    }
    fclose(f);
}

/* tapegrad train on np processes (0: without mpirun) into ckpt; more:
 * extra options. Returns the output (owned); asserts the status. */
static cli_out train(const run_dir *d, int np, const char *ckpt, const char *more, int want) {
    char cmd[2048], mpi[256] = "";
    if (geteuid() == 0)
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1), setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    if (np) snprintf(mpi, sizeof mpi, "%s -np %d ", MPIRUN, np);
    snprintf(cmd, sizeof cmd, "%s%s train %s --data %s --checkpoint %s/%s --threads 1 %s", mpi,
             cli_binary(), d->spec, d->data, d->dir, ckpt, more ? more : "");
    cli_out o = cli_exec_sh((const char *[]){"-c", cmd, NULL});
    ck_assert_msg(o.status == want, "%s: status %d\n%s\n%s", cmd, o.status, o.out, o.err);
    return o;
}

/* Every tensor of checkpoint a equals b's within TOL. */
static void same_ckpt(const run_dir *d, const char *a, const char *b) {
    char pa[300], pb[300], err[256];
    tg_st_file *fa = tg_safetensors_open(cli_path(pa, sizeof pa, d->dir, a), err, sizeof err);
    ck_assert_msg(fa != NULL, "%s", err);
    tg_st_file *fb = tg_safetensors_open(cli_path(pb, sizeof pb, d->dir, b), err, sizeof err);
    ck_assert_msg(fb != NULL, "%s", err);
    ck_assert_int_eq(tg_safetensors_count(fa), tg_safetensors_count(fb));
    ck_assert_str_eq(tg_safetensors_meta(fa, "tapegrad.cli.step"),
                     tg_safetensors_meta(fb, "tapegrad.cli.step"));
    for (int i = 0; i < tg_safetensors_count(fa); i++) {
        const char *name = tg_safetensors_name(fa, i);
        const tg_tensor *x = tg_safetensors_get(fa, name), *y = tg_safetensors_get(fb, name);
        ck_assert_msg(y != NULL, "%s: no %s", b, name);
        if (!x) continue; /* not a real tensor (ids) */
        ck_assert_msg(tg_same_shape(x, y), "%s: shapes differ", name);
        double worst = 0;
        for (int64_t j = 0; j < x->numel; j++)
            worst = fmax(worst, fabs((double)x->data[j] - (double)y->data[j]));
        ck_assert_msg(worst <= TOL, "%s vs %s: %s differs by %g", a, b, name, worst);
    }
    tg_safetensors_close(fa);
    tg_safetensors_close(fb);
}

static void two_vs_one(const char *spec) {
    run_dir d;
    setup(&d, spec);
    cli_out one = train(&d, 0, "one.safetensors", NULL, 0);
    cli_out two = train(&d, 2, "two.safetensors", NULL, 0);
    same_ckpt(&d, "one.safetensors", "two.safetensors");
    /* one process alone talks: the report once, the exchange's figures */
    ck_assert_int_eq(cli_count(two.out, "done: 20 steps"), 1);
    ck_assert_int_eq(cli_count(two.out, "exchange: 2 processes"), 1);
    double v1 = cli_value(one.out, "final validation loss"),
           v2 = cli_value(two.out, "final validation loss");
    ck_assert_double_eq_tol(v1, v2, 1e-4);
    cli_out_free(&one), cli_out_free(&two);
    cli_rmdir(d.dir);
}

START_TEST(lm_two_vs_one) {
    two_vs_one(LM);
}
END_TEST

START_TEST(classify_two_vs_one) {
    two_vs_one(CLASSIFY);
}
END_TEST

START_TEST(tree_two_vs_one) {
    two_vs_one(TREE);
}
END_TEST

START_TEST(seq2seq_two_vs_one) {
    two_vs_one(SEQ2SEQ);
}
END_TEST

/* 10 steps on `first` processes, --resume to 20 on `then`: equal to 20 on
 * `then` without a break (the LM: its carried streams are re-split). */
static void resume_across(const char *spec, int first, int then) {
    run_dir d;
    setup(&d, spec);
    char more[400];
    cli_out u = train(&d, then, "whole.safetensors", NULL, 0);
    cli_out a = train(&d, first, "part.safetensors", "--steps 10", 0);
    snprintf(more, sizeof more, "--resume %s/part.safetensors", d.dir);
    cli_out b = train(&d, then, "part.safetensors", more, 0);
    same_ckpt(&d, "whole.safetensors", "part.safetensors");
    cli_out_free(&u), cli_out_free(&a), cli_out_free(&b);
    cli_rmdir(d.dir);
}

START_TEST(lm_resume_2_then_1) {
    resume_across(LM, 2, 1);
}
END_TEST

START_TEST(lm_resume_1_then_3) {
    resume_across(LM, 1, 3);
}
END_TEST

START_TEST(classify_resume_3_then_2) {
    resume_across(CLASSIFY, 3, 2);
}
END_TEST

/* The split rule (cli_dist_share): the first B mod N ranks take one more. */
START_TEST(batch_share_rule) {
    run_dir d;
    setup(&d, LM);
    cli_out o = train(&d, 3, "three.safetensors", NULL, 0);
    cli_out one = train(&d, 0, "one.safetensors", NULL, 0);
    same_ckpt(&d, "one.safetensors", "three.safetensors");
    cli_out_free(&o), cli_out_free(&one);
    /* more processes than sequences: refused with the reason, every rank stops */
    cli_out e = train(&d, 8, "eight.safetensors", NULL, 1);
    ck_assert_msg(strstr(e.err, "7 sequences cannot be shared by 8 processes"), "%s", e.err);
    cli_out_free(&e);
    cli_rmdir(d.dir);
}
END_TEST

/* The children of pid (mpirun's ranks). */
static int children(pid_t pid, pid_t *out, int max) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    int n = 0, v;
    while (f && n < max && fscanf(f, "%d", &v) == 1) out[n++] = v;
    if (f) fclose(f);
    return n;
}

static void nap(double s) {
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A rank killed mid-run: the job ends non-zero within seconds, and the
 * checkpoint on disk (every 5 steps) loads and resumes. */
START_TEST(rank_killed) {
    run_dir d;
    setup(&d, LM);
    char cmd[1024], ckpt[300];
    cli_path(ckpt, sizeof ckpt, d.dir, "k.safetensors");
    if (geteuid() == 0)
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1), setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    snprintf(cmd, sizeof cmd,
             "exec %s -np 2 %s train %s --data %s --checkpoint %s --threads 1 --steps 1000000",
             MPIRUN, cli_binary(), d.spec, d.data, ckpt);
    pid_t job = fork();
    ck_assert_int_ge(job, 0);
    if (job == 0) {
        freopen("/dev/null", "w", stdout), freopen("/dev/null", "w", stderr);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    double t0 = now();
    while (access(ckpt, F_OK) != 0 && now() - t0 < 60) nap(0.02);
    ck_assert_msg(access(ckpt, F_OK) == 0, "no checkpoint after 60 s");
    nap(0.2);
    pid_t kids[8];
    int n = children(job, kids, 8);
    ck_assert_int_ge(n, 2);
    kill(kids[1], SIGKILL);
    double t1 = now();
    int st = 0;
    while (waitpid(job, &st, WNOHANG) == 0 && now() - t1 < 30) nap(0.02);
    double took = now() - t1;
    if (took >= 30) kill(job, SIGKILL), waitpid(job, &st, 0);
    ck_assert_msg(took < 10, "the job took %.1f s to end", took);
    ck_assert_msg(!WIFEXITED(st) || WEXITSTATUS(st) != 0, "the job ended with status 0");
    cli_out e = cli_exec((const char *[]){"eval", d.spec, "--checkpoint", ckpt, NULL});
    ck_assert_msg(e.status == 0, "eval of the checkpoint left behind: %s", e.err);
    cli_out_free(&e);
    cli_rmdir(d.dir);
}
END_TEST

/* Bad data under mpirun: every rank stops, with the message, no hang. */
START_TEST(bad_data_stops_all) {
    run_dir d;
    setup(&d, CLASSIFY);
    cli_write(d.data, "pos\tgood\nno tab on this line\n");
    double t0 = now();
    cli_out o = train(&d, 2, "bad.safetensors", NULL, 1);
    ck_assert_msg(strstr(o.err, "data.txt:2"), "%s", o.err);
    ck_assert_double_lt(now() - t0, 20);
    cli_out_free(&o);
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_mpi(void) {
    TCase *tc = tcase_create("mpi");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, lm_two_vs_one);
    tcase_add_test(tc, classify_two_vs_one);
    tcase_add_test(tc, tree_two_vs_one);
    tcase_add_test(tc, seq2seq_two_vs_one);
    tcase_add_test(tc, lm_resume_2_then_1);
    tcase_add_test(tc, lm_resume_1_then_3);
    tcase_add_test(tc, classify_resume_3_then_2);
    tcase_add_test(tc, batch_share_rule);
    tcase_add_test(tc, rank_killed);
    tcase_add_test(tc, bad_data_stops_all);
    return tc;
}
