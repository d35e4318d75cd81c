/* Spec files of task seq2seq: every key parses into tg_seq2seq_options and
 * the decoding and sampling settings, the defaults, a table of malformed
 * specs each with its exact message, the model a spec builds (parameter
 * names, and its loss equal to tg_seq2seq_loss on the same batch), and
 * tg_edit_distance. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define HEAD "{\"tapegrad\": 1, \"task\": \"seq2seq\", "
#define INPUT "\"input\": {\"type\": \"tokens\", \"source\": \"chars\"}, "
#define ENC "\"encoder\": {\"type\": \"gru\", \"embedding\": 3, \"hidden\": 5}"
#define OK HEAD INPUT "\"model\": {" ENC "}"

static tg_spec *parse_ok(const char *json) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

START_TEST(every_key) {
    tg_spec *s = parse_ok(
        HEAD
        "\"input\": {\"type\": \"tokens\", \"source\": \"chars\", \"target\": \"spaces\"},"
        "\"model\": {\"encoder\": {\"type\": \"lstm\", \"embedding\": 8, \"hidden\": 6,"
        " \"num_layers\": 2, \"bidirectional\": true},"
        " \"decoder\": {\"type\": \"gru\", \"embedding\": 5, \"hidden\": 12, \"num_layers\": 3},"
        " \"attention\": \"additive\", \"attention_size\": 7, \"context\": \"input\","
        " \"output_hidden\": 9, \"dropout\": 0.25},"
        "\"train\": {\"sampling\": {\"decay\": \"linear\", \"k\": 1, \"c\": 0.01, "
        "\"eps_min\": 0.5}},"
        "\"decode\": {\"beam\": 4, \"length_penalty\": 0.5, \"max_length\": 30}}");
    const tg_seq2seq_spec *q = &s->seq2seq;
    const tg_seq2seq_options *o = &q->model;
    ck_assert_int_eq(s->task, TG_TASK_SEQ2SEQ);
    ck_assert_str_eq(tg_task_name(s->task), "seq2seq");
    ck_assert(s->batch_first);
    ck_assert_int_eq(s->n_layers, 0);
    ck_assert_int_eq(q->source, TG_SPLIT_CHARS);
    ck_assert_int_eq(q->target, TG_SPLIT_SPACES);
    ck_assert_int_eq(o->encoder_mode, TG_LSTM);
    ck_assert_int_eq(o->embed_size, 8);
    ck_assert_int_eq(o->encoder_hidden, 6);
    ck_assert_int_eq(o->encoder_layers, 2);
    ck_assert(o->bidirectional);
    ck_assert_int_eq(o->decoder_mode, TG_GRU);
    ck_assert_int_eq(o->tgt_embed_size, 5);
    ck_assert_int_eq(o->decoder_hidden, 12);
    ck_assert_int_eq(o->decoder_layers, 3);
    ck_assert_int_eq(o->attention, TG_ATTN_ADDITIVE);
    ck_assert_int_eq(o->attention_size, 7);
    ck_assert_int_eq(o->context, TG_CONTEXT_INPUT);
    ck_assert_int_eq(o->output_hidden, 9);
    ck_assert_double_eq(o->dropout, 0.25);
    ck_assert_int_eq(o->bos, 0);
    ck_assert_int_eq(o->eos, 1);
    ck_assert(q->scheduled);
    ck_assert_int_eq(q->schedule.decay, TG_SAMPLING_LINEAR);
    ck_assert_double_eq(q->schedule.c, 0.01);
    ck_assert_double_eq(q->schedule.eps_min, 0.5);
    /* eps = max(0.5, 1 - 0.01 i): 1 - eps */
    ck_assert_double_eq_tol(tg_spec_sampling_prob(s, 0), 0, 1e-12);
    ck_assert_double_eq_tol(tg_spec_sampling_prob(s, 20), 0.2, 1e-12);
    ck_assert_double_eq_tol(tg_spec_sampling_prob(s, 1000), 0.5, 1e-12);
    ck_assert(s->has_decode);
    ck_assert_int_eq(q->decode.width, 4);
    ck_assert_double_eq(q->decode.length_penalty, 0.5);
    ck_assert_int_eq(q->decode.max_len, 30);
    tg_spec_free(s);
}
END_TEST

START_TEST(defaults) {
    tg_spec *s = parse_ok(OK ", \"train\": {\"sampling\": 0.25}}");
    const tg_seq2seq_spec *q = &s->seq2seq;
    const tg_seq2seq_options *o = &q->model;
    ck_assert_int_eq(q->target, TG_SPLIT_SPACES);
    ck_assert_int_eq(o->decoder_mode, TG_GRU); /* the encoder's */
    ck_assert_int_eq(o->tgt_embed_size, 3);
    ck_assert_int_eq(o->decoder_hidden, 5);
    ck_assert_int_eq(o->decoder_layers, 1);
    ck_assert_int_eq(o->attention, TG_ATTN_NONE);
    ck_assert_int_eq(o->context, TG_CONTEXT_BOTH);
    ck_assert(!q->scheduled);
    ck_assert_double_eq(tg_spec_sampling_prob(s, 123), 0.25);
    ck_assert(!s->has_decode);
    ck_assert_int_eq(q->decode.width, 1);
    ck_assert_double_eq(q->decode.length_penalty, 1.0);
    ck_assert_int_eq(q->decode.max_len, 0);
    tg_spec_free(s);
    /* an inverse sigmoid: eps(i) = k / (k + exp(i / k)) */
    s = parse_ok(OK ", \"train\": {\"sampling\": {\"decay\": \"inverse_sigmoid\", \"k\": 10}}}");
    ck_assert_double_eq_tol(tg_spec_sampling_prob(s, 20), 1 - 10 / (10 + exp(2.0)), 1e-12);
    tg_spec_free(s);
}
END_TEST

static const struct {
    const char *json, *want;
} BAD[] = {
    {HEAD "\"input\": {\"type\": \"vectors\"}}",
     "spec.json: input.type: unknown input type for task seq2seq 'vectors' (known: tokens)"},
    {HEAD "\"input\": {\"type\": \"tokens\", \"vocab\": 5}}",
     "spec.json: input.vocab: unknown key; valid keys: type, source, target"},
    {HEAD "\"input\": {\"type\": \"tokens\", \"source\": \"char\"}}",
     "spec.json: input.source: unknown split 'char'; did you mean 'chars'? (known: spaces, "
     "chars)"},
    {HEAD INPUT "\"model\": {\"layers\": []}}",
     "spec.json: model.layers: unknown key; valid keys: encoder, decoder, attention, "
     "attention_size, context, dropout, output_hidden"},
    {HEAD INPUT "\"model\": {}}",
     "spec.json: model.encoder: missing; expected {\"type\": \"lstm\", \"embedding\": 64, "
     "\"hidden\": 128}"},
    {HEAD INPUT "\"model\": {\"encoder\": {\"type\": \"lstm\", \"hidden\": 4}}}",
     "spec.json: model.encoder.embedding: missing; expected a positive integer"},
    {HEAD INPUT "\"model\": {\"encoder\": {\"type\": \"lstn\", \"embedding\": 2, \"hidden\": 4}}}",
     "spec.json: model.encoder.type: unknown recurrent type 'lstn'; did you mean 'lstm'? "
     "(known: rnn, lstm, gru)"},
    {HEAD INPUT "\"model\": {" ENC ", \"decoder\": {\"hidden\": -3}}}",
     "spec.json: model.decoder.hidden: expected a positive integer, got -3"},
    {HEAD INPUT "\"model\": {" ENC ", \"decoder\": {\"bidirectional\": true}}}",
     "spec.json: model.decoder.bidirectional: unknown key; valid keys: type, embedding, hidden, "
     "num_layers, nonlinearity"},
    {HEAD INPUT "\"model\": {" ENC ", \"decoder\": {\"num_layers\": 9}}}",
     "spec.json: model.decoder.num_layers: expected a positive integer up to 8, got 9"},
    {HEAD INPUT "\"model\": {" ENC ", \"decoder\": {\"nonlinearity\": \"relu\"}}}",
     "spec.json: model.decoder.nonlinearity: only an \"rnn\" has a nonlinearity; this one "
     "is \"gru\""},
    {HEAD INPUT "\"model\": {" ENC ", \"attention\": \"bahdanau\"}}",
     "spec.json: model.attention: unknown attention 'bahdanau' (known: none, additive, dot, "
     "general)"},
    {HEAD INPUT "\"model\": {" ENC ", \"attention\": \"dot\", \"attention_size\": 4}}",
     "spec.json: model.attention_size: only additive attention has a size, this is \"dot\""},
    {HEAD INPUT "\"model\": {" ENC ", \"decoder\": {\"hidden\": 6}, \"attention\": \"dot\"}}",
     "spec.json: model.attention: dot attention needs decoder.hidden equal to the encoder's "
     "output size 5, got 6"},
    {HEAD INPUT "\"model\": {" ENC ", \"context\": \"initial\"}}",
     "spec.json: model.context: unknown context 'initial'; did you mean 'init'? (known: both, "
     "init, input)"},
    {HEAD INPUT "\"model\": {" ENC ", \"dropout\": 1}}",
     "spec.json: model.dropout: expected a number in [0, 1), got 1"},
    {OK ", \"loss\": {\"type\": \"mse\"}}",
     "spec.json: loss.type: task seq2seq uses cross_entropy, got \"mse\""},
    {OK ", \"train\": {\"sampling\": 1.5}}",
     "spec.json: train.sampling: expected a probability in [0, 1] or a schedule, got 1.5"},
    {OK ", \"train\": {\"sampling\": {\"decay\": \"exponential\"}}}",
     "spec.json: train.sampling.k: missing; expected a number in (0, 1)"},
    {OK ", \"train\": {\"sampling\": {\"decay\": \"inverse_sigmoid\", \"k\": 0.5}}}",
     "spec.json: train.sampling.k: expected a number >= 1, got 0.5"},
    {OK ", \"train\": {\"sampling\": {\"decay\": \"exponential\", \"k\": 0.9, \"c\": 1}}}",
     "spec.json: train.sampling.c: only the \"linear\" decay has c"},
    {OK ", \"decode\": {\"beam\": 0}}",
     "spec.json: decode.beam: expected a positive integer, got 0"},
    {OK ", \"decode\": {\"width\": 3}}",
     "spec.json: decode.width: unknown key; valid keys: beam, length_penalty, max_length"},
    {OK ", \"sample\": {\"length\": 3}}",
     "spec.json: sample: sampling needs task language_model, not seq2seq"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "
     "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}]}, \"decode\": {}}",
     "spec.json: decode: decoding needs task seq2seq, not tag"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "
     "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}]}, \"train\": {\"sampling\": "
     "0.5}}",
     "spec.json: train.sampling: scheduled sampling needs task seq2seq, not tag"},
};

START_TEST(malformed) {
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++)
        ck_assert_spec_error(BAD[i].json, BAD[i].want);
}
END_TEST

/* The model of a spec is tg_seq2seq_new's, and its loss is tg_seq2seq_loss. */
START_TEST(model_is_the_encoder_decoder) {
    tg_spec *s = parse_ok(HEAD INPUT "\"model\": {" ENC ", \"decoder\": {\"type\": \"lstm\", "
                                     "\"hidden\": 6}, \"attention\": \"general\"}}");
    char err[512];
    tg_rng r;
    tg_rng_seed(&r, 3);
    ck_assert_ptr_null(tg_model_new(s, &r, err, sizeof err));
    ck_assert_str_eq(err, "spec.json: input.vocab: not known yet; give it in the spec, or take "
                          "it from the data with tg_spec_set_vocab");
    ck_assert_int_eq(tg_spec_set_vocab(s, 7, err, sizeof err), 0);
    ck_assert_ptr_null(tg_model_new(s, &r, err, sizeof err));
    ck_assert_str_eq(err, "spec.json: model: the target vocabulary is not known yet; take it "
                          "from the data with tg_spec_set_target_vocab");
    ck_assert_int_eq(tg_spec_set_target_vocab(s, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "spec.json: the data's target vocabulary of 2 symbols (with the "
                          "markers <s> and </s>) is outside [3, 16777216]");
    ck_assert_int_eq(tg_spec_set_target_vocab(s, 6, err, sizeof err), 0);
    ck_assert_int_eq(s->output_size, 6);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_str_eq(p->items[0].name, "src_embed.weight");
    ck_assert_int_eq(p->items[0].tensor->shape[0], 7);
    ck_assert_str_eq(p->items[p->n - 1].name, "out.bias");
    ck_assert_int_eq(p->items[p->n - 1].tensor->shape[0], 6);
    ck_assert_ptr_nonnull(m->s2s->attention);

    /* two pairs: sources [2, 3] padded, targets with the end marker (1) */
    int64_t src[] = {2, 3, 4, 5, 6, 0}, src_len[] = {3, 2};
    int64_t tgt[] = {2, 3, 1, 4, 1, 1}, tgt_len[] = {3, 2};
    tg_model_batch b = {.T = 3,
                        .B = 2,
                        .ids = src,
                        .lengths = src_len,
                        .target_ids = tgt,
                        .target_T = 3,
                        .target_lengths = tgt_len};
    tg_module_train(&m->base, false);
    tg_tape *t = tg_tape_new();
    tg_model_output out;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &out), 0);
    ck_assert_int_eq(out.output->shape[0], 2);
    ck_assert_int_eq(out.output->shape[1], 3);
    ck_assert_int_eq(out.output->shape[2], 6);
    tg_tensor *loss = tg_model_loss(t, m, &b, &out);
    ck_assert_ptr_nonnull(loss);
    double via_model = (double)loss->data[0];
    tg_tape_reset(t);
    tg_s2s_batch sb = {2, 3, 3, src, src_len, tgt, tgt_len};
    tg_tensor *direct = tg_seq2seq_loss(t, m->s2s, &sb, 0);
    ck_assert_ptr_nonnull(direct);
    ck_assert_double_eq_tol(via_model, (double)direct->data[0], 1e-6);
    ck_assert(via_model > 1 && via_model < 3); /* about ln 6 for fresh weights */
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_model_step(t, m, src, NULL, 2, NULL));
    tg_tape_reset(t);
    tg_model_state *st = tg_model_state_new(m);
    ck_assert_ptr_null(tg_model_step(t, m, src, NULL, 2, st));
    ck_assert_str_eq(tg_tape_error(t), "tg_model_step: a seq2seq model decodes with "
                                       "tg_seq2seq_greedy or tg_seq2seq_beam (on m->s2s)");
    tg_model_state_free(st);
    tg_tape_free(t);
    tg_model_free(m);
    tg_spec_free(s);
}
END_TEST

/* The example of examples/g2p (also in docs/spec.md) is g2p.c's model. */
START_TEST(g2p_example) {
    char err[512];
    tg_spec *s = tg_spec_load("examples/g2p/spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    const tg_seq2seq_options *o = &s->seq2seq.model;
    ck_assert_int_eq(s->seq2seq.source, TG_SPLIT_CHARS);
    ck_assert_int_eq(s->seq2seq.target, TG_SPLIT_SPACES);
    ck_assert_int_eq(o->encoder_mode, TG_LSTM);
    ck_assert(o->bidirectional);
    ck_assert_int_eq(o->encoder_hidden, 128);
    ck_assert_int_eq(o->decoder_hidden, 256);
    ck_assert_int_eq(o->attention, TG_ATTN_ADDITIVE);
    ck_assert_int_eq(o->attention_size, 64);
    ck_assert_int_eq(tg_spec_set_vocab(s, 29, err, sizeof err), 0);        /* 27 + <pad>, <unk> */
    ck_assert_int_eq(tg_spec_set_target_vocab(s, 41, err, sizeof err), 0); /* 39 + markers */
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    /* g2p.c's 914,601 with its 27 letters and 41 targets, plus two source rows */
    ck_assert_int_eq(tg_module_numel(&m->base), 914601 + 2 * 64);
    tg_model_free(m);
    tg_spec_free(s);
}
END_TEST

START_TEST(edit_distance) {
    int64_t kitten[] = {'k', 'i', 't', 't', 'e', 'n'},
            sitting[] = {'s', 'i', 't', 't', 'i', 'n', 'g'};
    ck_assert_int_eq(tg_edit_distance(kitten, 6, sitting, 7), 3);
    ck_assert_int_eq(tg_edit_distance(sitting, 7, kitten, 6), 3);
    ck_assert_int_eq(tg_edit_distance(kitten, 6, kitten, 6), 0);
    ck_assert_int_eq(tg_edit_distance(kitten, 0, sitting, 7), 7);
    ck_assert_int_eq(tg_edit_distance(kitten, 6, sitting, 0), 6);
    int64_t a[100], b[100];
    for (int i = 0; i < 100; i++) a[i] = i, b[i] = 99 - i;
    ck_assert_int_eq(tg_edit_distance(a, 100, a, 100), 0);
    ck_assert_int_eq(tg_edit_distance(a, 100, b, 100), 100);
}
END_TEST

TCase *tcase_spec_seq2seq(void) {
    TCase *tc = tcase_create("spec_seq2seq");
    tcase_add_test(tc, every_key);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, model_is_the_encoder_decoder);
    tcase_add_test(tc, g2p_example);
    tcase_add_test(tc, edit_distance);
    return tc;
}
