#!/usr/bin/env python3
"""A minimal seccomp agent for security.bats: listens on SOCKET, saves the container process
state JSON the runtime sends to STATE_OUT, then answers every notified syscall with success
(return value 0) without performing it, until the container's filter goes away."""
import fcntl
import select
import socket
import struct
import sys
import time

# _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp)
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
NOTIF_SIZE = 80


def main():
    sock_path, state_out = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(60)
    conn, _ = srv.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
    while True:
        more = conn.recv(65536)
        if not more:
            break
        msg += more
    conn.close()
    with open(state_out, "w") as f:
        f.write(msg.decode())
    if not fds:
        return 1
    fd = fds[0]
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events = poller.poll(1000)
        if not events:
            continue
        if any(ev & (select.POLLHUP | select.POLLERR) for _, ev in events):
            break
        req = bytearray(NOTIF_SIZE)
        try:
            fcntl.ioctl(fd, NOTIF_RECV, req)
        except OSError:
            continue
        notif_id = struct.unpack_from("Q", req, 0)[0]
        resp = bytearray(struct.pack("QqiI", notif_id, 0, 0, 0))
        try:
            fcntl.ioctl(fd, NOTIF_SEND, resp)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
