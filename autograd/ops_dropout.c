/* STUB: to be written. */
#include "op.h"

void tg__dropout_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
