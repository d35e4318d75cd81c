/* core: tensors (shape, strides, data), heap creation, random numbers,
 * initialisers and BLIS threading. Nothing here knows about the tape. */
#ifndef TG_CORE_H
#define TG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "version.h"

/* One source, two builds: float by default, double with -DTG_DOUBLE so that
 * gradient checks by central differences can be tight. */
#ifdef TG_DOUBLE
typedef double tg_real;
#define TG_REAL_NAME "double"
#else
typedef float tg_real;
#define TG_REAL_NAME "float"
#endif

#define TG_MAX_DIMS 4

/* A shape by value: TG_SHAPE(32, 64) is a [32, 64] shape; TG_SCALAR is the
 * 0-d shape of a single number. */
typedef struct tg_shape {
    int ndim;
    int64_t dim[TG_MAX_DIMS];
} tg_shape;

#define TG__NARGS(...) TG__NARGS_(__VA_ARGS__, 4, 3, 2, 1, 0)
#define TG__NARGS_(_1, _2, _3, _4, n, ...) n
#define TG_SHAPE(...) ((tg_shape){TG__NARGS(__VA_ARGS__), {__VA_ARGS__}})
#define TG_SCALAR ((tg_shape){0, {0}})

/* A tensor. `data` may be a strided view of another tensor's storage;
 * `grad`, when present, is always contiguous in row-major order of `shape`
 * and belongs to this tensor alone, so a view's gradient is separate from
 * its base's and flows back through the view's node. */
typedef struct tg_tensor {
    tg_real *data;
    tg_real *grad; /* NULL until a gradient is needed */
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    int64_t stride[TG_MAX_DIMS]; /* in elements */
    int64_t numel;
    bool requires_grad;
    bool on_heap;     /* owned by the caller (parameters), not a tape */
    bool grad_fresh;  /* inside backward: grad is allocated but holds nothing
                       * yet, so its first writer assigns (autograd/ops.def) */
    int32_t node;     /* index of the producing node on its tape, or -1 */
    const char *name; /* optional label (parameter name), not owned */
} tg_tensor;

/* ---- files --------------------------------------------------------------- */
/* The rest of stream f in a NUL-terminated heap buffer, *len bytes before
 * the NUL; NULL when reading fails or memory runs out (ferror(f) tells
 * which). With max > 0 it stops once more than max bytes are in (*len then
 * says so), for readers that refuse files too large to be theirs. */
char *tg_read_stream(FILE *f, size_t max, size_t *len);
/* Why tg_read_file gave no buffer: the file would not open, reading it
 * failed (errnum: errno then), or memory ran out (errnum 0). */
typedef struct tg_read_error {
    enum { TG_READ_OPEN = 1, TG_READ_IO, TG_READ_MEMORY } what;
    int errnum;
} tg_read_error;
/* The whole file at path, as tg_read_stream reads a stream (max and *len
 * the same); NULL with *why filled in. Callers word the message. */
char *tg_read_file(const char *path, size_t max, size_t *len, tg_read_error *why);

/* ---- errors without a tape -------------------------------------------- */
/* Functions that can fail without a tape take `char *err, size_t errlen`
 * (err may be NULL) and write one message there. This writes it
 * (printf-style) and returns NULL, so a constructor can end with
 * `return tg_error_set(err, errlen, "rnn: hidden_size must be positive")`. */
void *tg_error_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- shapes ---------------------------------------------------------- */
/* The number of elements (1 for a scalar). */
int64_t tg_shape_numel(tg_shape s);
/* Whether s has 0 to TG_MAX_DIMS dimensions, none negative, and a
 * number of elements that fits. */
bool tg_shape_valid(tg_shape s);
/* t's shape. */
tg_shape tg_tensor_shape(const tg_tensor *t);
/* Whether a and b have the same shape. */
bool tg_same_shape(const tg_tensor *a, const tg_tensor *b);
/* Whether t's data is dense in row-major order (no view's gaps). */
bool tg_is_contiguous(const tg_tensor *t);
/* Writes "[2,3,4]" into buf (always NUL-terminated); returns buf. */
char *tg_shape_str(tg_shape s, char *buf, size_t n);
#define TG_SHAPE_STR_MAX 96

/* Fills in ndim, shape, contiguous strides and numel. */
void tg_tensor_set_shape(tg_tensor *t, tg_shape s);
/* Element at a multi-index (bounds are the caller's job). */
tg_real tg_get(const tg_tensor *t, const int64_t *index);
/* Element by row-major linear position, honouring strides. */
tg_real tg_at(const tg_tensor *t, int64_t linear);

/* ---- heap tensors (parameters and anything that outlives a tape) ------ */
/* Returns NULL on an invalid shape or out of memory. */
tg_tensor *tg_tensor_new(tg_shape s);
/* A parameter: zeroed data, a zeroed grad buffer, requires_grad = true. */
tg_tensor *tg_param_new(tg_shape s);
/* Frees a heap tensor, its data and its gradient (a tape's tensor or
 * NULL is left alone). */
void tg_tensor_free(tg_tensor *t);
/* Sets t's gradient (if it has one) to zero. */
void tg_zero_grad(tg_tensor *t);

/* ---- filling and copying (work on any tensor, heap or tape) ----------- */
/* Sets every element to v. */
void tg_fill(tg_tensor *t, tg_real v);
/* Copies numel values in row-major order from a contiguous C array. */
void tg_copy_from(tg_tensor *t, const tg_real *src);
/* Copies row-major values out into a contiguous C array. */
void tg_copy_to(const tg_tensor *t, tg_real *dst);
/* dst <- src for same-shaped tensors, any strides. Returns false on a
 * shape mismatch. */
bool tg_copy(tg_tensor *dst, const tg_tensor *src);

/* ---- random numbers: a generator is an object, never a global --------- */
typedef struct tg_rng {
    uint64_t s[4];
    bool has_spare;
    double spare;
} tg_rng;

/* Seeds the generator: the same seed gives the same numbers. */
void tg_rng_seed(tg_rng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t tg_rng_u64(tg_rng *r);
double tg_rng_uniform(tg_rng *r); /* [0, 1) */
double tg_rng_normal(tg_rng *r);  /* mean 0, std 1 */
/* Uniform integer in [0, n). */
uint64_t tg_rng_below(tg_rng *r, uint64_t n);

/* Fills t from U(lo, hi). */
void tg_init_uniform(tg_tensor *t, tg_rng *r, double lo, double hi);
/* Fills t from N(mean, std). */
void tg_init_normal(tg_tensor *t, tg_rng *r, double mean, double std);
/* PyTorch's xavier_uniform_ and xavier_normal_ with gain. fan_in /
 * fan_out follow PyTorch: for a [out, in, ...] weight, fan_in is in *
 * receptive field, fan_out is out * receptive field. */
void tg_init_xavier_uniform(tg_tensor *t, tg_rng *r, double gain);
void tg_init_xavier_normal(tg_tensor *t, tg_rng *r, double gain);
/* PyTorch's kaiming_uniform_ and kaiming_normal_ with a = `a` and
 * leaky-relu gain (Linear uses a = sqrt(5)). */
void tg_init_kaiming_uniform(tg_tensor *t, tg_rng *r, double a);
void tg_init_kaiming_normal(tg_tensor *t, tg_rng *r, double a);

/* ---- BLIS ------------------------------------------------------------- */
/* Threads for matrix products (BLIS's own, process-wide setting). The
 * default is every core, unless BLIS_NUM_THREADS or OMP_NUM_THREADS is set;
 * products too small to gain from threads use one anyway. */
void tg_set_threads(int n);
/* The thread count in use. */
int tg_threads(void);
/* The name of BLIS's kernel set in use ("skx", "zen3", "haswell", ...).
 * Where Debian's BLIS would fall back to "generic" on a CPU it does not
 * know, tapegrad asks it for the best set the CPU supports, unless
 * BLIS_ARCH_TYPE is set. */
const char *tg_blis_kernels(void);
/* Its number, as BLIS_ARCH_TYPE takes it (so another BLIS user in the same
 * run, such as PyTorch, can be given the same kernels). */
int tg_blis_kernel_id(void);

/* ---- Threads beside other processes (core/threads_auto.c) ---------- */
/* A step loop's thread count on a shared machine: the count asked for
 * (tg_set_threads, --threads) is a ceiling, and before each step the loop
 * takes as many threads as there are cores no other process is running
 * on, at least one, so that a 2-thread team does not spin against a busy
 * neighbour. Falls when two of the last three reads say so, rises after
 * eight reads in a row with room. The caller owns it (on its stack); fill
 * it with tg_threads_auto_start, or tg_threads_auto_init to feed it
 * numbers of one's own. Results do not depend on the thread count. */
typedef struct tg_threads_auto {
    int max;        /* at most this many threads */
    int cores;      /* online cores */
    int current;    /* the count to use now */
    int room[3];    /* the last reads' room for threads, newest first */
    int reads;      /* how many of room[] are filled */
    int calm;       /* reads in a row with room for more than current */
    int calm_room;  /* the least room over that streak */
    double read_ms; /* when /proc was last read (monotonic ms) */
    bool fixed;     /* never changes the count */
} tg_threads_auto;
/* Starts at max threads (at least 1) on `cores` cores, not fixed. */
void tg_threads_auto_init(tg_threads_auto *a, int max, int cores);
/* Feeds one reading: `runnable` tasks on the machine now (/proc/loadavg's
 * fourth field), `own` of them this process's. Returns the count to use
 * (a->current). A negative number (no reading) changes nothing. */
int tg_threads_auto_decide(tg_threads_auto *a, int runnable, int own);
/* For a step loop about to start: max = tg_threads() (the count asked
 * for), cores = the online ones; fixed when the environment has
 * TAPEGRAD_FIXED_THREADS set (other than "0"). */
void tg_threads_auto_start(tg_threads_auto *a);
/* Call before each step: reads /proc (at most once per 10 ms, never when
 * fixed or max is 1), decides, and sets BLIS's count (tg_set_threads) when
 * it differs. Returns the count in use. Where /proc cannot be read the
 * count stays at max. */
int tg_threads_auto_step(tg_threads_auto *a);

/* The spin count tg_wait_policy_exec gives libgomp's idle threads. */
#define TG_SPINCOUNT "10000"
/* Call first thing in main, with main's argv: unless OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT is set, runs the program again (exec of /proc/self/exe,
 * same arguments and process) with GOMP_SPINCOUNT=TG_SPINCOUNT, so BLIS's
 * idle OpenMP threads spin briefly, then sleep: 2-thread steps then keep
 * their pace beside a busy process instead of collapsing (libgomp reads
 * the variable only when it is loaded, hence the exec). Returns 0 when
 * the environment already says (nothing done), -1 when the exec failed
 * (the program carries on under libgomp's default); does not return when
 * it ran the program again. The tapegrad command does this. */
int tg_wait_policy_exec(char **argv);

#endif
