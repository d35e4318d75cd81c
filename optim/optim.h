/* Placeholder: the optimizers are being written. */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H
#endif
