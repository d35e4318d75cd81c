/* STUB: to be written. */
#include "op.h"

void tg__softmax_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__log_softmax_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
