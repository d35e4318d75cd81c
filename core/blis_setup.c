/* BLIS setup before its first use: the kernel set and the thread count.
 *
 * BLIS reads BLIS_ARCH_TYPE once, at its first call. Debian's BLIS 0.9
 * recognises CPUs up to AMD Zen 3/4 and Intel Skylake-X; on a newer CPU
 * (AMD family 1Ah, Zen 5) it falls back to its generic kernels, about five
 * times slower. In that case only, and only if the user has not set
 * BLIS_ARCH_TYPE, we ask for the kernel set the CPU can run: skx with
 * AVX-512, haswell with AVX2 and FMA. The thread count defaults to every
 * core, unless BLIS_NUM_THREADS or OMP_NUM_THREADS says otherwise.
 *
 * This is the library's one piece of process-wide state, as BLIS's own
 * configuration is: it runs once (pthread_once) and is read-only after. */
#include "kernels.h"

#include <blis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

/* True when BLIS 0.9's detection has no kernel set for this CPU. */
static bool blis_would_fall_back(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
    bool amd = b == 0x68747541; /* "Auth"enticAMD */
    if (!amd || !__get_cpuid(1, &a, &b, &c, &d)) return false;
    unsigned family = ((a >> 8) & 0xf) + ((a >> 20) & 0xff);
    return family > 0x19; /* BLIS 0.9 knows AMD families up to 19h */
}

static const char *best_kernels(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return "skx";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "haswell";
    return NULL;
}
#else
static bool blis_would_fall_back(void) { return false; }
static const char *best_kernels(void) { return NULL; }
#endif

static void setup(void) {
    if (!getenv("BLIS_ARCH_TYPE") && blis_would_fall_back()) {
        const char *want = best_kernels();
        for (int id = 0; want && id < BLIS_NUM_ARCHS; id++)
            if (strcmp(bli_arch_string((arch_t)id), want) == 0) {
                char num[16];
                snprintf(num, sizeof num, "%d", id);
                setenv("BLIS_ARCH_TYPE", num, 0);
                break;
            }
    }
    if (!getenv("BLIS_NUM_THREADS") && !getenv("OMP_NUM_THREADS")) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        bli_thread_set_num_threads((dim_t)(n > 0 ? n : 1));
    }
}

void tg__blis_setup(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, setup);
}

void tg_set_threads(int n) {
    tg__blis_setup();
    bli_thread_set_num_threads((dim_t)(n < 1 ? 1 : n));
}

int tg_threads(void) {
    tg__blis_setup();
    return (int)bli_thread_get_num_threads();
}

const char *tg_blis_kernels(void) {
    tg__blis_setup();
    return bli_arch_string(bli_arch_query_id());
}

int tg_blis_kernel_id(void) {
    tg__blis_setup();
    return (int)bli_arch_query_id();
}
