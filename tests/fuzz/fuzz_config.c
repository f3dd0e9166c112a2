/* libFuzzer target: arbitrary bytes as config.json through config_parse (every sub-parser,
 * including linux.seccomp and process.capabilities). A parse may fail, never crash or leak;
 * a config that parses is also freed, and its seccomp part compiled to BPF (not loaded), so the
 * loader's view of what the parser accepted is exercised too. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/config.h"
#include "runtime/seccomp.h"
#include "runtime/seccomp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hy_config *cfg = NULL;
	struct hy_error err = {0};
	if (config_parse((const char *)data, size, "config.json", "/nonexistent-bundle", &cfg,
			 &err) == 0) {
		if (cfg->linux_.seccomp) {
			struct hy_seccomp_bpf bpf;
			if (seccomp_bpf_build(cfg->linux_.seccomp, &bpf, &err) == 0)
				seccomp_bpf_free(&bpf);
		}
		config_free(cfg);
	}
	return 0;
}
