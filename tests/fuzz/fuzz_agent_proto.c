/* libFuzzer target: agent_process_decode (sandbox-vm/proto/agent_proto.c) on hostile payloads, as
 * the guest agent receives them in CREATE/EXEC frames. Whatever it accepts must re-encode to a
 * canonical form that decodes back to the same encoding (no field lost or invented), and the
 * decoded strings must be NUL-free with NULL-terminated vectors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox-vm/proto/agent_proto.h"

static void check_strv(const struct agent_strv *sv)
{
	if (sv->n && (!sv->v || sv->v[sv->n] != NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_process p, q;
	struct agent_buf once = {0}, twice = {0};
	const char *why = NULL;

	if (agent_process_decode(data, size, &p, &why) < 0) {
		if (!why || p.args.v || p.mounts || p.seccomp_bpf)
			abort();
		return 0;
	}
	if (p.args.n == 0)
		abort();
	check_strv(&p.args);
	check_strv(&p.env);
	check_strv(&p.masked);
	check_strv(&p.readonly);
	check_strv(&p.sysctls);
	if (p.seccomp_bpf && (p.seccomp_len == 0 || p.seccomp_len % 8 || p.seccomp_len > 4096 * 8))
		abort();
	for (size_t i = 0; i < p.n_mounts; i++)
		if (!p.mounts[i].dest)
			abort();

	if (agent_process_encode(&p, &once) < 0)
		abort();
	if (agent_process_decode(once.data, once.len, &q, &why) < 0)
		abort();
	if (agent_process_encode(&q, &twice) < 0)
		abort();
	if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0)
		abort();
	agent_process_free(&p);
	agent_process_free(&q);
	agent_buf_free(&once);
	agent_buf_free(&twice);
	return 0;
}
