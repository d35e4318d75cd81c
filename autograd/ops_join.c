/* STUB: to be written. */
#include "op.h"

void tg__concat_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__stack_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
