/* sample --prime with UTF-8 text: accepted when the vocabulary holds its
 * bytes; refused naming the character (and its code point), not a byte of
 * it, when it does not. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"

START_TEST(prime_utf8) {
    char dir[256], spec[300], data[300], ckpt[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "s.json");
    cli_path(data, sizeof data, dir, "t.txt");
    cli_path(ckpt, sizeof ckpt, dir, "s.safetensors");
    cli_write(spec, "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                    "\"tokens\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},"
                    "{\"type\": \"rnn\", \"hidden\": 8}, {\"type\": \"linear\", \"out\": "
                    "\"vocab\"}]}, \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},"
                    "\"train\": {\"batch\": 2, \"seq_len\": 8, \"steps\": 2, \"eval_every\": 0,"
                    "\"valid_fraction\": 0.1, \"seed\": 1}}");
    char text[8192] = "";
    for (int i = 0; i < 100; i++)
        strcat(text, "le caf\xC3\xA9 co\xC3\xBBte 3 \xE2\x82\xAC ou euro. ");
    cli_write(data, text);
    cli_out r =
        cli_run((const char *[]){"train", spec, "--data", data, "--checkpoint", ckpt, NULL}, 0);
    cli_out_free(&r);
    /* every byte of '€' is in the text: the primer is fed in and echoed */
    r = cli_run((const char *[]){"sample", spec, "--checkpoint", ckpt, "--prime",
                                 "\xE2\x82\xAC"
                                 "uro",
                                 "--length", "5", NULL},
                0);
    ck_assert_msg(strncmp(r.out,
                          "\xE2\x82\xAC"
                          "uro",
                          6) == 0,
                  "%s", r.out);
    cli_out_free(&r);
    /* 'è' (C3 A8): C3 is known (from é, û), A8 is not */
    cli_expect_err(
        (const char *[]){"sample", spec, "--checkpoint", ckpt, "--prime", "caff\xC3\xA8", NULL}, 2,
        "tapegrad sample: --prime: '\xC3\xA8' (U+00E8, bytes C3 A8) is not in the "
        "model's vocabulary (it has no byte 0xA8: ");
    /* '日' (E6 97 A5): not even its first byte */
    cli_expect_err(
        (const char *[]){"sample", spec, "--checkpoint", ckpt, "--prime", "\xE6\x97\xA5", NULL}, 2,
        "--prime: '\xE6\x97\xA5' (U+65E5, bytes E6 97 A5) is not in the model's");
    /* a 4-byte character and text that is not UTF-8: the byte, as before */
    cli_expect_err(
        (const char *[]){"sample", spec, "--checkpoint", ckpt, "--prime", "\xF0\x9F\x98\x80", NULL},
        2, "--prime: '\xF0\x9F\x98\x80' (U+1F600, bytes F0 9F 98 80) is not in the");
    cli_expect_err((const char *[]){"sample", spec, "--checkpoint", ckpt, "--prime", "\xFF", NULL},
                   2, "--prime: byte 0xFF ('?') is not in the model's vocabulary\n");
    cli_expect_err((const char *[]){"sample", spec, "--checkpoint", ckpt, "--prime", "\xC0\xAF",
                                    NULL}, /* overlong '/' */
                   2, "--prime: byte 0xC0 ('?') is not in the model's vocabulary\n");
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_prime(void) {
    TCase *tc = tcase_create("prime");
    tcase_add_test(tc, prime_utf8);
    return tc;
}
