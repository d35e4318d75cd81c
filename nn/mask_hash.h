/* Counter-based random numbers for recurrent masks (zoneout, variational
 * dropout): a mask entry is a pure function of (seed, stream, time, row,
 * unit) through splitmix64's finaliser, not the next draw of a sequential
 * generator, so it is the same at any thread count, in any order of
 * evaluation, and again when a recomputed segment runs a step twice. */
#ifndef TG_MASK_HASH_H
#define TG_MASK_HASH_H

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

/* A uniform number in [0, 1) for entry (row, unit) of width-wide rows. */
static inline double tg__mask_uniform(uint64_t key, int64_t row, int64_t unit, int64_t width) {
    uint64_t x = tg__mix64(key ^ (uint64_t)(row * width + unit));
    return (double)(x >> 11) * 0x1.0p-53;
}

#endif
