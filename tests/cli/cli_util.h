/* Helpers for the tests of the tapegrad command: run the binary of this
 * build (its path comes from the Makefile as TAPEGRAD_BIN; the environment
 * variable of the same name overrides it) and capture what it prints. */
#ifndef TG_TEST_CLI_UTIL_H
#define TG_TEST_CLI_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "testutil.h" /* test_read_file */

typedef struct cli_out {
    int status; /* exit status, or 128 + signal */
    char *out;  /* stdout and stderr, NUL-terminated (owned) */
    char *err;
} cli_out;

/* Runs tapegrad with the NULL-terminated args (without argv[0]; stdin is
 * /dev/null) and waits. */
cli_out cli_exec(const char *const *args);
/* cli_exec that asserts the exit status (printing both streams if not). */
cli_out cli_run(const char *const *args, int want);
/* cli_run for a run that must fail: stderr must contain err_has. */
void cli_expect_err(const char *const *args, int want, const char *err_has);
/* The same for /bin/sh with args (a script and its arguments). */
cli_out cli_exec_sh(const char *const *args);
void cli_out_free(cli_out *o);
/* The path of the tapegrad binary under test. */
const char *cli_binary(void);
/* Starts tapegrad in the background; stdout and stderr go to files in dir.
 * Returns the pid. */
pid_t cli_spawn(const char *const *args, const char *dir);
/* Waits for pid; its exit status (128 + signal if killed). */
int cli_wait(pid_t pid);

/* A fresh directory under /tmp (path owned by the caller's buffer), and
 * its removal with everything in it. */
void cli_tmpdir(char *buf, size_t n);
void cli_rmdir(const char *dir);
/* dir/name into buf; returns buf. */
const char *cli_path(char *buf, size_t n, const char *dir, const char *name);
/* Writes text to path. */
void cli_write(const char *path, const char *text);
/* Whether two files have the same bytes. */
bool cli_same_file(const char *a, const char *b);
/* The largest |x - y| over the tensors of two checkpoints with the same
 * names and shapes (INFINITY when either will not open or they differ in
 * names or shapes). */
double cli_checkpoint_diff(const char *a, const char *b);
/* How many times needle occurs in text (without overlaps). */
int cli_count(const char *text, const char *needle);
/* Trains spec on data for `steps` steps in one run, and again in two (to
 * step `first`, then --resume to `steps`), each into a checkpoint in dir;
 * whether both runs succeeded and wrote the same bytes. */
bool cli_resume_same(const char *spec, const char *data, const char *dir, int first, int steps);
/* The number after "key " on a line of text (e.g. eval's "loss 1.23"), or
 * NAN. */
double cli_value(const char *text, const char *key);

#endif
