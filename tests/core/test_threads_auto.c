/* tg_threads_auto: a step loop's thread count beside other processes,
 * decided from readings fed as numbers (runnable tasks on the machine,
 * this process's own), so no real load is needed; then /proc's text, and
 * one real reading. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/kernels.h"
#include "testutil.h"

/* Feeds `n` readings of `others` busy tasks besides this process's one
 * running thread; returns the last decision. */
static int feed(tg_threads_auto *a, int others, int n) {
    int got = -1;
    for (int i = 0; i < n; i++) got = tg_threads_auto_decide(a, 1 + others, 1);
    return got;
}

START_TEST(quiet_machine_keeps_every_thread) {
    tg_threads_auto a;
    tg_threads_auto_init(&a, 2, 2);
    ck_assert_int_eq(a.current, 2);
    ck_assert_int_eq(feed(&a, 0, 20), 2);
    /* this process's own spinning threads are not a neighbour */
    ck_assert_int_eq(tg_threads_auto_decide(&a, 2, 2), 2);
    /* own counted above runnable (two reads apart): no one else */
    ck_assert_int_eq(tg_threads_auto_decide(&a, 1, 3), 2);
}
END_TEST

START_TEST(busy_neighbour_at_first_read_means_one_thread) {
    tg_threads_auto a;
    tg_threads_auto_init(&a, 2, 2);
    ck_assert_int_eq(tg_threads_auto_decide(&a, 2, 1), 1); /* no history: the read decides */
    ck_assert_int_eq(feed(&a, 1, 20), 1);
    /* four cores, one neighbour: three threads of four */
    tg_threads_auto_init(&a, 4, 4);
    ck_assert_int_eq(feed(&a, 1, 3), 3);
    /* a crowd leaves at least one */
    tg_threads_auto_init(&a, 2, 2);
    ck_assert_int_eq(feed(&a, 10, 1), 1);
}
END_TEST

START_TEST(falls_when_two_of_three_reads_say_so) {
    tg_threads_auto a;
    tg_threads_auto_init(&a, 2, 2);
    ck_assert_int_eq(feed(&a, 0, 1), 2);
    ck_assert_int_eq(feed(&a, 1, 1), 2); /* one busy read of two: not yet */
    ck_assert_int_eq(feed(&a, 1, 1), 1); /* two of three */
    /* a single blip among quiet reads changes nothing */
    tg_threads_auto_init(&a, 2, 2);
    feed(&a, 0, 5);
    ck_assert_int_eq(feed(&a, 1, 1), 2);
    ck_assert_int_eq(feed(&a, 0, 1), 2);
    ck_assert_int_eq(feed(&a, 0, 1), 2);
    /* busy, quiet, busy: two of three */
    ck_assert_int_eq(feed(&a, 1, 1), 2);
    ck_assert_int_eq(feed(&a, 0, 1), 2);
    ck_assert_int_eq(feed(&a, 1, 1), 1);
}
END_TEST

START_TEST(rises_only_after_a_calm_streak) {
    tg_threads_auto a;
    tg_threads_auto_init(&a, 2, 2);
    ck_assert_int_eq(feed(&a, 1, 3), 1);
    ck_assert_int_eq(feed(&a, 0, 7), 1);
    ck_assert_int_eq(feed(&a, 0, 1), 2); /* the eighth calm read */
    /* a busy read inside the streak starts it again */
    tg_threads_auto_init(&a, 2, 2);
    feed(&a, 1, 3);
    feed(&a, 0, 6);
    ck_assert_int_eq(feed(&a, 1, 1), 1);
    ck_assert_int_eq(feed(&a, 0, 7), 1);
    ck_assert_int_eq(feed(&a, 0, 1), 2);
    /* it rises to what every read of the streak had room for */
    tg_threads_auto_init(&a, 4, 4);
    ck_assert_int_eq(feed(&a, 3, 1), 1);
    feed(&a, 0, 4);
    feed(&a, 1, 1);
    ck_assert_int_eq(feed(&a, 0, 3), 3);
    ck_assert_int_eq(feed(&a, 0, 8), 4);
}
END_TEST

START_TEST(max_caps_the_count) {
    tg_threads_auto a;
    tg_threads_auto_init(&a, 2, 8);
    ck_assert_int_eq(feed(&a, 0, 10), 2);
    ck_assert_int_eq(feed(&a, 5, 10), 2); /* 3 cores free still > 2 */
    ck_assert_int_eq(feed(&a, 7, 3), 1);
    tg_threads_auto_init(&a, 0, 0); /* nonsense sizes: one thread on one core */
    ck_assert_int_eq(a.max, 1);
    ck_assert_int_eq(a.cores, 1);
    ck_assert_int_eq(feed(&a, 0, 3), 1);
}
END_TEST

START_TEST(no_reading_or_fixed_changes_nothing) {
    tg_threads_auto a;
    tg_threads_auto_init(&a, 2, 2);
    ck_assert_int_eq(tg_threads_auto_decide(&a, -1, -1), 2);
    ck_assert_int_eq(tg_threads_auto_decide(&a, 3, -1), 2);
    ck_assert_int_eq(a.reads, 0);
    a.fixed = true;
    ck_assert_int_eq(feed(&a, 1, 10), 2);
}
END_TEST

START_TEST(reads_proc_text) {
    ck_assert_int_eq(tg__proc_runnable("0.37 0.17 0.30 1/92 17183\n"), 1);
    ck_assert_int_eq(tg__proc_runnable("12.00 9.50 8.25 14/1203 99"), 14);
    ck_assert_int_eq(tg__proc_runnable("0.37 0.17"), -1);
    ck_assert_int_eq(tg__proc_runnable(NULL), -1);
    ck_assert_int_eq(tg__proc_task_running("17183 (tapegrad) R 1 17183 0"), 1);
    ck_assert_int_eq(tg__proc_task_running("17184 (a) b) S 1 17183"), 0); /* ')' in the name */
    ck_assert_int_eq(tg__proc_task_running("17185 (x y) D 1"), 0);
    ck_assert_int_eq(tg__proc_task_running("17185 no name"), -1);
    ck_assert_int_eq(tg__proc_task_running("17185 (x)"), -1);
    ck_assert_int_eq(tg__proc_task_running(NULL), -1);
}
END_TEST

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A real reading: with as many spinning child processes as cores, the
 * count falls to one within a few reads; fixed, it stays. */
START_TEST(busy_children_bring_the_count_down) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 2 || cores > 16) return; /* nothing to decide, or too many to spin */
    pid_t kids[16];
    for (long i = 0; i < cores; i++)
        if ((kids[i] = fork()) == 0)
            for (volatile unsigned long x = 0;; x++) continue;
    sleep_ms(50);
    tg_set_threads((int)cores);
    tg_threads_auto a;
    tg_threads_auto_start(&a);
    ck_assert_int_eq(a.max, (int)cores);
    int got = (int)cores;
    for (int i = 0; i < 5 && got > 1; i++, sleep_ms(15)) got = tg_threads_auto_step(&a);
    int applied = tg_threads();
    setenv("TAPEGRAD_FIXED_THREADS", "1", 1);
    tg_set_threads((int)cores);
    tg_threads_auto fixed;
    tg_threads_auto_start(&fixed);
    int kept = tg_threads_auto_step(&fixed);
    unsetenv("TAPEGRAD_FIXED_THREADS");
    for (long i = 0; i < cores; i++) kill(kids[i], SIGKILL), waitpid(kids[i], NULL, 0);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(applied, 1); /* BLIS's count is what the step said */
    ck_assert(fixed.fixed);
    ck_assert_int_eq(kept, (int)cores);
    /* one thread asked for: nothing read, one used */
    tg_set_threads(1);
    tg_threads_auto_start(&a);
    ck_assert_int_eq(tg_threads_auto_step(&a), 1);
    ck_assert_int_eq(a.reads, 0);
}
END_TEST

TCase *tcase_threads_auto(void) {
    TCase *tc = tcase_create("threads_auto");
    tcase_add_test(tc, quiet_machine_keeps_every_thread);
    tcase_add_test(tc, busy_neighbour_at_first_read_means_one_thread);
    tcase_add_test(tc, falls_when_two_of_three_reads_say_so);
    tcase_add_test(tc, rises_only_after_a_calm_streak);
    tcase_add_test(tc, max_caps_the_count);
    tcase_add_test(tc, no_reading_or_fixed_changes_nothing);
    tcase_add_test(tc, reads_proc_text);
    tcase_add_test(tc, busy_children_bring_the_count_down);
    return tc;
}
