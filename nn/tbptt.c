/* Truncated BPTT: carrying a state across tape resets. */
#include "tbptt.h"

tg_tensor *tg_tbptt_carry(tg_tape *t, tg_tensor **carry, const tg_tensor *state) {
    if (tg_tape_error(t)) return NULL;
    if (!carry || !state) {
        tg_tape_fail(t, "tg_tbptt_carry: %s is NULL", carry ? "state" : "carry");
        return NULL;
    }
    tg_tensor *dst = *carry;
    if (!dst || !tg_same_shape(dst, state)) {
        dst = tg_tensor_new(tg_tensor_shape(state));
        if (!dst) {
            char s[TG_SHAPE_STR_MAX];
            tg_tape_fail(t, "tg_tbptt_carry: out of memory for a state of shape %s",
                         tg_shape_str(tg_tensor_shape(state), s, sizeof s));
            return NULL;
        }
        tg_tensor_free(*carry);
        *carry = dst;
    }
    tg_copy(dst, state); /* same shape: cannot fail */
    return dst;
}
