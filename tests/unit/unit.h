/* A minimal unit-test harness: each tests/unit/test_*.c is one binary built with ASan+UBSan.
 * It prints "<name>: N passed, N failed" and exits non-zero on any failure. */
#ifndef HYRUN_UNIT_H
#define HYRUN_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			unit_passed++;                                                             \
		} else {                                                                           \
			unit_failed++;                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                                       \
	CHECK((haystack) != NULL && strstr((haystack), (needle)) != NULL)

#define UNIT_DONE()                                                                                \
	(printf("%s: %d passed, %d failed\n", __FILE__, unit_passed, unit_failed), unit_failed != 0)

#endif
