/* The renet layer type and the image input in spec files: parsing, sizes,
 * errors, and a built model's loss and gradient (double build) on a batch
 * of 4x4 images cut into 2x2 patches. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define HEAD "{\"tapegrad\": 1, \"task\": \"classify\", "
#define IMAGE "\"input\": {\"type\": \"image\", \"height\": 4, \"width\": 6, \"patch\": 2}, "
#define LAYERS(l) "\"model\": {\"layers\": [" l "]}}"
#define RENET_CLASSIFIER                                                                            \
    HEAD IMAGE LAYERS("{\"type\": \"renet\", \"hidden\": 3, \"cell\": \"gru\"},"                    \
                      "{\"type\": \"renet\", \"hidden\": 2},"                                       \
                      "{\"type\": \"pool\", \"mode\": \"mean\"},"                                   \
                      "{\"type\": \"linear\", \"out\": 3}")

START_TEST(renet_spec_sizes) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(RENET_CLASSIFIER, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(s->input, TG_INPUT_VECTORS);
    ck_assert_int_eq(s->input_size, 4);
    ck_assert_int_eq(s->image_height, 4);
    ck_assert_int_eq(s->image_width, 6);
    ck_assert_int_eq(s->layers[0].type, TG_LAYER_RENET);
    ck_assert_int_eq(s->layers[0].cell, TG_GRU);
    ck_assert_int_eq(s->layers[0].in, 4);
    ck_assert_int_eq(s->layers[0].out, 6);
    ck_assert_int_eq(s->layers[1].in, 6);
    ck_assert_int_eq(s->layers[1].out, 4);
    ck_assert_int_eq(s->layers[1].cell, TG_RNN_TANH);
    ck_assert_int_eq(s->layers[0].grid_rows, 2);
    ck_assert_int_eq(s->layers[0].grid_cols, 3);
    ck_assert_int_eq(s->output_size, 3);
    tg_spec_free(s);
}
END_TEST

static const struct {
    const char *json, *error;
} BAD[] = {
    {HEAD "\"input\": {\"type\": \"image\", \"height\": 8, \"width\": 8, \"patch\": 3}, " LAYERS(
         "{\"type\": \"renet\", \"hidden\": 3}"),
     "spec.json: input.patch: 3 does not divide the image's 8 x 8 pixels"},
    {HEAD "\"input\": {\"type\": \"image\", \"height\": 8, \"patch\": 2}, " LAYERS(
         "{\"type\": \"renet\", \"hidden\": 3}"),
     "spec.json: input.width: missing; expected a positive integer"},
    {HEAD "\"input\": {\"type\": \"image\", \"height\": 8, \"width\": 8, \"patch\": 2, "
          "\"size\": 4}, " LAYERS("{\"type\": \"renet\", \"hidden\": 3}"),
     "spec.json: input.size: unknown key; valid keys: type, height, width, patch"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", "
     "\"input\": {\"type\": \"image\", \"height\": 8, \"width\": 8, \"patch\": 2}, " LAYERS(
         "{\"type\": \"renet\", \"hidden\": 3}"),
     "spec.json: input.type: \"image\" is the input of task classify, not tag"},
    {HEAD "\"input\": {\"type\": \"vectors\", \"size\": 4}, " LAYERS(
         "{\"type\": \"renet\", \"hidden\": 3}, {\"type\": \"pool\"}"),
     "spec.json: model.layers[0]: renet layers read an image's patch grid, but input.type is not "
     "\"image\""},
    {HEAD IMAGE LAYERS("{\"type\": \"renet\", \"hidden\": 3, \"cell\": \"elman\"}"),
     "spec.json: model.layers[0].cell: unknown cell 'elman' (known: tanh, relu, lstm, gru)"},
    {HEAD IMAGE LAYERS("{\"type\": \"renet\"}"), "spec.json: model.layers[0].hidden: missing"},
    {HEAD IMAGE LAYERS("{\"type\": \"pool\"}, {\"type\": \"renet\", \"hidden\": 3}"),
     "spec.json: model.layers[1]: renet"},
};

/* the messages start as given (the rest may list the choices) */
START_TEST(renet_spec_errors) {
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char err[512] = "";
        tg_spec *s = tg_spec_parse(BAD[i].json, "spec.json", err, sizeof err);
        ck_assert_msg(s == NULL, "case %zu parsed", i);
        ck_assert_msg(strncmp(err, BAD[i].error, strlen(BAD[i].error)) == 0,
                      "case %zu: got \"%s\", want \"%s...\"", i, err, BAD[i].error);
    }
}
END_TEST

/* A model from the spec: the loss of a batch of B images as [T = 6, B, 4]
 * patches, finite, and (double build) its gradient over every parameter. */
START_TEST(renet_model_loss_and_gradcheck) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(RENET_CLASSIFIER, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, 21);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_tensor *x = test_param(&r, TG_SHAPE(6, 2, 4));
    int64_t y[2] = {2, 0};
    tg_model_batch b = {.x = x, .target_ids = y};
    tg_tape *t = tg_tape_new();
    tg_tensor *loss = tg_model_loss(t, m, &b, NULL);
    ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
    ck_assert(isfinite((double)tg_at(loss, 0)) && tg_at(loss, 0) > 0);
    tg_tape_reset(t);
    b.x = test_param(&r, TG_SHAPE(5, 2, 4)); /* not the image's 2 x 3 patches */
    ck_assert_ptr_null(tg_model_loss(t, m, &b, NULL));
    ck_assert_str_eq(tg_tape_error(t), "renet: 5 steps, expected the image's 2 x 3 patches");
    tg_tensor_free(b.x);
    b.x = x;
    ck_assert_model_gradcheck(m, &b);
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_module_free(&m->base);
    tg_spec_free(s);
}
END_TEST

TCase *tcase_spec_renet(void) {
    TCase *tc = tcase_create("spec_renet");
    tcase_add_test(tc, renet_spec_sizes);
    tcase_add_test(tc, renet_spec_errors);
    tcase_add_test(tc, renet_model_loss_and_gradcheck);
    return tc;
}
