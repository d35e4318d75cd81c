/* What dist/grads.c needs of a backend (dist/dist_mpi.c or dist/dist_none.c):
 * a started sum across ranks that can be nudged forward and waited for. */
#ifndef TG_DIST_IMPL_H
#define TG_DIST_IMPL_H

#include "dist.h"

struct tg_dist {
    int rank, size;
    bool finalize; /* init called MPI_Init: free calls MPI_Finalize */
};

typedef struct tg__dist_req tg__dist_req;
/* Starts buf[0..n) becoming the sum over ranks (n < 2^31). 0, or -1 with a
 * message. */
int tg__dist_isum(tg_dist *d, tg_real *buf, int64_t n, tg__dist_req **req, char *err,
                  size_t errlen);
/* Lets a started sum advance (MPI progresses only inside its calls). */
void tg__dist_progress(tg__dist_req *req);
/* Waits for it and frees req. 0, or -1 with a message. */
int tg__dist_wait(tg__dist_req *req, char *err, size_t errlen);

#endif
