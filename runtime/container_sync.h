/* The parent/child sync protocol of create and exec: SOCK_SEQPACKET messages over a socketpair,
 * each a type, an integer, optionally a text and one fd (SCM_RIGHTS). A child that fails sends
 * SYNC_ERROR with its hy_error and _exit()s; EOF means the child exec'd or died. */
#ifndef HYRUN_CONTAINER_SYNC_H
#define HYRUN_CONTAINER_SYNC_H

#include <stdint.h>

#include "runtime/error.h"

enum sync_type {
	SYNC_ERROR = 1,
	SYNC_SETUP,        /* child -> parent: value 1 = write my uid/gid maps; join the cgroup */
	SYNC_PID,          /* child -> parent: value = the init's pid (when a second fork was needed) */
	SYNC_HOOKS,        /* child -> parent: mounts done, run prestart/createRuntime hooks */
	SYNC_PTY,          /* child -> parent: fd = the pty master */
	SYNC_SECCOMP,      /* child -> parent: fd = the seccomp notify fd */
	SYNC_READY,        /* child -> parent: set up, now waiting for start */
	SYNC_ACK,          /* parent -> child: go on (value: the init's host pid for hook state) */
};

struct sync_msg {
	uint32_t type;
	int32_t value;
	int32_t code;
	char text[HY_ERROR_MSG_MAX];
};

/* Sends a message (text may be NULL) and fd (-1 for none). */
int sync_send(int sock, enum sync_type type, int value, const char *text, int fd);
/* Receives one message; *fd gets a passed fd or -1. Returns 0, -EPIPE on EOF, or -errno. */
int sync_recv(int sock, struct sync_msg *m, int *fd);

/* Child side: reports err to the parent. */
void sync_send_error(int sock, const struct hy_error *err);

/* Parent side: receives a message that must be `want`; a SYNC_ERROR becomes *err. */
int sync_expect(int sock, enum sync_type want, struct sync_msg *m, int *fd, struct hy_error *err);

#endif
