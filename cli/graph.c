/* tapegrad graph and tapegrad step: one small training step of a spec's
 * model (random input of T steps, B sequences, random targets, forward,
 * loss, backward) recorded on a tape, then drawn (DOT, or SVG/PNG through
 * Graphviz's dot, or the JSON trace) or stepped through node by node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char GRAPH_HELP[] =
    "usage: tapegrad graph SPEC [--steps T] [--batch B] [--format dot|svg|png|json|html]\n"
    "                          [--out FILE] [--no-grads] [--fused] [--seed S]\n"
    "\n"
    "Unrolls the spec's model over T steps (default 3) for B sequences (default\n"
    "1) of random input, runs one forward and backward pass, and writes the tape:\n"
    "Graphviz DOT with each time step a cluster and every parameter drawn once\n"
    "with an edge to each of its uses (the weight sharing that makes BPTT), with\n"
    "gradient norms unless --no-grads; svg and png go through Graphviz's 'dot'\n"
    "(apt-get install graphviz); json is the trace of nodes, edges, values and\n"
    "gradients; html is one self-contained page that draws the graph and steps\n"
    "through forward and backward with a slider (no Graphviz needed).\n"
    "Recurrent cells are drawn gate by gate (lstm.l0.t2.forget_gate, ...), the\n"
    "composed ops the fused kernels are tested against; --fused draws what\n"
    "training runs instead: one fused node per step.\n"
    "Output goes to --out (required for png), else to standard output.\n";

static const char STEP_HELP[] =
    "usage: tapegrad step SPEC [--steps T] [--batch B] [--seed S] [--fused]\n"
    "                         [--script \"n n b ...\" | --dump]\n"
    "\n"
    "A debugger over one training step of the spec's model (T steps, default 3,\n"
    "B sequences of random input, default 1): walk the tape forward, then\n"
    "backward, one node at a time, seeing each op, its inputs and value, and in\n"
    "backward the incoming gradient and what it adds to each input's gradient\n"
    "(the += that sums a shared weight's gradient over time steps).\n"
    "Commands: n next, p previous, fw/bw first forward/backward screen,\n"
    "j N|NAME jump (to a node, or to the next node that reads a parameter:\n"
    "j weight_hh_l0), l list, h help, q quit. --script runs commands without a\n"
    "terminal; --dump prints every screen in both directions. Cells are shown\n"
    "gate by gate unless --fused (as in tapegrad graph).\n";

/* Random data of the spec's kind, one forward/backward pass on t. */
static int record_step(const char *cmd, tg_tape *t, cli_model *cm, int64_t T, int64_t B,
                       uint64_t seed, bool backward, int64_t **ids_out, int64_t **tgt_out) {
    const tg_spec *s = cm->spec;
    tg_rng r;
    tg_rng_seed(&r, seed + 1);
    int64_t classes = s->output_size > 0 ? s->output_size : 1, n = T * B;
    int64_t *ids = calloc((size_t)n, sizeof *ids), *tgt = calloc((size_t)n, sizeof *tgt);
    *ids_out = ids, *tgt_out = tgt;
    if (!ids || !tgt) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    for (int64_t i = 0; i < n; i++) {
        ids[i] = s->input == TG_INPUT_TOKENS ? (int64_t)tg_rng_below(&r, (uint64_t)s->vocab) : 0;
        tgt[i] = (int64_t)tg_rng_below(&r, (uint64_t)classes);
    }
    tg_model_batch b = {.T = T, .B = B, .target_ids = tgt};
    int64_t *cond = s->cond_size ? malloc((size_t)B * sizeof *cond) : NULL; /* input.condition */
    for (int64_t j = 0; cond && j < B; j++)
        cond[j] = (int64_t)tg_rng_below(&r, (uint64_t)s->cond_size);
    b.cond = cond;
    tg_shape tb = s->batch_first ? TG_SHAPE(B, T, 0) : TG_SHAPE(T, B, 0);
    if (s->input == TG_INPUT_TOKENS)
        b.ids = ids;
    else {
        tb.dim[2] = s->input_size;
        b.x = tg_rand_uniform(t, &r, tb, -1, 1);
    }
    if (s->task == TG_TASK_REGRESS) {
        tg_shape ts = s->pooled ? TG_SHAPE(B, classes) : tb;
        if (!s->pooled) ts.dim[2] = classes;
        b.target = tg_rand_uniform(t, &r, ts, -1, 1);
    }
    tg_module_train(&cm->model->base, false); /* no dropout in a picture */
    tg_tensor *loss = s->cond_size && !cond ? NULL : tg_model_loss(t, cm->model, &b, NULL);
    if (loss && backward) {
        tg_module_zero_grad(&cm->model->base);
        tg_backward(t, loss);
    }
    free(cond);
    if (!loss && !tg_tape_error(t)) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    if (tg_tape_error(t)) {
        cli_error(cmd, "%s", tg_tape_error(t));
        return CLI_FAIL;
    }
    return 0;
}

/* Pictures and the stepper show each gate as its own op (the composed
 * cells, which tests keep equal to the fused kernels) unless `fused`
 * asks for what training runs: one fused node per step. */
static void set_cells(cli_model *cm, bool fused) {
    for (int i = 0; i < cm->model->n_layers; i++)
        if (tg_spec_is_rnn_layer(cm->model->layers[i].type))
            ((tg_rnn *)cm->model->mods[i])->opt.composed = !fused;
}

/* The spec and its model, with a vocabulary of 8 when the spec leaves it
 * to the data (there is no data here; seq2seq: both vocabularies). */

static int load(const char *cmd, const char *path, cli_model *cm, uint64_t seed, bool fused) {
    tg_spec *s = cli_load_spec(cmd, path);
    if (!s) return CLI_USAGE;
    char err[512];
    if (s->task == TG_TASK_TREE) { /* its batches are trees, not random sequences */
        cli_error(cmd, "%s: task tree: %s works on sequence models, not tree nets", path, cmd);
        tg_spec_free(s);
        return CLI_USAGE;
    }
    if ((s->input == TG_INPUT_TOKENS && s->vocab == 0 &&
         tg_spec_set_vocab(s, 8, err, sizeof err)) ||
        (s->task == TG_TASK_SEQ2SEQ && tg_spec_set_target_vocab(s, 8, err, sizeof err))) {
        cli_error(cmd, "%s", err);
        tg_spec_free(s);
        return CLI_USAGE;
    }
    int rc = cli_model_build(cmd, cm, s, seed);
    if (rc)
        tg_spec_free(s);
    else
        set_cells(cm, fused);
    return rc;
}

static void unload(cli_model *cm) {
    tg_spec *s = cm->spec;
    cli_model_free(cm);
    tg_spec_free(s);
}

/* Writes DOT into Graphviz's dot, which writes FORMAT to out. */
static int through_dot(const char *cmd, const tg_tape *t, const tg_dot_options *o,
                       const char *format, const char *out) {
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        cli_error(cmd,
                  "--format %s needs Graphviz's 'dot' (apt-get install graphviz); "
                  "--format dot writes the graph without it",
                  format);
        return CLI_FAIL;
    }
    char command[4096];
    snprintf(command, sizeof command, "dot -T%s%s%s", format, out ? " -o " : "", out ? "'" : "");
    if (out) {
        if (strchr(out, '\'')) {
            cli_error(cmd, "--out %s: a quote in the file name is not supported", out);
            return CLI_USAGE;
        }
        strncat(command, out, sizeof command - strlen(command) - 2);
        strcat(command, "'");
    }
    FILE *p = popen(command, "w");
    if (!p) {
        cli_error(cmd, "cannot run dot");
        return CLI_FAIL;
    }
    tg_tape_dot(t, p, o);
    if (pclose(p) != 0) {
        cli_error(cmd, "dot failed");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_graph(int argc, char **argv) {
    const char *cmd = "graph", *spec_path = NULL, *format = "dot", *out = NULL;
    int64_t T = 3, B = 1, seed = 1;
    bool no_grads = false, fused = false;
    cli_option opts[] = {
        {"--steps", CLI_INT, &T, 1, 1000, false},
        {"--batch", CLI_INT, &B, 1, 1024, false},
        {"--format", CLI_STR, &format, 0, 0, false},
        {"--out", CLI_STR, &out, 0, 0, false},
        {"--no-grads", CLI_FLAG, &no_grads, 0, 0, false},
        {"--fused", CLI_FLAG, &fused, 0, 0, false},
        {"--seed", CLI_INT, &seed, 0, 9007199254740992.0, false},
    };
    int got = 0, rc = cli_parse(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts),
                                &spec_path, 1, &got, GRAPH_HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!got) {
        cli_error(cmd, "SPEC is required (see 'tapegrad graph --help')");
        return CLI_USAGE;
    }
    bool dot = !strcmp(format, "dot"), json = !strcmp(format, "json");
    bool html = !strcmp(format, "html");
    if (!dot && !json && !html && strcmp(format, "svg") && strcmp(format, "png")) {
        cli_error(cmd, "--format %s: expected dot, svg, png, json or html", format);
        return CLI_USAGE;
    }
    if (!strcmp(format, "png") && !out) {
        cli_error(cmd, "--format png needs --out FILE");
        return CLI_USAGE;
    }
    cli_model cm;
    if ((rc = load(cmd, spec_path, &cm, (uint64_t)seed, fused))) return rc;
    tg_tape *t = tg_tape_new();
    int64_t *ids = NULL, *tgt = NULL;
    rc = t ? record_step(cmd, t, &cm, T, B, (uint64_t)seed, !no_grads, &ids, &tgt) : CLI_FAIL;
    tg_dot_options o = {.grads = !no_grads, .title = spec_path};
    tg_html_options ho = {.title = spec_path};
    if (!rc && (dot || json || html)) {
        FILE *f = out ? fopen(out, "w") : stdout;
        if (!f) {
            cli_error(cmd, "%s: cannot write", out);
            rc = CLI_FAIL;
        } else {
            int w = json   ? tg_tape_json(t, f)
                    : html ? tg_tape_html(t, f, &ho)
                           : tg_tape_dot(t, f, &o);
            if ((out && fclose(f) != 0) || w != 0) {
                cli_error(cmd, "%s: write failed", out ? out : "standard output");
                rc = CLI_FAIL;
            }
        }
    } else if (!rc) {
        rc = through_dot(cmd, t, &o, format, out);
    }
    free(ids);
    free(tgt);
    tg_tape_free(t);
    unload(&cm);
    return rc;
}

int cli_step(int argc, char **argv) {
    const char *cmd = "step", *spec_path = NULL, *script = NULL;
    int64_t T = 3, B = 1, seed = 1;
    bool dump = false, fused = false;
    cli_option opts[] = {
        {"--steps", CLI_INT, &T, 1, 1000, false},
        {"--batch", CLI_INT, &B, 1, 1024, false},
        {"--script", CLI_STR, &script, 0, 0, false},
        {"--dump", CLI_FLAG, &dump, 0, 0, false},
        {"--fused", CLI_FLAG, &fused, 0, 0, false},
        {"--seed", CLI_INT, &seed, 0, 9007199254740992.0, false},
    };
    int got = 0, rc = cli_parse(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts),
                                &spec_path, 1, &got, STEP_HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!got) {
        cli_error(cmd, "SPEC is required (see 'tapegrad step --help')");
        return CLI_USAGE;
    }
    cli_model cm;
    if ((rc = load(cmd, spec_path, &cm, (uint64_t)seed, fused))) return rc;
    tg_tape *t = tg_tape_new();
    int64_t *ids = NULL, *tgt = NULL;
    rc = t ? record_step(cmd, t, &cm, T, B, (uint64_t)seed, true, &ids, &tgt) : CLI_FAIL;
    char err[512];
    tg_stepper *st = rc ? NULL : tg_stepper_new(t, err, sizeof err);
    if (!rc && !st) {
        cli_error(cmd, "%s", err);
        rc = CLI_FAIL;
    }
    if (st) {
        int w = dump     ? tg_stepper_dump(st, stdout)
                : script ? tg_stepper_script(st, script, stdout)
                         : tg_stepper_interact(st, stdin, stdout);
        if (w != 0) rc = CLI_FAIL;
        tg_stepper_free(st);
    }
    free(ids);
    free(tgt);
    tg_tape_free(t);
    unload(&cm);
    return rc;
}
