/* How many threads a step loop uses beside other processes.
 *
 * A 2-thread team meets at a barrier in every matrix product (about one
 * every 0.1 ms in a training step), and BLIS's barriers spin. When another
 * busy process shares the cores, one of the team's threads is descheduled
 * now and then and its partner spins a whole scheduler slice away: beside
 * one `yes` on 2 cores, (a) steps at 2 threads took p50 47 / p95 295 ms
 * against 38 / 38 at 1 thread, and no OpenMP wait policy fixed it
 * (bench/threads.sh). So the count asked for is a ceiling: before each
 * step the loop takes as many threads as there are cores no other process
 * is running on, at least one.
 *
 * The reading is cheap and instantaneous: /proc/loadavg's fourth field is
 * the number of runnable tasks on the machine right now, and this
 * process's own (its threads in state R under /proc/self/task) are taken
 * off. One read is noisy (a short-lived process, a kernel thread), so the
 * count falls when two of the last three reads say so and rises only after
 * TG_THREADS_AUTO_CALM reads in a row all had room: a collapsed 2-thread
 * step costs several times a 1-thread one, a 1-thread step on a quiet
 * machine little more than 1.1x. The state is the caller's (a
 * tg_threads_auto on its stack); the count itself is BLIS's, process-wide
 * as it always was. Results do not depend on the count (products and
 * elementwise loops split by rows), so changing it between steps changes
 * no value. */
#include "kernels.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Reads in a row with room for more threads before the count rises. */
#define TG_THREADS_AUTO_CALM 8
/* /proc is read at most once per this many ms: for steps shorter than
 * that, the reading would cost a noticeable part of the step. */
#define TG_THREADS_AUTO_EVERY_MS 10.0

static int clamp(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

void tg_threads_auto_init(tg_threads_auto *a, int max, int cores) {
    *a = (tg_threads_auto){.max = max < 1 ? 1 : max, .cores = cores < 1 ? 1 : cores};
    a->current = a->max;
}

/* The middle of the last reads (of two, the larger: both must agree before
 * the count falls). */
static int middle(const tg_threads_auto *a) {
    int x = a->room[0], y = a->room[1], z = a->room[2];
    if (a->reads == 1) return x;
    if (a->reads == 2) return x > y ? x : y;
    return x > y ? (y > z ? y : x > z ? z : x) : (x > z ? x : y > z ? z : y);
}

int tg_threads_auto_decide(tg_threads_auto *a, int runnable, int own) {
    if (a->fixed || runnable < 0 || own < 0) return a->current;
    int others = runnable > own ? runnable - own : 0;
    int room = clamp(a->cores - others, 1, a->max);
    bool first = a->reads == 0;
    memmove(a->room + 1, a->room, 2 * sizeof *a->room); /* newest first */
    a->room[0] = room;
    if (a->reads < 3) a->reads++;
    if (first) return a->current = room; /* no history: the read is the best guess */
    int mid = middle(a);
    if (mid < a->current) {
        a->current = mid, a->calm = 0;
    } else if (room > a->current) {
        /* rises to what every read of the calm streak had room for */
        a->calm_room = a->calm ? (room < a->calm_room ? room : a->calm_room) : room;
        if (++a->calm >= TG_THREADS_AUTO_CALM) a->current = a->calm_room, a->calm = 0;
    } else {
        a->calm = 0;
    }
    return a->current;
}

int tg__proc_runnable(const char *loadavg) {
    int running = -1;
    /* "0.37 0.17 0.30 1/92 17183": runnable/total after three averages */
    if (!loadavg || sscanf(loadavg, "%*s %*s %*s %d/", &running) != 1) return -1;
    return running;
}

int tg__proc_task_running(const char *stat) {
    /* "17183 (comm) R ...": comm may hold spaces and ')', the state follows
     * the last ')' */
    const char *p = stat ? strrchr(stat, ')') : NULL;
    if (!p || p[1] != ' ' || !p[2]) return -1;
    return p[2] == 'R';
}

/* The first line of a small /proc file into buf; false when unreadable. */
static bool read_line(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    return ok;
}

/* This process's threads that are running or runnable, or -1. */
static int own_running(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    char path[64], stat[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        if (read_line(path, stat, sizeof stat) && tg__proc_task_running(stat) == 1) n++;
    }
    closedir(d);
    return n;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

void tg_threads_auto_start(tg_threads_auto *a) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    tg_threads_auto_init(a, tg_threads(), cores > 0 ? (int)cores : 1);
    const char *fixed = getenv("TAPEGRAD_FIXED_THREADS");
    a->fixed = fixed && *fixed && strcmp(fixed, "0") != 0;
}

int tg_threads_auto_step(tg_threads_auto *a) {
    double t = now_ms();
    if (!a->fixed && a->max > 1 && t - a->read_ms >= TG_THREADS_AUTO_EVERY_MS) {
        char line[128];
        int runnable = read_line("/proc/loadavg", line, sizeof line) ? tg__proc_runnable(line) : -1;
        tg_threads_auto_decide(a, runnable, runnable < 0 ? -1 : own_running());
        a->read_ms = t;
    }
    /* set again when someone else changed it in between (an inner loop) */
    if (tg_threads() != a->current) tg_set_threads(a->current);
    return a->current;
}
