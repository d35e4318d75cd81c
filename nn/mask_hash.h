/* Counter-based random numbers for recurrent masks (zoneout, variational
 * dropout): a mask entry is a pure function of (seed, stream, time, row,
 * unit) through splitmix64's finaliser, not the next draw of a sequential
 * generator, so it is the same at any thread count, in any order of
 * evaluation, and again when a recomputed segment runs a step twice. */
#ifndef TG_MASK_HASH_H
#define TG_MASK_HASH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* splitmix64's output function (Steele, Lea, Flood 2014) of x. */
static inline uint64_t tg__mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The key of one mask: seed (a layer and direction's), stream (which mask
 * of the cell) and time (-1 for a mask per sequence). */
static inline uint64_t tg__mask_key(uint64_t seed, uint64_t stream, int64_t time) {
    return tg__mix64(tg__mix64(tg__mix64(seed) ^ stream) ^ (uint64_t)time);
}

/* Entry i (row * width + unit) of a mask draws u = (x >> 11) 2^-53, a
 * uniform number in [0, 1), with x = tg__mix64(key ^ i); it is below p
 * when x >> 11 < tg__mask_limit(p): the same test in integers (u's 53 bits
 * against ceil(p 2^53)), so a loop over entries vectorises. */
static inline uint64_t tg__mask_limit(double p) {
    return p >= 1 ? (uint64_t)1 << 53 : p > 0 ? (uint64_t)ceil(p * 0x1p53) : 0;
}
static inline bool tg__mask_below(uint64_t key, int64_t i, uint64_t limit) {
    return tg__mix64(key ^ (uint64_t)i) >> 11 < limit;
}

#endif
