/* Error messages into a caller's buffer: the convention of every function
 * that can fail without a tape (constructors, file readers). */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>

void *tg_error_set(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NULL;
}
