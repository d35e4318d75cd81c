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

/* The command line. */
typedef struct run_args {
    const char *spec, *weights, *input, *out;
    bool grad;
    int64_t train_steps, threads;
} run_args;

/* Everything one run holds; run_free releases it. */
typedef struct run_job {
    const char *cmd;
    run_args a;
    tg_spec *s;
    cli_model cm;
    tg_st_file *f;
    batch_in in;
    int kr; /* the last recurrent layer, or -1 */
    tg_tape *tape;
    tg_model_state *st;
    tg_optim *opt;
    tg_tensor *losses;
    results res;
    char err[1024];
} run_job;

static int parse_args(const char *cmd, int argc, char **argv, run_args *a) {
    cli_option opts[] = {
        {"--weights", CLI_STR, &a->weights, 0, 0, false},
        {"--input", CLI_STR, &a->input, 0, 0, false},
        {"--out", CLI_STR, &a->out, 0, 0, false},
        {"--grad", CLI_FLAG, &a->grad, 0, 0, false},
        {"--train-steps", CLI_INT, &a->train_steps, 0, 1e9, false},
        {"--threads", CLI_INT, &a->threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &a->spec, 1, &got, HELP);
    if (rc) return rc;
    if (!got || !a->weights || !a->input || !a->out) {
        cli_error(cmd, "%s is required (see 'tapegrad run --help')",
                  !got          ? "SPEC"
                  : !a->weights ? "--weights"
                  : !a->input   ? "--input"
                                : "--out");
        return CLI_USAGE;
    }
    return 0;
}

/* The tasks run cannot take. CLI_USAGE after a message, or 0. */
static int check_task(const char *cmd, const tg_spec *s, const char *spec_path) {
    if (s->task == TG_TASK_TREE) {
        cli_error(cmd,
                  "%s: task tree: run reads batches of sequences; train and eval read tree "
                  "files",
                  spec_path);
        return CLI_USAGE;
    }
    if (s->task == TG_TASK_SEQ2SEQ) { /* its vocabularies come from data */
        cli_error(cmd,
                  "%s: task seq2seq: run is for the layer-list tasks (seq2seq: train, eval, "
                  "translate)",
                  spec_path);
        return CLI_USAGE;
    }
    if (s->input == TG_INPUT_TOKENS && !s->vocab) {
        cli_error(cmd, "%s: input.vocab: run needs the vocabulary size in the spec", spec_path);
        return CLI_USAGE;
    }
    return 0;
}

/* The model with its weights, the batch, a tape and a state. */
static int load(run_job *r) {
    const char *cmd = r->cmd, *xpath = r->a.input;
    int status = cli_model_build(cmd, &r->cm, r->s, r->s->train.seed);
    if (status) return status;
    if (tg_safetensors_load_into(r->a.weights, r->cm.n, r->cm.params, r->err, sizeof r->err) ||
        !(r->f = tg_safetensors_open(xpath, r->err, sizeof r->err)) ||
        read_batch(r->s, r->f, xpath, &r->in, r->err, sizeof r->err)) {
        cli_error(cmd, "%s", r->err);
        return CLI_FAIL;
    }
    r->kr = last_recurrent(r->cm.model);
    if (r->kr < 0 && (r->in.h0 || r->in.c0)) {
        cli_error(cmd, "%s: h0/c0 given, but the model has no recurrent layer", xpath);
        return CLI_FAIL;
    }
    if (r->a.train_steps && !r->in.target && !r->in.target_ids) {
        cli_error(cmd, "%s: --train-steps needs a tensor named 'target'", xpath);
        return CLI_USAGE;
    }
    r->tape = tg_tape_new();
    r->st = tg_model_state_new(r->cm.model);
    if (!r->tape || !r->st) return cli_error(cmd, "out of memory"), CLI_FAIL;
    return 0;
}

/* The tape's message (or out of memory): CLI_FAIL. */
static int tape_failed(const run_job *r) {
    cli_error(r->cmd, "%s", tg_tape_error(r->tape) ? tg_tape_error(r->tape) : "out of memory");
    return CLI_FAIL;
}

static int out_of_memory(const run_job *r) {
    cli_error(r->cmd, "out of memory");
    return CLI_FAIL;
}

/* Outputs (and gradients) of the given weights, without dropout. */
static int outputs(run_job *r) {
    cli_model *cm = &r->cm;
    tg_tape *tape = r->tape;
    tg_module_train(&cm->model->base, false);
    tg_model_batch b;
    tg_model_output out;
    tg_tensor *x;
    bool grad_x = r->a.grad && r->s->input == TG_INPUT_VECTORS;
    if (forward(tape, cm, &r->in, r->st, r->kr, grad_x, &b, &out, &x)) return tape_failed(r);
    if (add(&r->res, "output", out.output, NULL) ||
        (out.h_n && add(&r->res, "h_n", out.h_n, NULL)) ||
        (out.c_n && add(&r->res, "c_n", out.c_n, NULL)))
        return out_of_memory(r);
    if (!r->a.grad) return 0;
    tg_tensor *y = tg_sum(tape, out.output);
    if (out.h_n) y = tg_add(tape, y, tg_sum(tape, out.h_n));
    if (out.c_n) y = tg_add(tape, y, tg_sum(tape, out.c_n));
    tg_module_zero_grad(&cm->model->base);
    if (!y || tg_backward(tape, y)) return tape_failed(r);
    for (int i = 0; i < cm->n; i++) {
        char name[300];
        snprintf(name, sizeof name, "grad.%s", cm->params[i].name);
        if (add(&r->res, name, cm->params[i].tensor, cm->params[i].tensor->grad))
            return out_of_memory(r);
    }
    if (grad_x && add(&r->res, "grad.input", x, x->grad)) return out_of_memory(r);
    return 0;
}

/* --train-steps N on this batch: the parameters after them, and loss [N]. */
static int train_steps(run_job *r) {
    cli_model *cm = &r->cm;
    tg_optim_spec *os = &r->s->optim;
    tg_module_train(&cm->model->base, true);
    r->opt = tg_optim_spec_build(os, cm->tensors, cm->n);
    r->losses = tg_tensor_new(TG_SHAPE(r->a.train_steps));
    if (!r->opt || !r->losses) return out_of_memory(r);
    for (int64_t i = 0; i < r->a.train_steps; i++) {
        tg_tape_reset(r->tape);
        tg_model_batch b;
        tg_model_output out;
        tg_tensor *x, *loss = NULL;
        if (forward(r->tape, cm, &r->in, r->st, r->kr, false, &b, &out, &x) == 0)
            loss = tg_model_loss(r->tape, cm->model, &b, &out);
        tg_optim_zero_grad(r->opt);
        if (!loss || tg_backward(r->tape, loss)) return tape_failed(r);
        r->losses->data[i] = loss->data[0];
        int c = tg_optim_spec_prepare(os, r->opt, (int)i, NULL, r->err, sizeof r->err);
        if (c == TG_CLIP_INVALID || (c == TG_CLIP_OK && tg_optim_step(r->opt))) {
            cli_error(r->cmd, "step %lld: %s", (long long)i + 1,
                      c == TG_CLIP_INVALID ? r->err : tg_optim_error(r->opt));
            return CLI_FAIL;
        }
    }
    for (int i = 0; i < cm->n; i++)
        if (add(&r->res, cm->params[i].name, cm->params[i].tensor, NULL)) return out_of_memory(r);
    if (add(&r->res, "loss", r->losses, NULL)) return out_of_memory(r);
    return 0;
}

static int save(run_job *r) {
    if (tg_safetensors_save_as(r->a.out, "F32", r->res.n, r->res.items, 0, NULL, r->err,
                               sizeof r->err)) {
        cli_error(r->cmd, "%s", r->err);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static void run_free(run_job *r) {
    results_free(&r->res);
    tg_tensor_free(r->losses);
    tg_optim_free(r->opt);
    tg_model_state_free(r->st);
    tg_tape_free(r->tape);
    tg_safetensors_close(r->f);
    cli_model_free(&r->cm);
    tg_spec_free(r->s);
}

int cli_run(int argc, char **argv) {
    static const char cmd[] = "run";
    run_args a = {0};
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (a.threads) tg_set_threads((int)a.threads);
    run_job job = {.cmd = cmd, .a = a}, *r = &job;
    if (!(r->s = cli_load_spec(cmd, a.spec))) return CLI_USAGE;
    int status = check_task(cmd, r->s, a.spec);
    if (!status && !(status = load(r)) && !(status = outputs(r)) &&
        !(a.train_steps && (status = train_steps(r))))
        status = save(r);
    run_free(r);
    return status;
}
