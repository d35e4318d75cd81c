/* Spec files: every task and layer type parses into the right fields, the
 * examples in tests/nn/specs and docs/spec.md parse, vocabularies taken
 * from the data, and a table of malformed specs each with its exact
 * message (under make test-asan, also without a leak). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "model/model_impl.h" /* JSON sections fed directly */

#define SPEC_HEAD "{\"tapegrad\": 1, "
/* a valid tag model over vectors, to hang one mistake on */
#define VEC "\"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "
#define GRU "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}]}"
#define OK_TAG SPEC_HEAD VEC GRU

static tg_spec *parse_ok(const char *json) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_str_eq(err, "");
    return s;
}

/* ---- every task and layer type ------------------------------------------------ */

START_TEST(every_layer_type) {
    tg_spec *s = parse_ok(
        SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "
                  "\"model\": {\"layers\": ["
                  "{\"type\": \"rnn\", \"hidden\": 5, \"nonlinearity\": \"relu\", \"input\": 3},"
                  "{\"type\": \"lstm\", \"hidden\": 4, \"num_layers\": 2, \"bidirectional\": true,"
                  " \"dropout\": 0.25, \"name\": \"enc\"},"
                  "{\"type\": \"gru\", \"hidden\": 6, \"bias\": false, \"input\": 8},"
                  "{\"type\": \"jordan\", \"hidden\": 7, \"out\": 3, \"nonlinearity\": \"relu\"},"
                  "{\"type\": \"deep_rnn\", \"hidden\": 2, \"depth\": 3, \"skip\": true},"
                  "{\"type\": \"activation\", \"fn\": \"sigmoid\"},"
                  "{\"type\": \"dropout\", \"p\": 0.1},"
                  "{\"type\": \"linear\", \"out\": 9, \"bias\": false}]}}");
    ck_assert_int_eq(s->version, 1);
    ck_assert_int_eq(s->task, TG_TASK_TAG);
    ck_assert_int_eq(s->input, TG_INPUT_VECTORS);
    ck_assert_int_eq(s->input_size, 3);
    ck_assert_int_eq(s->n_layers, 8);
    const tg_layer_spec *L = s->layers;
    ck_assert_int_eq(L[0].type, TG_LAYER_RNN);
    ck_assert(L[0].relu);
    ck_assert_int_eq(L[0].in, 3);
    ck_assert_int_eq(L[0].out, 5);
    ck_assert_str_eq(L[0].name, "0");
    ck_assert_int_eq(L[1].type, TG_LAYER_LSTM);
    ck_assert_str_eq(L[1].name, "enc");
    ck_assert_int_eq(L[1].num_layers, 2);
    ck_assert(L[1].bidirectional);
    ck_assert_double_eq(L[1].dropout, 0.25);
    ck_assert_int_eq(L[1].in, 5);
    ck_assert_int_eq(L[1].out, 8);
    ck_assert(L[1].bias);
    ck_assert_int_eq(L[2].type, TG_LAYER_GRU);
    ck_assert(!L[2].bias);
    ck_assert_int_eq(L[2].out, 6);
    ck_assert_int_eq(L[3].type, TG_LAYER_JORDAN);
    ck_assert_int_eq(L[3].hidden, 7);
    ck_assert_int_eq(L[3].out, 3);
    ck_assert(L[3].relu);
    ck_assert_int_eq(L[4].type, TG_LAYER_DEEP_RNN);
    ck_assert_int_eq(L[4].depth, 3);
    ck_assert(L[4].skip);
    ck_assert_int_eq(L[4].in, 3);
    ck_assert_int_eq(L[4].out, 2);
    ck_assert_int_eq(L[5].fn, TG_ACT_SIGMOID);
    ck_assert_int_eq(L[5].out, 2);
    ck_assert_double_eq(L[6].p, 0.1);
    ck_assert_int_eq(L[7].type, TG_LAYER_LINEAR);
    ck_assert(!L[7].bias);
    ck_assert_int_eq(L[7].in, 2);
    ck_assert_int_eq(L[7].out, 9);
    for (int k = 0; k < 8; k++) ck_assert(L[k].sequence);
    ck_assert_int_eq(s->output_size, 9);
    ck_assert(!s->pooled);
    ck_assert_int_eq(s->loss, TG_LOSS_CROSS_ENTROPY);
    /* sections left out take their defaults */
    ck_assert(!s->has_optimizer && !s->has_train && !s->has_sample);
    ck_assert_int_eq(s->optim.type, TG_OPTIM_ADAM);
    ck_assert_double_eq(s->optim.lr, 1e-3);
    ck_assert_int_eq(s->train.batch, 32);
    ck_assert_int_eq(s->train.steps, 1000);
    ck_assert_str_eq(s->sample.prime, "");
    tg_spec_free(s);
}
END_TEST

START_TEST(every_task) {
    /* language model over tokens, with one_hot, and the train/sample sections */
    tg_spec *s = parse_ok(
        SPEC_HEAD
        "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\", \"vocab\": 11},"
        "\"model\": {\"layers\": [{\"type\": \"one_hot\"}, {\"type\": \"rnn\", \"hidden\": 4},"
        " {\"type\": \"linear\", \"out\": \"vocab\"}]},"
        "\"loss\": {\"type\": \"cross_entropy\"},"
        "\"train\": {\"batch\": 2, \"seq_len\": 7, \"steps\": 30, \"eval_every\": 0,"
        " \"checkpoint_every\": 10, \"log_every\": 5, \"valid_fraction\": 0.25, \"seed\": 9},"
        "\"sample\": {\"length\": 12, \"temperature\": 0.5, \"prime\": \"ab\", \"seed\": 3}}");
    ck_assert_int_eq(s->task, TG_TASK_LANGUAGE_MODEL);
    ck_assert_int_eq(s->vocab, 11);
    ck_assert(s->vocab_given);
    ck_assert_int_eq(s->layers[0].in, 11);
    ck_assert_int_eq(s->layers[0].out, 11);
    ck_assert_int_eq(s->layers[1].in, 11);
    ck_assert(s->layers[2].out_is_vocab);
    ck_assert_int_eq(s->output_size, 11);
    ck_assert(s->has_train && s->has_sample);
    tg_train_spec t = s->train;
    ck_assert(t.batch == 2 && t.seq_len == 7 && t.steps == 30 && t.eval_every == 0 &&
              t.checkpoint_every == 10 && t.log_every == 5 && t.seed == 9);
    ck_assert_double_eq(t.valid_fraction, 0.25);
    ck_assert_int_eq(s->sample.length, 12);
    ck_assert_double_eq(s->sample.temperature, 0.5);
    ck_assert_str_eq(s->sample.prime, "ab");
    ck_assert_int_eq(s->sample.seed, 3);
    tg_spec_free(s);

    /* classify without a pool: one goes after the last recurrent layer, and
     * records the reverse half of the bidirectional output */
    s = parse_ok(SPEC_HEAD
                 "\"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": 5},"
                 "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
                 "{\"type\": \"lstm\", \"hidden\": 4, \"bidirectional\": true},"
                 "{\"type\": \"dropout\"}, {\"type\": \"linear\", \"out\": 2}]}}");
    ck_assert_int_eq(s->task, TG_TASK_CLASSIFY);
    ck_assert_int_eq(s->n_layers, 5);
    ck_assert_int_eq(s->layers[2].type, TG_LAYER_POOL);
    ck_assert_int_eq(s->layers[2].index, -1);
    ck_assert_int_eq(s->layers[2].pool, TG_POOL_LAST);
    ck_assert_int_eq(s->layers[2].split, 4);
    ck_assert_int_eq(s->layers[3].index, 2); /* indices stay positions in the file */
    ck_assert_str_eq(s->layers[3].name, "2");
    ck_assert_double_eq(s->layers[3].p, 0.5);
    ck_assert(!s->layers[3].sequence);
    ck_assert_str_eq(s->layers[4].name, "3");
    ck_assert(s->pooled);
    ck_assert_int_eq(s->output_size, 2);
    tg_spec_free(s);

    /* an explicit pool is kept; after a linear there is no reverse half */
    s = parse_ok(SPEC_HEAD
                 "\"task\": \"classify\", \"input\": {\"type\": \"vectors\", \"size\": 2},"
                 "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4,"
                 " \"bidirectional\": true}, {\"type\": \"linear\", \"out\": 3},"
                 "{\"type\": \"pool\", \"mode\": \"max\"}]}}");
    ck_assert_int_eq(s->n_layers, 3);
    ck_assert_int_eq(s->layers[2].pool, TG_POOL_MAX);
    ck_assert_int_eq(s->layers[2].split, 0);
    ck_assert(s->pooled);
    tg_spec_free(s);

    /* regression, per step and pooled, with batch_first */
    s = parse_ok(SPEC_HEAD
                 "\"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 2,"
                 " \"batch_first\": true}, \"model\": {\"layers\": [{\"type\": \"lstm\","
                 " \"hidden\": 3, \"batch_first\": true}, {\"type\": \"linear\", \"out\": 2}]},"
                 "\"loss\": {\"type\": \"mse\"}}");
    ck_assert_int_eq(s->task, TG_TASK_REGRESS);
    ck_assert(s->batch_first);
    ck_assert_int_eq(s->loss, TG_LOSS_MSE);
    ck_assert(!s->pooled);
    tg_spec_free(s);
    s = parse_ok(SPEC_HEAD
                 "\"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 2},"
                 "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 3},"
                 "{\"type\": \"pool\", \"mode\": \"mean\"}, {\"type\": \"linear\", \"out\": 1}]}}");
    ck_assert(s->pooled);
    ck_assert_int_eq(s->layers[1].pool, TG_POOL_MEAN);
    tg_spec_free(s);

    /* tag over tokens with a padding row */
    s = parse_ok(SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 5},"
                           "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3,"
                           " \"padding_idx\": 0}, {\"type\": \"gru\", \"hidden\": 4},"
                           " {\"type\": \"linear\", \"out\": 6}]}}");
    ck_assert_int_eq(s->layers[0].padding_idx, 0);
    ck_assert_int_eq(s->layers[0].dim, 3);
    ck_assert_int_eq(s->output_size, 6);
    tg_spec_free(s);
    ck_assert_str_eq(tg_task_name(TG_TASK_REGRESS), "regress");
    ck_assert_str_eq(tg_layer_type_name(TG_LAYER_DEEP_RNN), "deep_rnn");
}
END_TEST

/* The example files, by task. */
START_TEST(example_files) {
    static const struct {
        const char *file;
        tg_task task;
        int n_layers;
        int64_t output_size; /* after tg_spec_set_vocab(100) for token input without vocab */
    } cases[] = {
        {"char_lstm.json", TG_TASK_LANGUAGE_MODEL, 4, 100},
        {"min_char_rnn.json", TG_TASK_LANGUAGE_MODEL, 3, 100},
        {"sentiment_gru.json", TG_TASK_CLASSIFY, 5, 2},
        {"pos_tagger.json", TG_TASK_TAG, 5, 17},
        {"sensor_regress.json", TG_TASK_REGRESS, 2, 1},
        {"trend_pool.json", TG_TASK_REGRESS, 3, 1},
        {"sentiment_treelstm.json", TG_TASK_TREE, 4, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256], err[512];
        snprintf(path, sizeof path, "tests/nn/specs/%s", cases[i].file);
        tg_spec *s = tg_spec_load(path, err, sizeof err);
        ck_assert_msg(s != NULL, "%s", err);
        ck_assert_str_eq(s->file, path);
        ck_assert_int_eq(s->task, cases[i].task);
        ck_assert_int_eq(s->n_layers, cases[i].n_layers);
        if (s->input == TG_INPUT_TOKENS && !s->vocab) {
            ck_assert_int_eq(s->output_size, 0);
            ck_assert_int_eq(tg_spec_set_vocab(s, 100, err, sizeof err), 0);
        }
        ck_assert_int_eq(s->output_size, cases[i].output_size);
        tg_spec_free(s);
    }
    /* details of the language model's sections */
    char err[512];
    tg_spec *s = tg_spec_load("tests/nn/specs/char_lstm.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(s->optim.type, TG_OPTIM_ADAM);
    ck_assert_double_eq(s->optim.lr, 0.002);
    ck_assert_double_eq(s->optim.clip_norm, 5.0);
    ck_assert_int_eq(s->optim.schedule.kind, TG_SCHEDULE_COSINE);
    ck_assert_int_eq(s->optim.schedule.t_max, 2000); /* train.steps */
    ck_assert_int_eq(s->optim.schedule.warmup, 100);
    ck_assert_str_eq(s->sample.prime, "The ");
    ck_assert_double_eq(s->train.valid_fraction, 0.05);
    tg_spec_free(s);
}
END_TEST

/* Every complete example in docs/spec.md (a ```json block that starts with
 * "tapegrad") parses, so the documentation cannot drift from the code. */
START_TEST(docs_examples) {
    FILE *f = fopen("docs/spec.md", "rb");
    ck_assert_msg(f != NULL, "docs/spec.md not found (run from the repository root)");
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    int parsed = 0;
    for (char *p = strstr(doc, "```json\n"); p; p = strstr(p, "```json\n")) {
        p += 8;
        char *end = strstr(p, "```");
        ck_assert_ptr_nonnull(end);
        if (strncmp(p, "{\n  \"tapegrad\"", 14) == 0) {
            *end = '\0';
            char err[512];
            tg_spec *s = tg_spec_parse(p, "docs/spec.md", err, sizeof err);
            ck_assert_msg(s != NULL, "example %d: %s", parsed + 1, err);
            tg_spec_free(s);
            parsed++;
            *end = '`';
        }
        p = end + 3;
    }
    ck_assert_int_eq(parsed, 10); /* the one at the top and nine complete examples */
}
END_TEST

START_TEST(vocab_from_data) {
    const char *lm = SPEC_HEAD
        "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},"
        "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},"
        "{\"type\": \"gru\", \"hidden\": 4}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}";
    char err[512];
    tg_spec *s = parse_ok(lm);
    ck_assert_int_eq(s->vocab, 0);
    ck_assert(!s->vocab_given);
    tg_rng r;
    tg_rng_seed(&r, 1);
    ck_assert_ptr_null(tg_model_new(s, &r, err, sizeof err));
    ck_assert_str_eq(err, "spec.json: input.vocab: not known yet; give it in the spec, or take it "
                          "from the data with tg_spec_set_vocab");
    ck_assert_int_eq(tg_spec_set_vocab(s, 0, err, sizeof err), -1);
    ck_assert_str_eq(err, "spec.json: the data's vocabulary of 0 symbols is outside [1, 16777216]");
    ck_assert_int_eq(tg_spec_set_vocab(s, 65, err, sizeof err), 0);
    ck_assert_int_eq(s->vocab, 65);
    ck_assert_int_eq(s->layers[0].in, 65);
    ck_assert_int_eq(s->layers[2].out, 65);
    ck_assert_int_eq(s->output_size, 65);
    ck_assert_int_eq(tg_spec_set_vocab(s, 65, err, sizeof err), 0); /* again: a check */
    ck_assert_int_eq(tg_spec_set_vocab(s, 80, err, sizeof err), -1);
    ck_assert_str_eq(err, "spec.json: input.vocab: 65 does not match the data's vocabulary of 80 "
                          "symbols");
    tg_spec_free(s);

    /* a fixed head that the data's vocabulary does not fit: nothing changes */
    s = parse_ok(SPEC_HEAD "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},"
                           "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4, "
                           "\"padding_idx\": 9}, {\"type\": \"linear\", \"out\": 64}]}}");
    ck_assert_int_eq(tg_spec_set_vocab(s, 65, err, sizeof err), -1);
    ck_assert_str_eq(err, "spec.json: model.layers[1].out: 64 does not match the vocabulary size "
                          "65 (from the data)");
    ck_assert_int_eq(s->vocab, 0);
    ck_assert_int_eq(tg_spec_set_vocab(s, 5, err, sizeof err), -1);
    ck_assert_str_eq(err, "spec.json: model.layers[0].padding_idx: 9 is not below the vocabulary "
                          "size 5");
    ck_assert_int_eq(tg_spec_set_vocab(s, 64, err, sizeof err), 0);
    tg_spec_free(s);

    s = parse_ok(OK_TAG "}");
    ck_assert_int_eq(tg_spec_set_vocab(s, 5, err, sizeof err), -1);
    ck_assert_str_eq(err, "spec.json: input.type: a vocabulary needs token input, got \"vectors\"");
    tg_spec_free(s);
}
END_TEST

START_TEST(load_errors) {
    char err[512];
    ck_assert_ptr_null(tg_spec_load("tests/nn/specs/no_such.json", err, sizeof err));
    ck_assert_str_eq(err, "tests/nn/specs/no_such.json: cannot open: No such file or directory");
    ck_assert_ptr_null(tg_spec_load("tests/nn/specs", err, sizeof err));
    ck_assert_str_eq(err, "tests/nn/specs: cannot read: Is a directory");
    /* a NUL inside the text is malformed, not the end of it */
    static const char nul[] = "{\"tapegrad\": 1,\n \0 \"task\": \"tag\"}";
    ck_assert_ptr_null(tg_spec_parse_len(nul, sizeof nul - 1, "spec.json", err, sizeof err));
    ck_assert_str_eq(err, "spec.json:2:2: malformed JSON: expected a key in double quotes, got "
                          "byte 0x00");
    /* no file name: the position alone */
    ck_assert_ptr_null(tg_spec_parse("{,}", NULL, err, sizeof err));
    ck_assert_str_eq(err, "1:2: malformed JSON: expected a key in double quotes, got ','");
    ck_assert_ptr_null(tg_spec_parse("[]", NULL, err, sizeof err));
    ck_assert_str_eq(err, "expected a JSON object at the top level, got an array");
    /* a small buffer gets a cut, terminated message */
    char small[12];
    ck_assert_ptr_null(tg_spec_parse("[]", "spec.json", small, sizeof small));
    ck_assert_str_eq(small, "spec.json: ");
    ck_assert_ptr_null(tg_spec_parse("[]", "spec.json", NULL, 0));
    /* a byte-order mark is skipped */
    tg_spec *s = parse_ok("\xEF\xBB\xBF" OK_TAG "}");
    tg_spec_free(s);
}
END_TEST

/* ---- the malformed-spec table ------------------------------------------------- */

static const struct {
    const char *json, *error;
} BAD[] = {
    /* malformed JSON: line and column */
    {"{\"tapegrad\": 1,\n \"task\": \"tag\",,}",
     "spec.json:2:16: malformed JSON: expected a key in double quotes, got ','"},
    {"{\"tapegrad\": 1, \"task\": \"tag\",}",
     "spec.json:1:31: malformed JSON: expected a key after ',' (JSON allows no trailing comma), "
     "got '}'"},
    {"{\"tapegrad\": 1,\n\"x\": [1, 2,]}",
     "spec.json:2:12: malformed JSON: expected a value after ',' (JSON allows no trailing comma), "
     "got ']'"},
    {"{\"tapegrad\": 1, \"task\": \"tag", "spec.json:1:25: malformed JSON: unterminated string: no "
                                          "closing '\"' before the end of input"},
    {"{\"tapegrad\": 01}",
     "spec.json:1:14: malformed JSON: expected a number without leading zeros, got '01'"},
    {"{\"tapegrad\": 1e999}",
     "spec.json:1:14: malformed JSON: expected a number a double can hold, got '1e999'"},
    {"", "spec.json:1:1: malformed JSON: expected a value (object, array, string, number, true, "
         "false or null), got end of input"},
    {"{\"tapegrad\": 1} x", "spec.json:1:17: malformed JSON: expected the end of input after the "
                            "top-level value, got 'x'"},
    {"{\"tapegrad\": tru}",
     "spec.json:1:14: malformed JSON: expected a value (object, array, string, number, true, "
     "false or null), got 'tru'"},
    {"{\"tapegrad\": 1, \"task\": \"a\\qb\"}",
     "spec.json:1:28: malformed JSON: expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t "
     "\\uXXXX), got 'qb'"},
    {"{\"tapegrad\" 1}", "spec.json:1:13: malformed JSON: expected ':' after the key, got '1'"},
    {"{\"tapegrad\": 1 \"task\": 2}",
     "spec.json:1:16: malformed JSON: expected ',' or '}', got '\"'"},
    {"{\"a\": \"tab\there\"}",
     "spec.json:1:11: malformed JSON: expected a character or '\"' in a string (control "
     "characters must be escaped, as \\n), got byte 0x09"},
    /* the version */
    {"[1, 2]", "spec.json: expected a JSON object at the top level, got an array"},
    {"{\"task\": \"tag\"}",
     "spec.json: tapegrad: missing; a spec starts with \"tapegrad\": 1 (the format version)"},
    {"{\"tapegrad\": \"1\"}", "spec.json: tapegrad: expected the format version 1, got \"1\""},
    {"{\"tapegrad\": 2, \"task\": \"seq2seq\", \"encoder\": {}}",
     "spec.json: tapegrad: unsupported format version 2; this build reads version 1"},
    {"{\"tapegrad\": 1.5}", "spec.json: tapegrad: expected the format version 1, got 1.5"},
    /* top-level keys and the task */
    {SPEC_HEAD "\"task\": \"tag\", \"optimiser\": {}}",
     "spec.json: optimiser: unknown key; did you mean 'optimizer'?"},
    {SPEC_HEAD "\"task\": \"tag\", \"task\": \"classify\"}", "spec.json: task: duplicate key"},
    {SPEC_HEAD "\"epochs\": 3}",
     "spec.json: epochs: unknown key; valid keys: tapegrad, task, description, input, model, "
     "loss, optimizer, train, sample, decode, distill"},
    {"{\"tapegrad\": 1}",
     "spec.json: task: missing; expected a task (language_model, classify, tag, regress, tree, "
     "seq2seq)"},
    {SPEC_HEAD "\"task\": \"clasify\"}",
     "spec.json: task: unknown task 'clasify'; did you mean 'classify'? (known: language_model, "
     "classify, tag, regress, tree, seq2seq)"},
    {SPEC_HEAD "\"task\": 3}",
     "spec.json: task: expected a task (language_model, classify, tag, regress, tree, seq2seq), "
     "got 3"},
    {SPEC_HEAD "\"task\": \"tag\", \"description\": 5}",
     "spec.json: description: expected a string, got 5"},
    /* input */
    {SPEC_HEAD "\"task\": \"tag\"}",
     "spec.json: input: missing; expected {\"type\": \"tokens\", \"vocab\": N} or {\"type\": "
     "\"vectors\", \"size\": N}"},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"token\", \"vocab\": 5}}",
     "spec.json: input.type: unknown input type 'token'; did you mean 'tokens'? (known: tokens, "
     "vectors, trees, image)"},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"vectors\"}}",
     "spec.json: input.size: missing; expected a positive integer"},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3, \"vocab\": 5}}",
     "spec.json: input.vocab: unknown key; valid keys: type, size, batch_first"},
    {SPEC_HEAD "\"task\": \"language_model\", \"input\": {\"type\": \"vectors\", \"size\": 3}}",
     "spec.json: input.type: task language_model reads \"tokens\", got \"vectors\""},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": -1}}",
     "spec.json: input.vocab: expected a positive integer, got -1"},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": [\"tokens\"]}",
     "spec.json: input: expected an object such as {\"type\": \"tokens\"}, got an array"},
    /* the layer list */
    {SPEC_HEAD VEC "\"x\": 1}",
     "spec.json: x: unknown key; valid keys: tapegrad, task, "
     "description, input, model, loss, optimizer, train, sample, decode, distill"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": []}}",
     "spec.json: model.layers: expected a non-empty array of layers, got []"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": {}}}",
     "spec.json: model.layers: expected a non-empty array of layers, got an object"},
    {SPEC_HEAD VEC "\"model\": {\"layer\": []}}",
     "spec.json: model.layer: unknown key; did you mean 'layers'?"},
    {SPEC_HEAD VEC "\"model\": {}}",
     "spec.json: model.layers: missing; expected an array of layers"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [3]}}",
     "spec.json: model.layers[0]: expected a layer object such as {\"type\": \"lstm\", "
     "\"hidden\": 128}, got 3"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"hidden\": 3}]}}",
     "spec.json: model.layers[0].type: missing; expected a layer type (embedding, one_hot, "
     "linear, activation, dropout, pool, rnn, lstm, gru, jordan, deep_rnn, tree_rnn, tree_lstm, "
     "renet, cell)"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstn\", \"hidden\": 8}]}}",
     "spec.json: model.layers[0].type: unknown layer type 'lstn'; did you mean 'lstm'? (known: "
     "embedding, one_hot, linear, activation, dropout, pool, rnn, lstm, gru, jordan, deep_rnn, "
     "tree_rnn, tree_lstm, renet, cell)"},
    /* values of layer keys */
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hiden\": 8}]}}",
     "spec.json: model.layers[0].hiden: unknown key; did you mean 'hidden'?"},
    {SPEC_HEAD VEC
     "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": \"lstm\", "
     "\"hidden\": -3}]}}",
     "spec.json: model.layers[1].hidden: expected a positive integer, got -3"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden_size\": 8}]}}",
     "spec.json: model.layers[0].hidden_size: unknown key; did you mean 'hidden'?"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 2.5}]}}",
     "spec.json: model.layers[0].hidden: expected a positive integer, got 2.5"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": \"8\"}]}}",
     "spec.json: model.layers[0].hidden: expected a positive integer, got \"8\""},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 100000000}]}}",
     "spec.json: model.layers[0].hidden: expected a positive integer up to 16777216, got "
     "100000000"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\"}]}}",
     "spec.json: model.layers[0].hidden: missing; expected a positive integer"},
    {SPEC_HEAD VEC
     "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"num_layers\": 0}]}}",
     "spec.json: model.layers[0].num_layers: expected a positive integer, got 0"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"bidirectional\": "
                   "\"yes\"}]}}",
     "spec.json: model.layers[0].bidirectional: expected true or false, got \"yes\""},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"dropout\": 1}]}}",
     "spec.json: model.layers[0].dropout: expected a number in [0, 1), got 1"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 4, \"nonlinearity\": "
                   "\"sigmoid\"}]}}",
     "spec.json: model.layers[0].nonlinearity: unknown nonlinearity 'sigmoid' (known: tanh, relu)"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": "
                   "\"activation\", \"fn\": \"gelu\"}]}}",
     "spec.json: model.layers[1].fn: unknown activation 'gelu'; did you mean 'relu'? (known: "
     "tanh, relu, sigmoid)"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": "
                   "\"dropout\", \"p\": -0.5}]}}",
     "spec.json: model.layers[1].p: expected a number in [0, 1), got -0.5"},
    {SPEC_HEAD
     "\"task\": \"classify\", \"input\": {\"type\": \"vectors\", \"size\": 3}, \"model\": "
     "{\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": \"pool\", \"mode\": "
     "\"first\"}]}}",
     "spec.json: model.layers[1].mode: unknown pool mode 'first' (known: last, mean, max)"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"jordan\", \"hidden\": 4}]}}",
     "spec.json: model.layers[0].out: missing; expected a positive integer"},
    {SPEC_HEAD VEC
     "\"model\": {\"layers\": [{\"type\": \"deep_rnn\", \"hidden\": 4, \"depth\": 0}]}}",
     "spec.json: model.layers[0].depth: expected a positive integer, got 0"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"foo\": 1}]}}",
     "spec.json: model.layers[0].foo: unknown key; valid keys: type, name, input, hidden, "
     "num_layers, bidirectional, dropout, bias, batch_first, layer_norm, peephole, "
     "gate_activation, activation, recurrent_dropout, input_dropout, zoneout"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"a b\": 1}]}}",
     "spec.json: model.layers[0][\"a b\"]: unknown key; valid keys: type, name, input, hidden, "
     "num_layers, bidirectional, dropout, bias, batch_first, layer_norm, peephole, "
     "gate_activation, activation, recurrent_dropout, input_dropout, zoneout"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"hidden\": 5}]}}",
     "spec.json: model.layers[0].hidden: duplicate key"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": "
                   "\"linear\", \"out\": \"many\"}]}}",
     "spec.json: model.layers[1].out: expected a positive integer or \"vocab\", got \"many\""},
    /* sizes that do not chain, and the head */
    {SPEC_HEAD
     "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 65}, \"model\": "
     "{\"layers\": [{\"type\": \"embedding\", \"dim\": 64}, {\"type\": \"lstm\", \"hidden\": "
     "128, \"bidirectional\": true}, {\"type\": \"linear\", \"input\": 128, \"out\": 5}]}}",
     "spec.json: model.layers[2].input: 128 does not match layers[1] output 256"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"lstm\", \"input\": 4, \"hidden\": 8}]}}",
     "spec.json: model.layers[0].input: 4 does not match input.size 3"},
    {SPEC_HEAD
     "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\", \"vocab\": 65}, "
     "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 64}, {\"type\": \"lstm\", "
     "\"hidden\": 256}, {\"type\": \"linear\", \"out\": 64}]}}",
     "spec.json: model.layers[2].out: 64 does not match the vocabulary size 65 (input.vocab)"},
    {SPEC_HEAD
     "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\", \"vocab\": 65}, "
     "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 64}, {\"type\": \"lstm\", "
     "\"hidden\": 256}]}}",
     "spec.json: model.layers[1]: a language model's last layer must output the vocabulary size "
     "65 (input.vocab), but this lstm layer outputs 256; end with {\"type\": \"linear\", \"out\": "
     "\"vocab\"}"},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 65}, \"model\": "
               "{\"layers\": [{\"type\": \"lstm\", \"hidden\": 256}]}}",
     "spec.json: model.layers[0]: token input needs an embedding or one_hot layer first, got lstm"},
    {SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 65}, \"model\": "
               "{\"layers\": [{\"type\": \"one_hot\"}, {\"type\": \"embedding\", \"dim\": 3}]}}",
     "spec.json: model.layers[1]: embedding layers read the token ids, so one can only be "
     "layers[0]"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}]}}",
     "spec.json: model.layers[0]: embedding layers read token ids, but input.type is \"vectors\""},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": "
                   "\"linear\", \"out\": \"vocab\"}]}}",
     "spec.json: model.layers[1].out: \"vocab\" needs token input, but input.type is \"vectors\""},
    {SPEC_HEAD
     "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 5}, \"model\": "
     "{\"layers\": [{\"type\": \"embedding\", \"dim\": 4, \"padding_idx\": 5}, {\"type\": "
     "\"gru\", \"hidden\": 4}]}}",
     "spec.json: model.layers[0].padding_idx: 5 is not below the vocabulary size 5"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"activation\", \"fn\": \"tanh\"}]}}",
     "spec.json: model.layers: no layer has parameters to train"},
    /* pools and tasks */
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": "
                   "\"pool\"}, {\"type\": \"linear\", \"out\": 2}]}}",
     "spec.json: model.layers[1]: a pool layer makes one output per sequence, but task tag needs "
     "one per step"},
    {SPEC_HEAD
     "\"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": 9}, \"model\": "
     "{\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"linear\", \"out\": 2}]}}",
     "spec.json: model.layers: task classify needs a recurrent layer (or a pool layer) to turn "
     "each sequence into one output"},
    {SPEC_HEAD
     "\"task\": \"classify\", \"input\": {\"type\": \"vectors\", \"size\": 3}, \"model\": "
     "{\"layers\": [{\"type\": \"gru\", \"hidden\": 4}, {\"type\": \"pool\"}, {\"type\": "
     "\"lstm\", \"hidden\": 2}]}}",
     "spec.json: model.layers[2]: lstm layers need a sequence, but the pool at layers[1] already "
     "made one vector per sequence"},
    /* names and layout */
    {SPEC_HEAD VEC
     "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"name\": \"enc\"}, "
     "{\"type\": \"linear\", \"out\": 2, \"name\": \"enc\"}]}}",
     "spec.json: model.layers[1].name: name 'enc' is already used by layers[0]"},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"name\": \"1\"}, "
                   "{\"type\": \"linear\", \"out\": 2}]}}",
     "spec.json: model.layers[1]: name '1' is already used by layers[0]"},
    {SPEC_HEAD VEC
     "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"name\": \"a.b\"}]}}",
     "spec.json: model.layers[0].name: expected a name of letters, digits and '_' (1 to 63 of "
     "them), got \"a.b\""},
    {SPEC_HEAD VEC "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, \"batch_first\": "
                   "true}]}}",
     "spec.json: model.layers[0].batch_first: true does not match input.batch_first (false); the "
     "batch layout is set once, in input.batch_first"},
    /* loss */
    {OK_TAG ", \"loss\": {\"type\": \"mse\"}}",
     "spec.json: loss.type: task tag uses cross_entropy, got \"mse\""},
    {OK_TAG ", \"loss\": {\"type\": \"l1\"}}",
     "spec.json: loss.type: unknown loss 'l1' (known: cross_entropy, mse)"},
    {OK_TAG ", \"loss\": \"mse\"}",
     "spec.json: loss: expected an object such as {\"type\": \"mse\"}, got \"mse\""},
    /* optimizer */
    {OK_TAG ", \"optimizer\": {\"type\": \"adamm\"}}",
     "spec.json: optimizer.type: unknown optimizer 'adamm'; did you mean 'adam'? (known: sgd, "
     "adagrad, rmsprop, adam, adamw)"},
    {OK_TAG ", \"optimizer\": {\"type\": \"adam\", \"lr\": -0.1}}",
     "spec.json: optimizer.lr: expected a number >= 0, got -0.1"},
    {OK_TAG ", \"optimizer\": {\"type\": \"sgd\", \"momentum\": 0.9}}",
     "spec.json: optimizer.lr: missing; expected a number >= 0"},
    {OK_TAG ", \"optimizer\": {\"type\": \"adam\", \"betas\": [0.9, 1]}}",
     "spec.json: optimizer.betas[1]: expected a number in [0, 1), got 1"},
    {OK_TAG ", \"optimizer\": {\"type\": \"adam\", \"betas\": [0.9]}}",
     "spec.json: optimizer.betas: expected an array of two numbers in [0, 1), got an array of "
     "another length"},
    {OK_TAG ", \"optimizer\": {\"clip_norm\": 1, \"clip_value\": 1}}",
     "spec.json: optimizer.clip_value: give clip_norm or clip_value, not both"},
    {OK_TAG ", \"optimizer\": {\"clip_norm\": 0}}",
     "spec.json: optimizer.clip_norm: expected a number > 0, got 0"},
    {OK_TAG ", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"nesterov\": true}}",
     "spec.json: optimizer.nesterov: needs momentum > 0 and dampening 0"},
    {OK_TAG ", \"optimizer\": {\"type\": \"adam\", \"momentum\": 0.9}}",
     "spec.json: optimizer.momentum: unknown key; valid keys: type, lr, clip_norm, clip_norm_type, "
     "clip_value, schedule, betas, eps, weight_decay, amsgrad"},
    {OK_TAG ", \"optimizer\": \"adam\"}",
     "spec.json: optimizer: expected an object such as {\"type\": \"adam\"}, got \"adam\""},
    /* schedule */
    {OK_TAG ", \"optimizer\": {\"schedule\": {\"type\": \"cosin\"}}}",
     "spec.json: optimizer.schedule.type: unknown schedule 'cosin'; did you mean 'cosine'? "
     "(known: constant, step, exponential, cosine, linear)"},
    {OK_TAG ", \"optimizer\": {\"schedule\": {\"type\": \"step\"}}}",
     "spec.json: optimizer.schedule.step_size: missing; expected a positive integer"},
    {OK_TAG ", \"optimizer\": {\"schedule\": {\"type\": \"cosine\"}}}",
     "spec.json: optimizer.schedule.t_max: missing; expected a positive integer"},
    {OK_TAG ", \"optimizer\": {\"schedule\": {\"type\": \"cosine\", \"gamma\": 0.5}}, \"train\": "
            "{\"steps\": 10}}",
     "spec.json: optimizer.schedule.gamma: unknown key; valid keys: type, warmup, "
     "warmup_start_factor, t_max, eta_min"},
    {OK_TAG ", \"optimizer\": {\"schedule\": {\"type\": \"constant\", \"warmup\": -1}}}",
     "spec.json: optimizer.schedule.warmup: expected a non-negative integer, got -1"},
    {OK_TAG ", \"optimizer\": {\"schedule\": {\"type\": \"linear\", \"start_factor\": 0}}}",
     "spec.json: optimizer.schedule.start_factor: expected a number in (0, 1], got 0"},
    {OK_TAG ", \"optimizer\": {\"schedule\": \"cosine\"}}",
     "spec.json: optimizer.schedule: expected an object such as {\"type\": \"cosine\"}, got "
     "\"cosine\""},
    /* train and sample */
    {OK_TAG ", \"train\": {\"batch\": 0}}",
     "spec.json: train.batch: expected a positive integer, got 0"},
    {OK_TAG ", \"train\": {\"epochs\": 3}}",
     "spec.json: train.epochs: unknown key; valid keys: batch, seq_len, steps, eval_every, "
     "checkpoint_every, log_every, valid_fraction, seed, sampling, on_nonfinite, max_skips, memory"},
    {OK_TAG ", \"train\": {\"valid_fraction\": 1}}",
     "spec.json: train.valid_fraction: expected a number in [0, 1), got 1"},
    {OK_TAG ", \"train\": {\"seed\": -1}}",
     "spec.json: train.seed: expected a non-negative integer, got -1"},
    {OK_TAG ", \"sample\": {\"length\": 10}}",
     "spec.json: sample: sampling needs task language_model, not tag"},
    {SPEC_HEAD
     "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\"}, \"model\": "
     "{\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"gru\", \"hidden\": "
     "4}, {\"type\": \"linear\", \"out\": \"vocab\"}]}, \"sample\": {\"temperature\": 0}}",
     "spec.json: sample.temperature: expected a number > 0, got 0"},
};

START_TEST(malformed_table) {
    int n = (int)(sizeof BAD / sizeof *BAD);
    ck_assert_int_ge(n, 30);
    for (int i = 0; i < n; i++) ck_assert_spec_error(BAD[i].json, BAD[i].error);
}
END_TEST

/* Odd corners of the JSON reader: deep nesting, long keys (cut in the
 * message), unicode escapes. */
START_TEST(json_corners) {
    char deep[1200] = "{\"tapegrad\": 1, \"x\": ";
    size_t n = strlen(deep);
    for (int i = 0; i < 300; i++) deep[n++] = '[';
    deep[n] = '\0';
    ck_assert_spec_error(deep,
                         "spec.json:1:277: malformed JSON: expected at most 256 levels of nesting, "
                         "got '['");
    char longkey[400];
    memset(longkey, 0, sizeof longkey);
    strcpy(longkey, SPEC_HEAD "\"");
    size_t k = strlen(longkey);
    memset(longkey + k, 'z', 200);
    strcat(longkey, "\": 1}");
    ck_assert_spec_error(longkey,
                         "spec.json: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...: unknown key; "
                         "valid keys: tapegrad, task, description, input, model, loss, "
                         "optimizer, train, sample, decode, distill");
    /* an escaped key is still the key it spells */
    tg_spec *s = parse_ok(SPEC_HEAD "\"t\\u0061sk\": \"tag\", \"input\": {\"type\": \"vectors\", "
                                    "\"size\": 3}, " GRU "}");
    tg_spec_free(s);
    ck_assert_spec_error(
        SPEC_HEAD "\"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3, "
                  "\"\\n\": 1}}",
        "spec.json: input[\"\\x0a\"]: unknown key; valid keys: type, size, batch_first");
    /* the helpers on their own */
    static const char *const names[] = {"hidden", "num_layers", "bidirectional", NULL};
    ck_assert_int_eq(tg_json_nearest("hiden", names), 0);
    ck_assert_int_eq(tg_json_nearest("numlayers", names), 1);
    ck_assert_int_eq(tg_json_nearest("bi", names), -1);
    ck_assert_int_eq(tg_json_nearest("banana", names), -1);
    char buf[64];
    cJSON *v = cJSON_CreateNumber(0.1);
    ck_assert_str_eq(tg_json_describe(v, buf, sizeof buf), "0.1");
    cJSON_SetNumberValue(v, 1e300);
    ck_assert_str_eq(tg_json_describe(v, buf, sizeof buf), "1e+300");
    cJSON_Delete(v);
    ck_assert_str_eq(tg_json_quote("it's", buf, sizeof buf), "'it\\'s'");
}
END_TEST

/* No input crashes the parser or leaks (ASan): every prefix of a complete
 * spec, and every byte replaced by characters that break JSON. */
START_TEST(no_crash_on_any_input) {
    FILE *f = fopen("tests/nn/specs/char_lstm.json", "rb");
    ck_assert_ptr_nonnull(f);
    char text[4096], copy[4096], err[512];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    int accepted = 0;
    for (size_t cut = 0; cut < n; cut++) {
        tg_spec *s = tg_spec_parse_len(text, cut, "spec.json", err, sizeof err);
        accepted += s != NULL;
        ck_assert_msg(s != NULL || err[0], "no message for a prefix of %zu bytes", cut);
        tg_spec_free(s);
    }
    ck_assert_int_eq(accepted, 1); /* only the one that leaves out the final newline */
    static const char subst[] = {'"', '}', ']', ',', '1', 'x', '-', '\0', ' ', '\\'};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, text, n);
            copy[i] = subst[k];
            tg_spec *s = tg_spec_parse_len(copy, n, "spec.json", err, sizeof err);
            ck_assert_msg(s != NULL || err[0], "no message at byte %zu", i);
            tg_spec_free(s);
        }
}
END_TEST

/* Every error of a spec at once, in the order of the document, each with
 * its path: a missing task does not hide the layers' errors. */
START_TEST(every_error_at_once) {
    char err[8192];
    const char *spec =
        "{\"tapegrad\": 1, \"input\": {\"type\": \"tokens\"},\n"
        " \"model\": {\"layers\": [{\"type\": \"embeding\", \"dim\": 8},\n"
        "   {\"type\": \"lstm\", \"hiden\": 16}, {\"type\": \"linear\", \"out\": -1}]},\n"
        " \"trian\": {}}";
    ck_assert_ptr_null(tg_spec_parse(spec, "spec.json", err, sizeof err));
    ck_assert_str_eq(err,
                     "spec.json: model.layers[0].type: unknown layer type 'embeding'; did you "
                     "mean 'embedding'? (known: embedding, one_hot, linear, activation, dropout, "
                     "pool, rnn, lstm, gru, jordan, deep_rnn, tree_rnn, tree_lstm, renet, cell)\n"
                     "spec.json: model.layers[1].hiden: unknown key; did you mean 'hidden'?\n"
                     "spec.json: model.layers[2].out: expected a positive integer, got -1\n"
                     "spec.json: trian: unknown key; valid keys: tapegrad, task, description, "
                     "input, model, loss, optimizer, train, sample, decode, distill\n"
                     "spec.json: task: missing; expected a task (language_model, classify, tag, "
                     "regress, tree, seq2seq)");
    /* with a task: the input's error and the layers' */
    const char *spec2 = "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", "
                        "\"vocab\": 0}, \"model\": {\"layers\": [{\"type\": \"gru\"}]}}";
    ck_assert_ptr_null(tg_spec_parse(spec2, "spec.json", err, sizeof err));
    ck_assert_str_eq(err, "spec.json: input.vocab: expected a positive integer, got 0\n"
                          "spec.json: model.layers[0].hidden: missing; expected a positive "
                          "integer");
    /* at most TG_SPEC_MAX_ERRORS, then how many more */
    char big[8192] = "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\"}, "
                     "\"model\": {\"layers\": [";
    for (int i = 0; i < 25; i++) strcat(big, i ? ", {\"type\": \"gru\"}" : "{\"type\": \"gru\"}");
    strcat(big, "]}}");
    ck_assert_ptr_null(tg_spec_parse(big, "spec.json", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "spec.json: model.layers[19].hidden: missing"));
    ck_assert_ptr_null(strstr(err, "layers[20]"));
    ck_assert_ptr_nonnull(strstr(err, "\n... and 5 more"));
}
END_TEST

TCase *tcase_spec(void) {
    TCase *tc = tcase_create("spec");
    tcase_add_test(tc, every_layer_type);
    tcase_add_test(tc, every_task);
    tcase_add_test(tc, example_files);
    tcase_add_test(tc, docs_examples);
    tcase_add_test(tc, vocab_from_data);
    tcase_add_test(tc, load_errors);
    tcase_add_test(tc, malformed_table);
    tcase_add_test(tc, json_corners);
    tcase_add_test(tc, every_error_at_once);
    tcase_add_test(tc, no_crash_on_any_input);
    return tc;
}
