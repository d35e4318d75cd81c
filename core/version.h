/* The library's version. The Makefile reads the three numbers below for the
 * shared library's names (soname libtapegrad.so.MAJOR) and tapegrad.pc;
 * CHANGELOG.md and debian/changelog name the same version (a test checks).
 * Compare TG_VERSION (what a program was compiled against) with
 * tg_version() (the library it runs with). */
#ifndef TG_VERSION_H
#define TG_VERSION_H

#define TG_VERSION_MAJOR 0
#define TG_VERSION_MINOR 1
#define TG_VERSION_PATCH 0

#define TG__STR(x) #x
#define TG__XSTR(x) TG__STR(x)
/* "MAJOR.MINOR.PATCH" */
#define TG_VERSION                                                                                 \
    TG__XSTR(TG_VERSION_MAJOR) "." TG__XSTR(TG_VERSION_MINOR) "." TG__XSTR(TG_VERSION_PATCH)
/* One number for #if comparisons: 10000 * MAJOR + 100 * MINOR + PATCH. */
#define TG_VERSION_NUMBER (TG_VERSION_MAJOR * 10000 + TG_VERSION_MINOR * 100 + TG_VERSION_PATCH)

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH". */
const char *tg_version(void);

#endif
