/* The collection behind tg_json_collect (jsonerrs.c), for jsoncheck.c.
 * Internal. */
#ifndef TG_JSONERRS_H
#define TG_JSONERRS_H

#include "jsoncheck.h"

/* Keeps msg (the full message, file and path included) for the error at
 * path. */
void tg__json_keep(tg_jerrs *e, const char *path, const char *msg);

#endif
