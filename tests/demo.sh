#!/bin/bash
# `make demo`: a busybox container made from `hyrun spec`, printing its hostname, its PID (1) and
# its mounts. Everything it creates lives in one temporary directory, removed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
hyrun=${HYRUN:-$here/build/hyrun}
busybox=${BUSYBOX:-/bin/busybox}

[ "$(id -u)" = 0 ] || { echo "demo: run as root (containers need namespaces and cgroups)" >&2; exit 1; }
[ -x "$hyrun" ] || { echo "demo: $hyrun not built (run make)" >&2; exit 1; }
[ -x "$busybox" ] || { echo "demo: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
command -v jq >/dev/null || { echo "demo: jq missing (apt-get install jq)" >&2; exit 1; }

work=$(mktemp -d /tmp/hyrun-demo.XXXXXX)
root=$work/state
id=demo-$$
cleanup() {
	"$hyrun" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== building a busybox root filesystem in $work/bundle/rootfs"
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin}
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

echo "== hyrun spec (the default config.json), then a command instead of an interactive sh"
"$hyrun" spec --bundle "$work/bundle"
jq '.process.terminal = false
    | .hostname = "hyrun-demo"
    | .process.args = ["sh", "-c",
        "echo \"hostname: $(hostname)\"; echo \"pid: $$\"; echo mounts:; cat /proc/self/mounts"]' \
	"$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

echo "== hyrun run $id"
set +e
"$hyrun" --root "$root" run --bundle "$work/bundle" "$id"
status=$?
set -e
echo "== container exited with status $status"
exit "$status"
