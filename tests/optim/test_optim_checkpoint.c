/* Optimizer state in checkpoints: 10 steps, save parameters and state, load
 * into fresh parameters and a fresh optimizer, 10 more steps: bit-identical
 * to 20 steps without a stop, for every kind with all its buffers. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

enum { SGD, ADAGRAD, RMSPROP, ADAM, ADAMW, NKINDS };

static tg_optim *make(int kind, tg_tensor **ps, double lr) {
    switch (kind) {
    case SGD:
        return tg_optim_sgd(
            ps, 2,
            (tg_sgd_options){.lr = lr, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    case ADAGRAD:
        return tg_optim_adagrad(
            ps, 2,
            (tg_adagrad_options){.lr = lr, .lr_decay = 0.01, .initial_accumulator_value = 0.1});
    case RMSPROP:
        return tg_optim_rmsprop(ps, 2,
                                (tg_rmsprop_options){.lr = lr, .momentum = 0.5, .centered = true});
    case ADAM:
        return tg_optim_adam(ps, 2,
                             (tg_adam_options){.lr = lr, .weight_decay = 0.01, .amsgrad = true});
    default: return tg_optim_adamw(ps, 2, (tg_adam_options){.lr = lr, .amsgrad = true});
    }
}

/* A gradient that depends on the parameters and the step (the minimum of
 * a shifting quadratic), so a resumed run must have them exactly. */
static void set_grads(tg_tensor **ps, int t) {
    for (int k = 0; k < 2; k++)
        for (int64_t j = 0; j < ps[k]->numel; j++)
            ps[k]->grad[j] = ps[k]->data[j] - (tg_real)sin(0.7 * t + (double)j + 3 * k);
}

typedef struct run {
    tg_tensor *p[2];
    tg_optim *o;
} run;

static run start(int kind, double lr) {
    run r = {{tg_param_new(TG_SHAPE(3, 4)), tg_param_new(TG_SHAPE(4))}, NULL};
    tg_rng g;
    tg_rng_seed(&g, 11);
    tg_init_uniform(r.p[0], &g, -1, 1);
    tg_init_uniform(r.p[1], &g, -1, 1);
    r.o = make(kind, r.p, lr);
    ck_assert_ptr_null(tg_optim_error(r.o));
    return r;
}

/* Steps t0 .. t1-1; the lr moves by a schedule and b misses its gradient
 * at step 4, so the per-parameter step counts differ. */
static void train(run *r, int t0, int t1) {
    tg_schedule s = tg_schedule_with_warmup(tg_schedule_cosine(0.05, 20, 0.001), 3, 0.3);
    for (int t = t0; t < t1; t++) {
        ck_assert_int_eq(tg_optim_set_lr(r->o, tg_schedule_lr(&s, t)), 0);
        set_grads(r->p, t);
        tg_real *keep = r->p[1]->grad;
        if (t == 4) r->p[1]->grad = NULL;
        ck_assert_int_eq(tg_optim_step(r->o), 0);
        r->p[1]->grad = keep;
    }
}

static void finish(run *r) {
    tg_optim_free(r->o);
    tg_tensor_free(r->p[0]);
    tg_tensor_free(r->p[1]);
}

static void temp_path(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/tg_optim_ckpt_%ld_%s.safetensors", (long)getpid(), tag);
}

static bool same_bits(const tg_tensor *a, const tg_tensor *b) {
    return a->numel == b->numel &&
           memcmp(a->data, b->data, (size_t)a->numel * sizeof(tg_real)) == 0;
}

START_TEST(resume_is_bit_identical) {
    const int kind = _i;
    char path[128];
    temp_path(path, sizeof path, "resume");
    run whole = start(kind, 0.05);
    train(&whole, 0, 20);

    run first = start(kind, 0.05);
    train(&first, 0, 10);
    /* an lr no schedule gives, to see that load restores it exactly */
    ck_assert_int_eq(tg_optim_set_lr(first.o, 0.1 / 3), 0);
    tg_named model[2] = {{"w", first.p[0]}, {"b", first.p[1]}};
    ck_assert_msg(tg_optim_save(first.o, path, 2, model) == 0, "%s", tg_optim_error(first.o));
    finish(&first);

    /* fresh parameters (zeroed) and a fresh optimizer with another lr */
    run second = {{tg_param_new(TG_SHAPE(3, 4)), tg_param_new(TG_SHAPE(4))}, NULL};
    second.o = make(kind, second.p, 0.7);
    tg_named model2[2] = {{"w", second.p[0]}, {"b", second.p[1]}};
    ck_assert_msg(tg_optim_load(second.o, path, 2, model2) == 0, "%s", tg_optim_error(second.o));
    ck_assert(tg_optim_lr(second.o) == 0.1 / 3);
    train(&second, 10, 20);

    ck_assert_msg(same_bits(whole.p[0], second.p[0]), "%s: w differs", tg_optim_kind(whole.o));
    ck_assert_msg(same_bits(whole.p[1], second.p[1]), "%s: b differs", tg_optim_kind(whole.o));
    tg_named sa[16], sb[16];
    int na = tg_optim_state(whole.o, sa, 16), nb = tg_optim_state(second.o, sb, 16);
    ck_assert_int_eq(na, nb);
    ck_assert_int_ge(na, 3);
    for (int i = 0; i < na; i++)
        ck_assert_msg(same_bits(sa[i].tensor, sb[i].tensor), "%s differs", sa[i].name);
    ck_assert_double_eq(sa[0].tensor->data[0], 20); /* per-parameter steps */
    ck_assert_double_eq(sa[0].tensor->data[1], 19);
    /* and the parameters really moved from where they started */
    run init = start(kind, 0.05);
    ck_assert_double_gt(fabs(whole.p[0]->data[0] - init.p[0]->data[0]), 1e-3);
    finish(&init);
    finish(&whole);
    finish(&second);
    remove(path);
}
END_TEST

/* A state that is never stepped still round-trips (SGD's first step then
 * starts its buffer from the gradient, as PyTorch's None buffer would). */
START_TEST(resume_before_first_step) {
    char path[128];
    temp_path(path, sizeof path, "fresh");
    run a = start(SGD, 0.05), b = start(SGD, 0.05);
    ck_assert_int_eq(tg_optim_save(a.o, path, 0, NULL), 0);
    ck_assert_int_eq(tg_optim_load(b.o, path, 0, NULL), 0);
    train(&a, 0, 3);
    train(&b, 0, 3);
    ck_assert(same_bits(a.p[0], b.p[0]));
    finish(&a);
    finish(&b);
    remove(path);
}
END_TEST

START_TEST(load_errors) {
    char path[128], plain[128], msg[512];
    temp_path(path, sizeof path, "adam");
    temp_path(plain, sizeof plain, "plain");
    run adam = start(ADAM, 0.01); /* then without amsgrad */
    tg_optim_free(adam.o);
    adam.o = tg_optim_adam(adam.p, 2, (tg_adam_options){.lr = 0.01});
    train(&adam, 0, 2);
    ck_assert_int_eq(tg_optim_save(adam.o, path, 0, NULL), 0);

    /* another kind */
    run sgd = start(SGD, 0.01);
    ck_assert_int_eq(tg_optim_load(sgd.o, path, 0, NULL), -1);
    snprintf(msg, sizeof msg, "tg_optim_load: %s: holds adam optimizer state, not sgd", path);
    ck_assert_str_eq(tg_optim_error(sgd.o), msg);

    /* the same kind without amsgrad's buffer: nothing changes */
    run other = start(ADAMW, 0.01); /* amsgrad, and kind adamw */
    ck_assert_int_eq(tg_optim_load(other.o, path, 0, NULL), -1);
    snprintf(msg, sizeof msg, "tg_optim_load: %s: holds adam optimizer state, not adamw", path);
    ck_assert_str_eq(tg_optim_error(other.o), msg);
    tg_tensor *p2[2] = {other.p[0], other.p[1]};
    tg_optim *ams = tg_optim_adam(p2, 2, (tg_adam_options){.lr = 0.01, .amsgrad = true});
    tg_named before[8];
    ck_assert_int_eq(tg_optim_state(ams, before, 8), 7);
    tg_fill(before[1].tensor, 0.5);
    ck_assert_int_eq(tg_optim_load(ams, path, 0, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_optim_error(ams), "max_exp_avg_sq.0"));
    ck_assert_double_eq(before[1].tensor->data[0], 0.5); /* exp_avg.0 not loaded */
    ck_assert_double_eq(before[0].tensor->data[0], 0);   /* nor the steps */
    ck_assert_double_eq(tg_optim_lr(ams), 0.01);

    /* a parameter the file lacks: nothing changes either */
    tg_named want[1] = {{"no_such_weight", other.p[0]}};
    run adam2 = start(ADAM, 0.02);
    tg_optim_free(adam2.o);
    adam2.o = tg_optim_adam(adam2.p, 2, (tg_adam_options){.lr = 0.02});
    ck_assert_int_eq(tg_optim_load(adam2.o, path, 1, want), -1);
    ck_assert_ptr_nonnull(strstr(tg_optim_error(adam2.o), "no_such_weight"));
    ck_assert_double_eq(tg_optim_lr(adam2.o), 0.02);

    /* a safetensors file without optimizer state */
    tg_named only[1] = {{"w", adam.p[0]}};
    ck_assert_int_eq(tg_safetensors_save(plain, 1, only, 0, NULL, NULL, 0), 0);
    ck_assert_int_eq(tg_optim_load(adam2.o, plain, 0, NULL), -1);
    snprintf(msg, sizeof msg,
             "tg_optim_load: %s: no optimizer state (no 'tapegrad.optim' in the metadata)", plain);
    ck_assert_str_eq(tg_optim_error(adam2.o), msg);

    /* no file at all */
    ck_assert_int_eq(tg_optim_load(adam2.o, "/nonexistent/dir/x.safetensors", 0, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_optim_error(adam2.o), "/nonexistent/dir/x.safetensors"));
    ck_assert_int_eq(strncmp(tg_optim_error(adam2.o), "tg_optim_load: ", 15), 0);
    /* nor a place to save one; a failed load or save does not break steps */
    ck_assert_int_eq(tg_optim_save(adam2.o, "/nonexistent/dir/x.safetensors", 0, NULL), -1);
    ck_assert_int_eq(strncmp(tg_optim_error(adam2.o), "tg_optim_save: ", 15), 0);
    ck_assert_int_eq(tg_optim_save(adam2.o, path, -1, NULL), -1);
    ck_assert_str_eq(tg_optim_error(adam2.o),
                     "tg_optim_save: bad extra list (n_extra = -1, extra NULL)");
    ck_assert_int_eq(tg_optim_step(adam2.o), 0);

    tg_optim_free(ams);
    finish(&adam);
    finish(&adam2);
    finish(&sgd);
    finish(&other);
    remove(path);
    remove(plain);
}
END_TEST

TCase *tcase_optim_checkpoint(void) {
    TCase *tc = tcase_create("optim_checkpoint");
    tcase_add_loop_test(tc, resume_is_bit_identical, 0, NKINDS);
    tcase_add_test(tc, resume_before_first_step);
    tcase_add_test(tc, load_errors);
    return tc;
}
