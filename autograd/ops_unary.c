/* STUB: to be written. */
#include "op.h"

void tg__neg_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__scale_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__add_scalar_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__exp_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__log_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__tanh_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__sigmoid_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__relu_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__pow_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__square_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__sqrt_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__abs_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__clamp_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
