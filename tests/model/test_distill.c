/* The "distill" section of specs (model/spec_distill.c) and
 * tg_model_distill_loss (model/model_distill.c): defaults, paths beside the
 * spec, messages; the loss's mix, its rows (steps past a length left out,
 * batch-first or not), and its errors. */
#include <check.h>
#include <string.h>

#include "testutil.h"

static const char HEAD[] =
    "{\"tapegrad\": 1, \"task\": \"%s\", \"input\": {\"type\": \"tokens\", \"vocab\": 5%s},"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
    " {\"type\": \"lstm\", \"hidden\": 4%s}, {\"type\": \"linear\", \"out\": 5}]}%s}";

static tg_spec *parse(const char *task, const char *distill, const char *file, char *err,
                      size_t n) {
    char json[1024];
    snprintf(json, sizeof json, HEAD, task, "", "", distill);
    return tg_spec_parse(json, file, err, n);
}

START_TEST(spec_section) {
    char err[512];
    tg_spec *s = parse("tag", "", "a/b.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_ptr_null(s->distill.teacher); /* no section: no distillation */
    tg_spec_free(s);
    s = parse("tag", ", \"distill\": {\"teacher\": \"t.json\", \"checkpoint\": \"/x/t.st\"}",
              "dir/sub/b.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_str_eq(s->distill.teacher, "dir/sub/t.json"); /* beside the spec */
    ck_assert_str_eq(s->distill.checkpoint, "/x/t.st");     /* absolute: as given */
    ck_assert_double_eq(s->distill.temperature, 2.0);
    ck_assert_double_eq(s->distill.alpha, 0.5);
    tg_spec_free(s);
    s = parse("language_model",
              ", \"distill\": {\"teacher\": \"t.json\", \"checkpoint\": \"c\", "
              "\"temperature\": 4.5, \"alpha\": 1}",
              "b.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_str_eq(s->distill.teacher, "t.json");
    ck_assert_double_eq(s->distill.temperature, 4.5);
    ck_assert_double_eq(s->distill.alpha, 1.0);
    tg_spec_free(s);
}
END_TEST

START_TEST(spec_errors) {
    static const struct {
        const char *task, *distill, *msg;
    } cases[] = {
        {"tag", ", \"distill\": {\"checkpoint\": \"c\"}",
         "s.json: distill.teacher: missing; expected a string"},
        {"tag", ", \"distill\": {\"teacher\": \"t\"}",
         "s.json: distill.checkpoint: missing; expected a string"},
        {"tag", ", \"distill\": {\"teacher\": \"t\", \"checkpoint\": \"c\", \"alpha\": 1.5}",
         "s.json: distill.alpha: "},
        {"tag", ", \"distill\": {\"teacher\": \"t\", \"checkpoint\": \"c\", \"temperature\": 0}",
         "s.json: distill.temperature: "},
        {"tag", ", \"distill\": {\"teacher\": \"t\", \"checkpoint\": \"c\", \"temprature\": 2}",
         "s.json: distill.temprature: unknown key; did you mean 'temperature'?"},
        {"tag", ", \"distill\": {\"teacher\": \"\", \"checkpoint\": \"c\"}",
         "s.json: distill: teacher: expected a file name, got \"\""},
        {"tag", ", \"distill\": \"t.json\"", "s.json: distill: expected an object"},
        {"regress", ", \"distill\": {\"teacher\": \"t\", \"checkpoint\": \"c\"}",
         "s.json: distill: distillation needs task language_model, classify or tag, not regress"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[512], json[1024];
        bool regress = strcmp(cases[i].task, "regress") == 0;
        if (regress)
            snprintf(
                json, sizeof json,
                "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", "
                "\"size\": 2}, \"model\": {\"layers\": [{\"type\": \"linear\", \"out\": 1}]}%s}",
                cases[i].distill);
        tg_spec *s = regress ? tg_spec_parse(json, "s.json", err, sizeof err)
                             : parse(cases[i].task, cases[i].distill, "s.json", err, sizeof err);
        ck_assert_msg(s == NULL, "case %zu parsed", i);
        ck_assert_msg(strstr(err, cases[i].msg) == err, "case %zu: %s", i, err);
    }
}
END_TEST

/* A tag model (batch-first or not) and a random batch with lengths 3, 1, 2
 * (T = 3, B = 3). */
static tg_model *tag_model(bool bf, uint64_t seed) {
    char json[1024], err[512];
    snprintf(json, sizeof json, HEAD, "tag", bf ? ", \"batch_first\": true" : "",
             bf ? ", \"batch_first\": true" : "", "");
    tg_spec *s = tg_spec_parse(json, "t.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, seed);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_spec_free(s);
    return m;
}

static const int64_t IDS[9] = {1, 2, 3, 4, 0, 4, 0, 1, 2}, TGT[9] = {0, 1, 2, 3, 4, 0, 1, 2, 3};
static const int64_t LENGTHS[3] = {3, 1, 2};

/* The loss, and by hand: the KL over the rows that count, and the task loss;
 * alpha 0 gives the task loss exactly. */
static void check_loss(bool bf) {
    tg_model *m = tag_model(bf, 1), *teacher = tag_model(bf, 2);
    tg_tape *t = tg_tape_new();
    tg_model_batch b = {.T = 3, .B = 3, .ids = IDS, .lengths = LENGTHS, .target_ids = TGT};
    tg_model_output out, tout;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &out), 0);
    bool was = tg_set_grad_enabled(t, false);
    ck_assert_int_eq(tg_model_forward(t, teacher, &b, NULL, &tout), 0);
    tg_set_grad_enabled(t, was);
    tg_tensor *task = tg_model_loss(t, m, &b, &out);
    tg_tensor *a0 = tg_model_distill_loss(t, m, &b, &out, tout.output, 2.0, 0.0);
    tg_tensor *a1 = tg_model_distill_loss(t, m, &b, &out, tout.output, 2.0, 1.0);
    tg_tensor *a3 = tg_model_distill_loss(t, m, &b, &out, tout.output, 2.0, 0.3);
    ck_assert_ptr_nonnull(a3);
    ck_assert(a0->data[0] == task->data[0]);
    /* the counted rows by hand: (step, seq) with step < lengths[seq] */
    int64_t rows[9], n = 0;
    for (int64_t s = 0; s < 3; s++)
        for (int64_t q = 0; q < 3; q++)
            if (s < LENGTHS[q]) rows[n++] = bf ? q * 3 + s : s * 3 + q;
    ck_assert_int_eq(n, 6);
    tg_tensor *ys = tg_index_select(t, tg_reshape(t, out.output, TG_SHAPE(9, 5)), 0, rows, n);
    tg_tensor *yt = tg_index_select(t, tg_reshape(t, tout.output, TG_SHAPE(9, 5)), 0, rows, n);
    double kl = (double)tg_soft_target_kl(t, ys, yt, 2.0)->data[0];
    ck_assert_close(a1->data[0], kl, TG_TOL);
    ck_assert_close(a3->data[0], 0.3 * kl + 0.7 * (double)task->data[0], TG_TOL);
    ck_assert_int_eq(tg_backward(t, a3), 0);
    tg_tape_free(t);
    tg_model_free(m);
    tg_model_free(teacher);
}

START_TEST(loss_rows_and_mix) {
    check_loss(false);
    check_loss(true);
}
END_TEST

START_TEST(loss_errors) {
    tg_model *m = tag_model(false, 1);
    tg_tape *t = tg_tape_new();
    tg_model_batch b = {.T = 3, .B = 3, .ids = IDS, .target_ids = TGT};
    tg_model_output out;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &out), 0);
    tg_tensor *wrong = tg_zeros(t, TG_SHAPE(3, 3, 4));
    ck_assert_ptr_null(tg_model_distill_loss(t, m, &b, &out, wrong, 2.0, 0.5));
    ck_assert_str_eq(tg_tape_error(t), "tg_model_distill_loss: the teacher's output [3,3,4] "
                                       "does not match the student's [3,3,5]");
    tg_tape_free(t);
    t = tg_tape_new();
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &out), 0);
    ck_assert_ptr_null(tg_model_distill_loss(t, m, &b, &out, out.output, 2.0, 1.5));
    ck_assert_str_eq(tg_tape_error(t), "tg_model_distill_loss: alpha 1.5 is outside [0, 1]");
    tg_tape_free(t);
    t = tg_tape_new();
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &out), 0);
    ck_assert_ptr_null(tg_model_distill_loss(t, m, &b, &out, NULL, 2.0, 0.5));
    ck_assert_str_eq(tg_tape_error(t), "tg_model_distill_loss: teacher is NULL");
    tg_tape_free(t);
    tg_model_free(m);
}
END_TEST

TCase *tcase_distill(void) {
    TCase *tc = tcase_create("distill");
    tcase_add_test(tc, spec_section);
    tcase_add_test(tc, spec_errors);
    tcase_add_test(tc, loss_rows_and_mix);
    tcase_add_test(tc, loss_errors);
    return tc;
}
