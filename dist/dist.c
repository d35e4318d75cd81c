/* What both backends share: the rank and size they filled in at init. */
#include "dist/dist_impl.h"

int tg_dist_rank(const tg_dist *d) {
    return d ? d->rank : 0;
}

int tg_dist_size(const tg_dist *d) {
    return d ? d->size : 1;
}
