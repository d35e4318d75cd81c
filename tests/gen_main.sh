#!/bin/sh
# Writes the main() of one Check suite: gen_main.sh SUITE test_a.c test_b.c ...
# Each test_<name>.c provides `TCase *tcase_<name>(void)`.
suite=$1; shift
names=""
for f in "$@"; do
  b=$(basename "$f" .c)
  case $b in test_*) names="$names ${b#test_}";; esac
done
echo '#define _POSIX_C_SOURCE 200809L'
echo '#include <check.h>'
echo '#include <stdlib.h>'
for n in $names; do echo "TCase *tcase_$n(void);"; done
echo 'int main(void) {'
echo '    /* gradient checks and long loops outlast the default 4 s, more so under sanitizers */'
echo '    setenv("CK_DEFAULT_TIMEOUT", "600", 0);'
echo "    Suite *s = suite_create(\"$suite\");"
for n in $names; do echo "    suite_add_tcase(s, tcase_$n());"; done
echo '    SRunner *r = srunner_create(s);'
echo '    srunner_run_all(r, CK_NORMAL);'
echo '    int failed = srunner_ntests_failed(r);'
echo '    srunner_free(r);'
echo '    return failed ? EXIT_FAILURE : EXIT_SUCCESS;'
echo '}'
