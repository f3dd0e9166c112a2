/* process.terminal: a pty created inside the container (its own devpts), the slave as the
 * controlling terminal and stdio of the process, the master handed to --console-socket with
 * SCM_RIGHTS (runtime-tools console-socket protocol), or relayed by a foreground `run`/`exec`. */
#ifndef HYRUN_TERMINAL_H
#define HYRUN_TERMINAL_H

#include <stdbool.h>
#include <termios.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* In the process to be: opens /dev/ptmx (of the current root), makes the slave the controlling
 * terminal and fds 0-2, applies consoleSize. *master gets the master fd (O_CLOEXEC). */
int terminal_setup(const struct hy_process *p, int *master, struct hy_error *err);

/* Connects to the AF_UNIX socket at path and sends master with SCM_RIGHTS. */
int terminal_send_to_socket(const char *path, int master, struct hy_error *err);

/* Copies between our stdin/stdout and master until the master hangs up or *stop becomes true.
 * sigfd (a signalfd, or -1) is polled too: on_signal is called for each signal read. Puts our
 * stdin in raw mode when it is a terminal and restores it. */
struct terminal_relay {
	int master;
	int sigfd;
	void (*on_signal)(void *arg, int sig);
	void *arg;
	bool *stop;
};
int terminal_relay(const struct terminal_relay *r, struct hy_error *err);

#endif
