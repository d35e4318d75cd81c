/* The version compiled into the library (core/version.h). */
#include "version.h"

const char *tg_version(void) {
    return TG_VERSION;
}
