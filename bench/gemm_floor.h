/* The GEMM floor of a training step: every BLIS product one step makes,
 * recorded as it is called and replayed through bare BLIS on the same
 * memory, so a step's time can be set against the time its own products
 * need (bench_rnn prints the ratio). Bench-only: it interposes BLIS's
 * bli_sgemm_ex/bli_dgemm_ex in the bench binary that links it. */
#ifndef TG_BENCH_GEMM_FLOOR_H
#define TG_BENCH_GEMM_FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Starts (forgetting what was recorded) or stops recording products. */
void gemm_floor_record(bool on);
/* How many products were recorded, and their multiply-adds times 2. */
size_t gemm_floor_calls(void);
double gemm_floor_flop(void);
/* Replays the recorded products once, in order, on the memory they used
 * (which must still be live: call before the tape is reset); returns ms. */
double gemm_floor_replay_ms(void);
/* One line per shape (m, n, k) of the last replay: calls, ms, GFLOP/s. */
void gemm_floor_shapes(FILE *f);

#endif
