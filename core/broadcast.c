/* NumPy-style broadcasting: result shapes and the strides that read (or sum
 * into) an operand inside a result's loop frame. */
#include "kernels.h"

bool tg_broadcast_shape(tg_shape a, tg_shape b, tg_shape *out) {
    int n = a.ndim > b.ndim ? a.ndim : b.ndim;
    tg_shape r = {n, {0}};
    for (int i = 0; i < n; i++) {
        int ia = a.ndim - n + i, ib = b.ndim - n + i;
        int64_t da = ia >= 0 ? a.dim[ia] : 1, db = ib >= 0 ? b.dim[ib] : 1;
        if (da != db && da != 1 && db != 1) return false;
        r.dim[i] = da == 1 ? db : da;
    }
    *out = r;
    return true;
}

tg_frame tg_frame_of(tg_shape out) {
    tg_frame f;
    int pad = TG_MAX_DIMS - out.ndim;
    for (int i = 0; i < TG_MAX_DIMS; i++) f.dim[i] = i < pad ? 1 : out.dim[i - pad];
    return f;
}

void tg_frame_strides(const tg_tensor *t, tg_shape out, int64_t st[TG_MAX_DIMS]) {
    int pad = TG_MAX_DIMS - out.ndim;
    for (int i = 0; i < TG_MAX_DIMS; i++) {
        int j = i - pad - (out.ndim - t->ndim); /* t's own dimension */
        st[i] = (i >= pad && j >= 0 && t->shape[j] != 1) ? t->stride[j] : 0;
    }
}

void tg_frame_contig_strides(tg_shape s, tg_shape out, int64_t st[TG_MAX_DIMS]) {
    int pad = TG_MAX_DIMS - out.ndim;
    int64_t run = 1;
    for (int i = TG_MAX_DIMS - 1; i >= 0; i--) {
        int j = i - pad - (out.ndim - s.ndim);
        st[i] = (i >= pad && j >= 0 && s.dim[j] != 1) ? run : 0;
        if (i >= pad && j >= 0) run *= s.dim[j];
    }
}
