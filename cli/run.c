/* tapegrad run: exact numbers in and out, to compare with other frameworks.
 * The weights, one batch and the results are safetensors files whose names
 * are PyTorch's (docs/cli.md):
 *
 *   X:   input  F32 [T, B, I] vectors ([B, T, I] batch_first), or I64 ids
 *        [T, B] ([B, T]); optional h0, c0 [layers*dirs, B, H] for the last
 *        recurrent layer, lengths I64 [B], target
 *   OUT: output, h_n, c_n (of the last recurrent layer); with --grad,
 *        grad.<param> and grad.input of sum(output) + sum(h_n) + sum(c_n);
 *        with --train-steps N, the parameters after N steps of the spec's
 *        loss and optimizer, and loss [N] (each step's, before its update) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char HELP[] =
    "usage: tapegrad run SPEC --weights W.safetensors --input X.safetensors\n"
    "                    --out OUT.safetensors [--grad] [--train-steps N]\n"
    "\n"
    "Runs one batch through the model of SPEC with the given weights and writes\n"
    "the results, all F32, under PyTorch's names (docs/cli.md):\n"
    "  X:   input (F32 [T,B,I] vectors, or I64 [T,B] token ids; [B,T,...] when\n"
    "       batch_first), optional h0 and c0 (F32 [layers*directions, B, H], for\n"
    "       the last recurrent layer), lengths (I64 [B]: steps past a sequence's\n"
    "       length are padding, as PyTorch's packed sequences) and target\n"
    "  OUT: output, and h_n and c_n of the last recurrent layer\n"
    "\n"
    "options:\n"
    "  --weights W        the parameters, by name (as a PyTorch state_dict)\n"
    "  --input X          the batch\n"
    "  --out OUT          where the results go\n"
    "  --grad             also grad.<name> of every parameter and grad.input (vector\n"
    "                     input) for the scalar sum(output) + sum(h_n) + sum(c_n)\n"
    "  --train-steps N    also N optimizer steps of the spec's loss and optimizer\n"
    "                     (clipping and schedule included) on this batch, which\n"
    "                     needs a target; writes the updated parameters under their\n"
    "                     names and loss [N]\n"
    "  --threads N        threads for products and cells\n"
    "  --help             this text\n"
    "\n"
    "Outputs and gradients come from evaluation mode (no dropout); training steps\n"
    "run in training mode.\n";

/* The results, as heap tensors under their names (both owned). */
typedef struct results {
    int n, cap;
    tg_named *items;
} results;

static int add(results *r, const char *name, const tg_tensor *src, const tg_real *grad) {
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 32;
        tg_named *it = realloc(r->items, (size_t)cap * sizeof *it);
        if (!it) return -1;
        r->items = it;
        r->cap = cap;
    }
    tg_tensor *t = tg_tensor_new(tg_tensor_shape(src));
    char *copy = malloc(strlen(name) + 1);
    if (!t || !copy) {
        tg_tensor_free(t);
        free(copy);
        return -1;
    }
    strcpy(copy, name);
    if (grad)
        tg_copy_from(t, grad);
    else
        tg_copy(t, src);
    r->items[r->n++] = (tg_named){copy, t};
    return 0;
}

static void results_free(results *r) {
    for (int i = 0; i < r->n; i++) {
        tg_tensor_free(r->items[i].tensor);
        free((char *)r->items[i].name);
    }
    free(r->items);
}

/* The batch of X, read once. */
typedef struct batch_in {
    const tg_tensor *x; /* vector input */
    const int64_t *ids; /* token input */
    const tg_tensor *h0, *c0;
    const int64_t *lengths;
    const int64_t *target_ids;
    const tg_tensor *target; /* regress */
    int64_t T, B;
} batch_in;

static int read_batch(const tg_spec *s, tg_st_file *f, const char *path, batch_in *in, char *err,
                      size_t errlen) {
    const tg_tensor *x = tg_safetensors_get(f, "input");
    char sh[TG_SHAPE_STR_MAX];
    *in = (batch_in){0};
    if (!x) return snprintf(err, errlen, "%s: no tensor named 'input'", path), -1;
    const char *layout = s->batch_first ? "B, T" : "T, B";
    if (s->input == TG_INPUT_TOKENS) {
        int64_t n;
        if (!(in->ids = tg_safetensors_get_i64(f, "input", &n)) || x->ndim != 2)
            return snprintf(err, errlen, "%s: input: token ids must be I64 [%s], got %s %s", path,
                            layout, tg_safetensors_dtype(f, "input"),
                            tg_shape_str(tg_tensor_shape(x), sh, sizeof sh)),
                   -1;
    } else if (x->ndim != 3)
        return snprintf(err, errlen, "%s: input: expected [%s, %lld], got %s", path, layout,
                        (long long)s->input_size, tg_shape_str(tg_tensor_shape(x), sh, sizeof sh)),
               -1;
    in->x = x;
    in->T = x->shape[s->batch_first ? 1 : 0], in->B = x->shape[s->batch_first ? 0 : 1];
    in->h0 = tg_safetensors_get(f, "h0");
    in->c0 = tg_safetensors_get(f, "c0");
    if (tg_safetensors_dtype(f, "lengths")) {
        int64_t n = 0;
        in->lengths = tg_safetensors_get_i64(f, "lengths", &n);
        if (!in->lengths || n != in->B)
            return snprintf(err, errlen, "%s: lengths: expected I64 [%lld]", path,
                            (long long)in->B),
                   -1;
    }
    if (tg_safetensors_dtype(f, "target")) {
        if (s->task == TG_TASK_REGRESS)
            in->target = tg_safetensors_get(f, "target");
        else {
            int64_t n = 0, want = s->task == TG_TASK_CLASSIFY ? in->B : in->T * in->B;
            in->target_ids = tg_safetensors_get_i64(f, "target", &n);
            if (!in->target_ids || n != want)
                return snprintf(err, errlen, "%s: target: expected I64 with %lld class ids", path,
                                (long long)want),
                       -1;
        }
    }
    return 0;
}

/* The last recurrent layer (whose h_n the model reports), or -1. */
static int last_recurrent(const tg_model *m) {
    int k = -1;
    for (int i = 0; i < m->n_layers; i++)
        if (tg_spec_is_recurrent_layer(m->layers[i].type)) k = i;
    return k;
}

/* Forward on a fresh tape: the batch, h0/c0 in st, x (vector input) with a
 * gradient when asked. */
static int forward(tg_tape *t, cli_model *cm, const batch_in *in, tg_model_state *st, int kr,
                   bool grad_x, tg_model_batch *b, tg_model_output *out, tg_tensor **x) {
    const tg_spec *s = cm->spec;
    *b = (tg_model_batch){.T = in->T,
                          .B = in->B,
                          .ids = in->ids,
                          .lengths = in->lengths,
                          .target_ids = in->target_ids};
    *x = NULL;
    if (s->input == TG_INPUT_VECTORS) {
        *x = tg_from_array(t, tg_tensor_shape(in->x), in->x->data);
        if (*x) (*x)->requires_grad = grad_x;
        b->x = *x;
    }
    if (in->target) b->target = tg_from_array(t, tg_tensor_shape(in->target), in->target->data);
    tg_model_state_reset(st);
    for (int c = 0; kr >= 0 && c < 2; c++) { /* heap copies: the model writes h_n there */
        const tg_tensor *src = c ? in->c0 : in->h0;
        tg_tensor **dst = c ? &st->c[kr] : &st->h[kr];
        if (src && !(*dst = tg_tensor_new(tg_tensor_shape(src)))) {
            tg_tape_fail(t, "out of memory");
            return -1;
        }
        if (src) tg_copy(*dst, src);
    }
    return tg_model_forward(t, cm->model, b, st, out);
}

int cli_run(int argc, char **argv) {
    const char *cmd = "run", *spec_path = NULL, *wpath = NULL, *xpath = NULL, *opath = NULL;
    bool grad = false;
    int64_t train_steps = 0, threads = 0;
    cli_option opts[] = {
        {"--weights", CLI_STR, &wpath, 0, 0, false},
        {"--input", CLI_STR, &xpath, 0, 0, false},
        {"--out", CLI_STR, &opath, 0, 0, false},
        {"--grad", CLI_FLAG, &grad, 0, 0, false},
        {"--train-steps", CLI_INT, &train_steps, 0, 1e9, false},
        {"--threads", CLI_INT, &threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &spec_path, 1, &got, HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!got || !wpath || !xpath || !opath) {
        cli_error(cmd, "%s is required (see 'tapegrad run --help')",
                  !got     ? "SPEC"
                  : !wpath ? "--weights"
                  : !xpath ? "--input"
                           : "--out");
        return CLI_USAGE;
    }
    if (threads) tg_set_threads((int)threads);
    tg_spec *s = cli_load_spec(cmd, spec_path);
    if (!s) return CLI_USAGE;
    cli_model cm = {0};
    tg_st_file *f = NULL;
    tg_tape *tape = NULL;
    tg_model_state *st = NULL;
    tg_optim *opt = NULL;
    tg_tensor *losses = NULL;
    results res = {0};
    char err[1024];
    int status = CLI_USAGE;
    if (s->task == TG_TASK_TREE) {
        cli_error(cmd,
                  "%s: task tree: run reads batches of sequences; train and eval read tree "
                  "files",
                  spec_path);
        goto done;
    }
    if (s->task == TG_TASK_SEQ2SEQ) { /* its vocabularies come from data */
        cli_error(cmd,
                  "%s: task seq2seq: run is for the layer-list tasks (seq2seq: train, eval, "
                  "translate)",
                  spec_path);
        goto done;
    }
    if (s->input == TG_INPUT_TOKENS && !s->vocab) {
        cli_error(cmd, "%s: input.vocab: run needs the vocabulary size in the spec", spec_path);
        goto done;
    }
    if ((status = cli_model_build(cmd, &cm, s, s->train.seed))) goto done;
    status = CLI_FAIL;
    if (tg_safetensors_load_into(wpath, cm.n, cm.params, err, sizeof err)) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    batch_in in;
    if (!(f = tg_safetensors_open(xpath, err, sizeof err)) ||
        read_batch(s, f, xpath, &in, err, sizeof err)) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    int kr = last_recurrent(cm.model);
    if (kr < 0 && (in.h0 || in.c0)) {
        cli_error(cmd, "%s: h0/c0 given, but the model has no recurrent layer", xpath);
        goto done;
    }
    if (train_steps && !in.target && !in.target_ids) {
        cli_error(cmd, "%s: --train-steps needs a tensor named 'target'", xpath);
        status = CLI_USAGE;
        goto done;
    }
    tape = tg_tape_new();
    st = tg_model_state_new(cm.model);
    if (!tape || !st) goto oom;

    /* outputs (and gradients) of the given weights, without dropout */
    tg_module_train(&cm.model->base, false);
    tg_model_batch b;
    tg_model_output out;
    tg_tensor *x;
    bool grad_x = grad && s->input == TG_INPUT_VECTORS;
    if (forward(tape, &cm, &in, st, kr, grad_x, &b, &out, &x)) goto tape_error;
    if (add(&res, "output", out.output, NULL) || (out.h_n && add(&res, "h_n", out.h_n, NULL)) ||
        (out.c_n && add(&res, "c_n", out.c_n, NULL)))
        goto oom;
    if (grad) {
        tg_tensor *y = tg_sum(tape, out.output);
        if (out.h_n) y = tg_add(tape, y, tg_sum(tape, out.h_n));
        if (out.c_n) y = tg_add(tape, y, tg_sum(tape, out.c_n));
        tg_module_zero_grad(&cm.model->base);
        if (!y || tg_backward(tape, y)) goto tape_error;
        for (int i = 0; i < cm.n; i++) {
            char name[300];
            snprintf(name, sizeof name, "grad.%s", cm.params[i].name);
            if (add(&res, name, cm.params[i].tensor, cm.params[i].tensor->grad)) goto oom;
        }
        if (grad_x && add(&res, "grad.input", x, x->grad)) goto oom;
    }

    /* training steps on this batch */
    if (train_steps) {
        tg_module_train(&cm.model->base, true);
        opt = tg_optim_spec_build(&s->optim, cm.tensors, cm.n);
        losses = tg_tensor_new(TG_SHAPE(train_steps));
        if (!opt || !losses) goto oom;
        for (int64_t i = 0; i < train_steps; i++) {
            tg_tape_reset(tape);
            tg_tensor *loss = NULL;
            if (forward(tape, &cm, &in, st, kr, false, &b, &out, &x) == 0)
                loss = tg_model_loss(tape, cm.model, &b, &out);
            tg_optim_zero_grad(opt);
            if (!loss || tg_backward(tape, loss)) goto tape_error;
            losses->data[i] = loss->data[0];
            int c = tg_optim_spec_prepare(&s->optim, opt, (int)i, NULL, err, sizeof err);
            if (c == TG_CLIP_INVALID || (c == TG_CLIP_OK && tg_optim_step(opt))) {
                cli_error(cmd, "step %lld: %s", (long long)i + 1,
                          c == TG_CLIP_INVALID ? err : tg_optim_error(opt));
                goto done;
            }
        }
        for (int i = 0; i < cm.n; i++)
            if (add(&res, cm.params[i].name, cm.params[i].tensor, NULL)) goto oom;
        if (add(&res, "loss", losses, NULL)) goto oom;
    }
    if (tg_safetensors_save_as(opath, "F32", res.n, res.items, 0, NULL, err, sizeof err)) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    status = CLI_OK;
    goto done;
tape_error:
    cli_error(cmd, "%s", tg_tape_error(tape) ? tg_tape_error(tape) : "out of memory");
    goto done;
oom:
    cli_error(cmd, "out of memory");
done:
    results_free(&res);
    tg_tensor_free(losses);
    tg_optim_free(opt);
    tg_model_state_free(st);
    tg_tape_free(tape);
    tg_safetensors_close(f);
    cli_model_free(&cm);
    tg_spec_free(s);
    return status;
}
