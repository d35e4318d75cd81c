/* nn: parameters, modules, losses over sequences, checkpoints. */
#ifndef TG_NN_H
#define TG_NN_H

#include "../autograd/autograd.h"
#include "module.h"
#include "linear.h"
#include "rnn.h"
#include "cell_activation.h"
#include "cell_variant.h"
#include "tree.h"
#include "tree_vocab.h"
#include "tree_batch.h"
#include "treenet.h"
#include "tree_classifier.h"
#include "jordan.h"
#include "deep_rnn.h"
#include "renet.h"
#include "seq_loss.h"
#include "seq_recompute.h"
#include "tbptt.h"
#include "attention.h"
#include "seq2seq.h"
#include "confusion.h"

#endif
