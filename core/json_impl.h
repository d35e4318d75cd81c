/* What core's JSON files share, internal to core/: jsonmsg.c (messages,
 * paths, echoed text), jsonscan.c (the strict parse), jsoncheck.c (the
 * typed readers), jsonerrs.c (the collection behind tg_json_collect). */
#ifndef TG_JSON_IMPL_H
#define TG_JSON_IMPL_H

#include "jsoncheck.h"

/* Longest piece of user text (a key, a string value) echoed in a message. */
#define TG__JSON_ECHO_MAX 40
/* A buffer for one name quoted by tg_json_quote in a message (the cut is
 * the buffer's as much as TG__JSON_ECHO_MAX's, so every reader uses this). */
#define TG__JSON_QUOTE_BUF (TG__JSON_ECHO_MAX + 16)

/* jsonerrs.c: keeps msg (the full message, file and path included) for the
 * error at path. */
void tg__json_keep(tg_jerrs *e, const char *path, const char *msg);

#endif
