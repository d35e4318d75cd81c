/* "distill": {"teacher": "teacher.json", "checkpoint": "teacher.safetensors",
 *             "temperature": 2.0, "alpha": 0.5} */
#include "model_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const DISTILL_KEYS[] = {"teacher", "checkpoint", "temperature", "alpha", NULL};

/* path as given if absolute (or the spec has no directory), else the spec
 * file's directory + "/" + path; heap, NULL when out of memory. */
static char *beside(const char *spec_file, const char *path) {
    const char *slash = spec_file ? strrchr(spec_file, '/') : NULL;
    size_t dir = path[0] == '/' || !slash ? 0 : (size_t)(slash - spec_file) + 1;
    char *out = malloc(dir + strlen(path) + 1);
    if (out) {
        memcpy(out, spec_file, dir);
        strcpy(out + dir, path);
    }
    return out;
}

int tg_spec_parse_distill(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "distill");
    tg_distill_spec *o = &s->distill;
    *o = (tg_distill_spec){.temperature = 2.0, .alpha = 0.5};
    if (!d) return 0;
    const char *P = "distill", *teacher, *ckpt;
    if (tg_json_expect_object(c, d, P,
                              "an object such as {\"teacher\": \"teacher.json\", "
                              "\"checkpoint\": \"teacher.safetensors\"}") ||
        tg_json_check_keys(c, d, P, DISTILL_KEYS) ||
        tg_json_string(c, d, P, "teacher", TG_JSON_REQUIRED, &teacher) < 0 ||
        tg_json_string(c, d, P, "checkpoint", TG_JSON_REQUIRED, &ckpt) < 0 ||
        tg_json_number(c, d, P, "temperature", 0, 0, true, INFINITY, true, &o->temperature) < 0 ||
        tg_json_number(c, d, P, "alpha", 0, 0, false, 1, false, &o->alpha) < 0)
        return -1;
    if (s->task != TG_TASK_LANGUAGE_MODEL && s->task != TG_TASK_CLASSIFY && s->task != TG_TASK_TAG)
        return tg_json_fail(c, P, "distillation needs task language_model, classify or tag, not %s",
                            tg_task_name(s->task));
    if (!*teacher || !*ckpt)
        return tg_json_fail(c, P, "%s: expected a file name, got \"\"",
                            *teacher ? "checkpoint" : "teacher");
    o->teacher = beside(s->file, teacher);
    o->checkpoint = beside(s->file, ckpt);
    if (!o->teacher || !o->checkpoint) return tg_json_fail(c, P, "out of memory");
    return 0;
}

void tg_spec_free_distill(tg_spec *s) {
    free(s->distill.teacher);
    free(s->distill.checkpoint);
    s->distill.teacher = s->distill.checkpoint = NULL;
}
