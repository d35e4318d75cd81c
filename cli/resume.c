/* What a checkpoint remembers of its spec, so that --resume with a spec
 * that builds another model is refused with the field that differs: the
 * spec's task, input and model sections, as written (a key left at its
 * default is not the same as one written out). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../core/jsoncheck.h" /* paths and values in messages */
#include "common.h"

static const char *const SECTIONS[] = {"task", "input", "model", NULL};

char *cli_model_json(const char *spec_path) {
    char err[256];
    int64_t len;
    char *text = cli_read_file(spec_path, &len, err, sizeof err);
    if (!text) return NULL;
    size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* a BOM */
    cJSON *root = cJSON_ParseWithLength(text + skip, (size_t)len - skip),
          *out = cJSON_CreateObject();
    free(text);
    char *json = NULL;
    for (int i = 0; root && out && SECTIONS[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, SECTIONS[i]);
        if (v) cJSON_AddItemToObject(out, SECTIONS[i], cJSON_Duplicate(v, true));
    }
    if (root && out) json = cJSON_PrintUnformatted(out);
    cJSON_Delete(root);
    cJSON_Delete(out);
    return json;
}

/* The first difference between a (the checkpoint's) and b (now) under path,
 * as "path: X in the checkpoint's spec, Y now", into err. 0 if equal. */
static int differ(const cJSON *a, const cJSON *b, const char *path, char *err, size_t errlen) {
    char da[64], db[64], sub[TG_JSON_PATH_MAX];
    if (!a && !b) return 0;
    if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF) ||
        (cJSON_IsNumber(a) && a->valuedouble != b->valuedouble) ||
        (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring) != 0)) {
        snprintf(err, errlen, "%s: %s in the checkpoint's spec, %s now", path,
                 a ? tg_json_describe(a, da, sizeof da) : "absent",
                 b ? tg_json_describe(b, db, sizeof db) : "absent");
        return -1;
    }
    if (cJSON_IsArray(a)) {
        int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
        for (int i = 0; i < na || i < nb; i++)
            if (differ(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i),
                       tg_json_path_index(sub, path, i), err, errlen))
                return -1;
    } else if (cJSON_IsObject(a)) {
        for (const cJSON *k = a->child; k; k = k->next) /* in the checkpoint's order */
            if (differ(k, cJSON_GetObjectItemCaseSensitive(b, k->string),
                       tg_json_path(sub, path, k->string), err, errlen))
                return -1;
        for (const cJSON *k = b->child; k; k = k->next) /* keys only the new one has */
            if (!cJSON_GetObjectItemCaseSensitive(a, k->string))
                return differ(NULL, k, tg_json_path(sub, path, k->string), err, errlen);
    }
    return 0;
}

int cli_model_differs(const char *was, const char *now, char *err, size_t errlen) {
    cJSON *a = cJSON_Parse(was), *b = cJSON_Parse(now);
    int rc = 0;
    for (int i = 0; a && b && SECTIONS[i] && !rc; i++)
        rc = differ(cJSON_GetObjectItemCaseSensitive(a, SECTIONS[i]),
                    cJSON_GetObjectItemCaseSensitive(b, SECTIONS[i]), SECTIONS[i], err, errlen);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}
