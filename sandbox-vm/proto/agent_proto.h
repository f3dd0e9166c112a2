/* The host <-> guest-agent protocol of VM isolation. Shared by hyrun (sandbox-vm/host) and the
 * static guest agent (sandbox-vm/guest/agent), so it depends on libc only (no hy_error).
 *
 * Transport: one vsock stream per guest process, to guest port AGENT_VSOCK_PORT. From the host
 * that is the VMM's hybrid vsock Unix socket (<state dir>/vm.sock): connect, write
 * "CONNECT 1024\n", read "OK <n>\n", then speak frames.
 *
 * Frame: u32 type, u32 payload length (both little-endian), payload. A length above
 * AGENT_FRAME_MAX is a protocol error: the reader drops the connection.
 *
 * Conversations (each on its own connection):
 *   init:  host CREATE(process spec with the container parts)  -> guest READY(pid) | ERROR(text)
 *          host START                                          -> the process execs
 *          host STDIN* STDIN_EOF? SIGNAL* RESIZE*              <- guest STDOUT* STDERR*
 *                                                              <- guest EXIT(status)
 *          After EXIT of the init process the agent ends every other guest process, syncs,
 *          writes the low byte of the exit code to the exit port and resets the VM.
 *   exec:  host EXEC(process spec)                             -> guest STARTED(pid) | ERROR
 *          then the same stdio/signal/EXIT exchange (no START).
 *   ps:    host PS                                             -> guest PS_LIST(text)
 * The guest process is started in the container root (CREATE's mounts), with the spec's user,
 * capabilities, rlimits, seccomp, cwd, env. Terminal mode: a pty in the guest; STDOUT carries its
 * output, STDIN its input, RESIZE its size.
 *
 * Structured payloads (CREATE, EXEC) are a sequence of fields: u16 tag, u32 length, value.
 * Integers are little-endian; strings carry no NUL. Unknown tags are skipped (a newer host may
 * send more); a field whose length does not fit what is left, or a fixed-size field of the wrong
 * size, makes the whole payload invalid. Everything read from the peer is untrusted. */
#ifndef HYRUN_AGENT_PROTO_H
#define HYRUN_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_VSOCK_PORT 1024
#define AGENT_FRAME_HDR 8
#define AGENT_FRAME_MAX (4u << 20) /* a seccomp program plus a large environment fit */
#define AGENT_STDIO_CHUNK (32u * 1024)

enum agent_msg_type {
	/* host -> guest */
	AGENT_MSG_CREATE = 1, /* process spec + container parts */
	AGENT_MSG_START = 2,  /* empty */
	AGENT_MSG_EXEC = 3,   /* process spec */
	AGENT_MSG_STDIN = 4,  /* bytes */
	AGENT_MSG_STDIN_EOF = 5,
	AGENT_MSG_SIGNAL = 6, /* u32 signal number */
	AGENT_MSG_RESIZE = 7, /* u16 rows, u16 cols */
	AGENT_MSG_PS = 8,     /* empty */
	/* guest -> host */
	AGENT_MSG_READY = 64,   /* u32 guest pid */
	AGENT_MSG_STARTED = 65, /* u32 guest pid */
	AGENT_MSG_STDOUT = 66,  /* bytes */
	AGENT_MSG_STDERR = 67,  /* bytes */
	AGENT_MSG_EXIT = 68,    /* u32 wait status as waitpid() gives it (WIFEXITED/WIFSIGNALED) */
	AGENT_MSG_ERROR = 69,   /* text: why CREATE/EXEC/START failed, one line */
	AGENT_MSG_PS_LIST = 70, /* text: "PID PPID UID CMD\n" then one such line per process */
};

/* Field tags of a process spec. Repeated tags append. */
enum agent_field {
	AGENT_F_ARG = 1,        /* string, repeated: argv */
	AGENT_F_ENV = 2,        /* string "K=V", repeated */
	AGENT_F_CWD = 3,        /* string */
	AGENT_F_UID = 4,        /* u32 */
	AGENT_F_GID = 5,        /* u32 */
	AGENT_F_GROUP = 6,      /* u32, repeated: additional gids */
	AGENT_F_UMASK = 7,      /* u32 */
	AGENT_F_TERMINAL = 8,   /* u8 (0/1) */
	AGENT_F_ROWS_COLS = 9,  /* u16 rows, u16 cols: initial terminal size */
	AGENT_F_RLIMIT = 10,    /* u32 resource (RLIMIT_*), u64 soft, u64 hard; repeated */
	AGENT_F_CAPS = 11,      /* 5 x u64 bit masks: bounding, effective, inheritable, permitted,
				 * ambient */
	AGENT_F_NO_NEW_PRIVS = 12,  /* u8 */
	AGENT_F_SECCOMP_BPF = 13,   /* struct sock_filter[] (8 bytes each), ready to load */
	AGENT_F_OOM_SCORE_ADJ = 14, /* i32 */
	AGENT_F_APPARMOR = 15,      /* reserved */
	/* container parts: CREATE only */
	AGENT_F_HOSTNAME = 32,   /* string */
	AGENT_F_DOMAINNAME = 33, /* string */
	AGENT_F_MOUNT = 34,      /* nested fields (AGENT_FM_*), repeated, in order */
	AGENT_F_MASKED = 35,     /* string path, repeated */
	AGENT_F_READONLY = 36,   /* string path, repeated */
	AGENT_F_SYSCTL = 37,     /* string "key=value", repeated */
	AGENT_F_ROOT_RO = 38,    /* u8: root.readonly */
};

/* Fields nested in AGENT_F_MOUNT. For type "9p" the source is a virtio-9p mount tag the VMM
 * exports (the host side of a bind mount). */
enum agent_mount_field {
	AGENT_FM_TYPE = 1,   /* string */
	AGENT_FM_SOURCE = 2, /* string */
	AGENT_FM_DEST = 3,   /* string, absolute inside the container root */
	AGENT_FM_FLAGS = 4,  /* u64 MS_* flags */
	AGENT_FM_DATA = 5,   /* string, mount(2) data */
};

#define AGENT_CAP_SETS 5

struct agent_rlimit {
	uint32_t resource;
	uint64_t soft, hard;
};

struct agent_mount {
	char *type, *source, *dest, *data; /* NULL when absent */
	uint64_t flags;
};

struct agent_strv {
	char **v; /* NULL-terminated */
	size_t n;
};

/* A decoded (or to-be-encoded) process spec. Every pointer is owned (agent_process_free). */
struct agent_process {
	struct agent_strv args, env;
	char *cwd;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t n_groups;
	bool has_umask;
	uint32_t umask;
	bool terminal;
	uint16_t rows, cols;
	struct agent_rlimit *rlimits;
	size_t n_rlimits;
	bool has_caps;
	uint64_t caps[AGENT_CAP_SETS];
	bool no_new_privileges;
	uint8_t *seccomp_bpf; /* NULL = no filter */
	size_t seccomp_len;   /* bytes, a multiple of 8 */
	bool has_oom_score_adj;
	int32_t oom_score_adj;
	/* CREATE only */
	char *hostname, *domainname;
	struct agent_mount *mounts;
	size_t n_mounts;
	struct agent_strv masked, readonly, sysctls;
	bool root_readonly;
};

/* A growable output buffer. Appends never fail individually: on allocation failure or overflow
 * `failed` is set and later appends do nothing; check it once at the end. */
struct agent_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

void agent_buf_free(struct agent_buf *b);
void agent_buf_put_u16(struct agent_buf *b, uint16_t v);
void agent_buf_put_u32(struct agent_buf *b, uint32_t v);
void agent_buf_put_u64(struct agent_buf *b, uint64_t v);
void agent_buf_put_bytes(struct agent_buf *b, const void *p, size_t n);
/* One field: tag, length, value. */
void agent_buf_field(struct agent_buf *b, uint16_t tag, const void *p, size_t n);
void agent_buf_field_str(struct agent_buf *b, uint16_t tag, const char *s);
void agent_buf_field_u32(struct agent_buf *b, uint16_t tag, uint32_t v);

/* Encodes p (NULL/empty members are left out) as a field sequence into b. Returns 0, or -ENOMEM
 * when b failed. */
int agent_process_encode(const struct agent_process *p, struct agent_buf *b);

/* Decodes a field sequence. On error returns -EINVAL (or -ENOMEM) with *why set to a static
 * description (e.g. "AGENT_F_UID: expected 4 bytes") and p left empty. Strings containing NUL
 * bytes are rejected; args must be non-empty. */
int agent_process_decode(const uint8_t *data, size_t len, struct agent_process *p,
			 const char **why);
void agent_process_free(struct agent_process *p);

/* Frame I/O on a blocking stream fd; both retry EINTR and short transfers.
 * agent_frame_write: 0 or -errno. agent_frame_read: 0 with *payload malloc'd (NULL when *len is
 * 0; caller frees), -EPIPE on a clean EOF before a header, -EPROTO on a length over max_len or an
 * EOF inside a frame, other -errno. */
int agent_frame_write(int fd, uint32_t type, const void *payload, size_t len);
int agent_frame_read(int fd, uint32_t *type, uint8_t **payload, uint32_t *len, uint32_t max_len);

/* Host side of the hybrid vsock handshake on an already connected Unix stream: writes
 * "CONNECT <port>\n" and reads the "OK <n>\n" line. 0 or -errno (-ECONNREFUSED when the guest
 * refused, -ETIMEDOUT after timeout_ms without an answer). */
int agent_vsock_handshake(int fd, uint32_t port, int timeout_ms);

#endif
