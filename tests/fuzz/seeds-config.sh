#!/bin/sh
# Seeds for fuzz_config: every JSON config in configs/, and the default seccomp profile
# wrapped into a config, copied into the corpus directory given as $1.
set -eu
out=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
for f in "$here"/configs/*.json; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .json)
	if [ "$name" = seccomp-default ]; then
		printf '{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{"seccomp":' >"$out/seed-$name.json"
		cat "$f" >>"$out/seed-$name.json"
		printf '}}\n' >>"$out/seed-$name.json"
	else
		cp "$f" "$out/seed-$name.json"
	fi
done
