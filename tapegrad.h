/* tapegrad: tensors, a tape that records every op, reverse-mode autodiff,
 * recurrent networks, optimizers. The one public header. */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "core/core.h"
#include "core/safetensors.h"
#include "autograd/autograd.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "model/model.h"
#include "dist/dist.h"

#endif
