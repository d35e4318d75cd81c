/* The OpenMP wait policy a tapegrad program runs under.
 *
 * BLIS's threads are libgomp's. Between two parallel regions, and at
 * barriers, libgomp's idle threads spin GOMP_SPINCOUNT turns (300,000 by
 * default) before they sleep. A training step makes hundreds of products
 * and parallel loops; on a machine where one other process is busy, a
 * 2-thread team's spinning thread takes the core its partner needs, and
 * steps took 10-20x their median. Spinning 10,000 turns keeps a thread
 * awake across the short gaps between one step's products but lets it
 * sleep before it starves its partner; OMP_WAIT_POLICY=passive (no spin)
 * is far worse, every region then waiting for a thread to be woken and
 * scheduled (bench/threads.sh, README "Speed").
 *
 * libgomp reads these variables once, while it is loaded, before any code
 * of the program runs: setenv from the library is too late, and so is a
 * .preinit_array entry (glibc's start-up then resets environ to the
 * original block). So a program that wants the policy runs itself again
 * with the variable set: tg_wait_policy_exec, first thing in main. */
#include "core.h"

#include <stdlib.h>
#include <unistd.h>

int tg_wait_policy_exec(char **argv) {
    if (!argv || !argv[0] || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return 0;
    if (setenv("GOMP_SPINCOUNT", TG_SPINCOUNT, 0) != 0) return -1;
    execv("/proc/self/exe", argv);
    /* not run again (no /proc, say): carry on under libgomp's default, and
     * leave the environment as it was for any child process */
    unsetenv("GOMP_SPINCOUNT");
    return -1;
}
