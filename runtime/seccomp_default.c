/* The default seccomp profile, embedded from configs/seccomp-default.json at build time so that
 * the committed JSON stays the single source of truth (runtime/seccomp.mk adds the dependency).
 * The assembler includes the file verbatim and appends the terminating NUL. */
#include "runtime/seccomp.h"

__asm__(".pushsection .rodata\n"
	".global hy_seccomp_default_json\n"
	".type hy_seccomp_default_json, @object\n"
	"hy_seccomp_default_json:\n"
	".incbin \"configs/seccomp-default.json\"\n"
	".byte 0\n"
	".size hy_seccomp_default_json, . - hy_seccomp_default_json\n"
	".popsection\n");

extern const char hy_seccomp_default_json[];

const char *seccomp_default_profile_json(void)
{
	return hy_seccomp_default_json;
}
