/* STUB: to be written. */
#include "op.h"

void tg__index_select_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__gather_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
