#!/usr/bin/env bats
# hyrun image: the store, import of each format, unpack (layers, whiteouts, config), run of the
# result, hostile layers, and interoperability with skopeo and umoci. Images are built locally.

load helpers
load image-helpers

RUN_CMD='echo hello from image; cat /etc/upper; id; pwd; echo $FOO'
CFG_FULL='{"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hello from image; cat /etc/upper; id; pwd; echo $FOO"],"Env":["FOO=bar"],"WorkingDir":"/data","User":"tester","ExposedPorts":{"80/tcp":{},"443/tcp":{}},"StopSignal":"SIGINT","Labels":{"org.example.label":"v1","org.hyrun.isolation":"vm","run.oci.handler":"krun"}}'

setup_file() {
	local F=$BATS_FILE_TMPDIR
	build_busybox_layers "$F/layers"
	gzip -k "$F/layers/l2.tar"
	zstd -q -k "$F/layers/l1.tar" -o "$F/layers/l1.tar.zst"
	make_oci_layout "$F/oci" bb:v1 "$CFG_FULL" "$F/layers/l1.tar" "$F/layers/l2.tar.gz"
	make_docker_archive "$F/docker.tar" bb:docker "$CFG_FULL" "$F/layers/l1.tar" "$F/layers/l2.tar"
}

setup() {
	setup_hyrun
	F=$BATS_FILE_TMPDIR
	T=$BATS_TEST_TMPDIR
	STORE=$T/store
	SENTINEL=$T/sentinel
	mkdir -p "$SENTINEL/dir"
	echo secret >"$SENTINEL/secret"
	echo secret >"$SENTINEL/dir/secret"
}

teardown() {
	teardown_hyrun
}

img() {
	"$HYRUN" --root "$HYRUN_ROOT" --image-root "$STORE" image "$@"
}

blob_count() {
	find "$STORE/blobs/sha256" -type f | wc -l
}

# A bundle from NAME run with hyrun, output checked against the full config's command.
assert_runs_full() {
	run hy run -b "$1" "c-$BATS_TEST_NUMBER-$RANDOM"
	assert_success
	assert_line --index 0 'hello from image'
	assert_line --index 1 'upper'
	assert_line --index 2 --partial 'uid=1000(tester) gid=1000(tester)'
	assert_line --index 3 '/data'
	assert_line --index 4 'bar'
}

@test "image: import an OCI layout, unpack and run it" {
	run img import "$F/oci" --name bb:v1
	assert_success
	assert_output --regexp '^bb:v1@sha256:[0-9a-f]{64}$'
	[ -f "$STORE/oci-layout" ]
	run jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$STORE/index.json"
	assert_output bb:v1
	run img unpack bb:v1 "$T/b"
	assert_success
	assert_runs_full "$T/b"
}

@test "image: the name defaults to the layout's ref.name and to :latest" {
	make_oci_layout "$T/named" registry.local:5000/team/app:1.2 "$IMAGE_CONFIG_DEFAULT" \
		"$F/layers/l1.tar"
	run img import "$T/named"
	assert_success
	assert_output --partial 'registry.local:5000/team/app:1.2@sha256:'
	run img import "$F/oci" --name plain
	assert_output --partial 'plain:latest@'
	run img unpack plain "$T/b"
	assert_success
}

@test "image: whiteouts, opaque dirs, hard links, fifos, modes, owners and mtimes" {
	img import "$F/oci" --name bb:v1
	img unpack bb:v1 "$T/b"
	local r=$T/b/rootfs
	[ ! -e "$r/etc/lower-removed" ]
	[ ! -e "$r/data/gone" ]
	[ "$(cat "$r/etc/lower-kept")" = kept ]
	[ "$(cat "$r/etc/upper")" = upper ]
	run ls -A "$r/data/opq"
	assert_output new
	[ "$(stat -c %i "$r/data/keep")" = "$(stat -c %i "$r/data/keep-hl")" ]
	[ -p "$r/data/fifo" ]
	[ "$(stat -c '%a %u %g' "$r/data/keep")" = '640 1000 1000' ]
	[ "$(stat -c %Y "$r/data/keep")" = "$(date -d '2001-02-03 04:05:06' +%s)" ]
	[ -L "$r/bin/sh" ]
	[ "$(readlink "$r/bin/sh")" = busybox ]
	[ "$(stat -c %a "$r/tmp")" = 1777 ]
}

@test "image: config.json comes from the image config over the default spec" {
	img import "$F/oci" --name bb:v1
	img unpack bb:v1 "$T/b"
	local c=$T/b/config.json
	run jq -c '[.process.terminal, .process.args, .process.env, .process.cwd, .process.user]' "$c"
	assert_output '[false,["/bin/sh","-c","echo hello from image; cat /etc/upper; id; pwd; echo $FOO"],["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","FOO=bar"],"/data",{"uid":1000,"gid":1000}]'
	run jq -r '.annotations["org.opencontainers.image.exposedPorts"]' "$c"
	assert_output '80/tcp,443/tcp'
	run jq -r '.annotations["org.example.label"], .annotations["org.opencontainers.image.stopSignal"]' "$c"
	assert_output $'v1\nSIGINT'
	# The image may not choose its own isolation: org.hyrun.* and run.oci.* labels are dropped.
	run jq -r '.annotations | has("org.hyrun.isolation"), has("run.oci.handler")' "$c"
	assert_output $'false\nfalse'
	run jq -r '.root.path, .root.readonly, (.linux.namespaces | length > 0)' "$c"
	assert_output $'rootfs\nfalse\ntrue'
	run img unpack bb:v1 "$T/vm" --isolation vm
	assert_success
	run jq -r '.annotations["org.hyrun.isolation"]' "$T/vm/config.json"
	assert_output vm
	run img unpack bb:v1 "$T/x" --isolation kvm
	assert_failure
	assert_output --partial 'container or vm'
}

@test "image: User is resolved through the rootfs's passwd and group" {
	local u
	for u in 'tester:1000:1000' 'root:0:0' '1000:1000:1000' 'nobody:nogroup:65534:65534' \
		'4242:4242:0' '1000:0:1000:0'; do
		local spec=${u%:*:*} want=${u#"${u%:*:*}":}
		make_oci_layout "$T/u" u:1 "$(jq -nc --arg u "$spec" '{User:$u,Cmd:["id"]}')" \
			"$F/layers/l1.tar"
		img import "$T/u" --name u:1
		rm -rf "$T/bu"
		run img unpack u:1 "$T/bu"
		assert_success
		run jq -r '"\(.process.user.uid):\(.process.user.gid)"' "$T/bu/config.json"
		assert_output "$want"
		rm -rf "$T/u"
	done
	make_oci_layout "$T/u" u:2 '{"User":"nosuchuser","Cmd":["id"]}' "$F/layers/l1.tar"
	img import "$T/u" --name u:2
	run img unpack u:2 "$T/bad"
	assert_failure
	assert_output --partial "nosuchuser"
	[ ! -e "$T/bad" ]
}

@test "image: import a docker-archive, unpack and run it" {
	run img import "$F/docker.tar"
	assert_success
	assert_output --partial 'bb:docker@sha256:'
	run jq -r '.mediaType' "$STORE/blobs/sha256/$(jq -r '.manifests[0].digest[7:]' "$STORE/index.json")"
	assert_output application/vnd.oci.image.manifest.v1+json
	img unpack bb:docker "$T/b"
	assert_runs_full "$T/b"
	[ ! -e "$T/b/rootfs/etc/lower-removed" ]
}

@test "image: zstd, gzip and plain layers; an OCI archive (tar of a layout)" {
	make_oci_layout "$T/z" z:1 "$CFG_FULL" "$F/layers/l1.tar.zst" "$F/layers/l2.tar.gz"
	tar -C "$T/z" -cf "$T/z.tar" .
	run img import "$T/z.tar" --name z:1
	assert_success
	run img unpack z:1 "$T/b"
	assert_success
	assert_runs_full "$T/b"
	# The archive's contents were spread in a temp dir inside the store: nothing of it stays.
	run find "$STORE" -maxdepth 1 -name '.import-*'
	assert_output ''
}

@test "image: a multi-platform index picks linux/amd64 or --platform" {
	make_oci_layout "$T/amd" x "$(jq -nc '{Cmd:["echo","amd64"]}')" "$F/layers/l1.tar"
	make_oci_layout "$T/arm" x "$(jq -nc '{Cmd:["echo","arm64"]}')" "$F/layers/l1.tar"
	cp -a "$T/arm/blobs/." "$T/amd/blobs/"
	local a r
	a=$(jq -c '.manifests[0] | del(.annotations) + {platform:{os:"linux",architecture:"amd64"}}' "$T/amd/index.json")
	r=$(jq -c '.manifests[0] | del(.annotations) + {platform:{os:"linux",architecture:"arm64",variant:"v8"}}' "$T/arm/index.json")
	jq -n --argjson a "$a" --argjson r "$r" '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:[$r,$a]}' >"$T/idx.json"
	read -r d s < <(oci_put "$T/amd" "$T/idx.json")
	jq -n --arg d "$d" --argjson s "$s" '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":"multi:1"}}]}' >"$T/amd/index.json"
	run img import "$T/amd"
	assert_success
	assert_output --partial 'multi:1@'
	img unpack multi:1 "$T/b1"
	run jq -c .process.args "$T/b1/config.json"
	assert_output '["echo","amd64"]'
	img import "$T/amd" --name multi:arm --platform linux/arm64
	img unpack multi:arm "$T/b2"
	run jq -c .process.args "$T/b2/config.json"
	assert_output '["echo","arm64"]'
	run img import "$T/amd" --name multi:s390 --platform linux/s390x
	assert_failure
	assert_output --partial 'no manifest for platform linux/s390x'
}

@test "image: a tampered blob is refused on import, naming the digest, leaving nothing" {
	cp -a "$F/oci" "$T/bad"
	local layer
	layer=$(jq -r '.layers[0].digest[7:]' "$T/bad/blobs/sha256/$(jq -r '.manifests[0].digest[7:]' "$T/bad/index.json")")
	printf 'X' | dd of="$T/bad/blobs/sha256/$layer" bs=1 seek=1000 conv=notrunc status=none
	run img import "$T/bad" --name bad:1
	assert_failure
	assert_output --partial "sha256:$layer"
	assert_output --partial 'digest mismatch'
	[ "$(blob_count)" = 0 ]
	run jq -c '.manifests' "$STORE/index.json"
	assert_output '[]'
	# A blob cut short: a size mismatch.
	cp -a "$F/oci" "$T/short"
	truncate -s 100 "$T/short/blobs/sha256/$layer"
	run img import "$T/short" --name bad:2
	assert_failure
	assert_output --partial "sha256:$layer"
	[ "$(blob_count)" = 0 ]
	# A blob rotting inside the store is caught when used.
	img import "$F/oci" --name good:1
	printf 'X' | dd of="$STORE/blobs/sha256/$layer" bs=1 seek=1000 conv=notrunc status=none
	run img unpack good:1 "$T/b"
	assert_failure
	assert_output --partial "sha256:$layer"
	[ ! -e "$T/b/rootfs" ]
	run img export good:1 "$T/out.tar"
	assert_failure
	[ ! -e "$T/out.tar" ]
}

@test "image: a FIFO or an escaping symlink in place of a layout's blob is refused" {
	cp -a "$F/oci" "$T/fifo"
	local cfg
	cfg=$(jq -r '.config.digest[7:]' "$T/fifo/blobs/sha256/$(jq -r '.manifests[0].digest[7:]' "$T/fifo/index.json")")
	rm "$T/fifo/blobs/sha256/$cfg"
	mkfifo "$T/fifo/blobs/sha256/$cfg"
	run timeout 20 "$HYRUN" --image-root "$STORE" image import "$T/fifo" --name f:1
	assert_failure
	assert_output --partial 'not a regular file'
	cp -a "$F/oci" "$T/link"
	ln -sf "$SENTINEL/secret" "$T/link/blobs/sha256/$cfg"
	run img import "$T/link" --name f:2
	assert_failure
	[ "$(blob_count)" = 0 ]
}

@test "image: ls, inspect, rm with blob garbage collection" {
	img import "$F/oci" --name bb:v1
	img import "$F/docker.tar" --name bb:docker
	local n
	n=$(blob_count)
	run img ls
	assert_success
	assert_line --index 0 --partial NAME
	assert_output --partial bb:v1
	assert_output --partial linux/amd64
	run img ls --format json
	assert_success
	run jq -r 'map(.name) | sort | join(",")' <<<"$output"
	assert_output bb:docker,bb:v1
	run img inspect bb:v1
	assert_success
	run jq -r '.name, (.manifest.layers | length), .config.config.User' <<<"$output"
	assert_output $'bb:v1\n2\ntester'
	# Both images hold the plain l1.tar blob: it must survive the first rm.
	local l1
	l1=$(sha256sum "$F/layers/l1.tar" | cut -d' ' -f1)
	run img rm bb:v1
	assert_success
	[ -f "$STORE/blobs/sha256/$l1" ]
	[ "$(blob_count)" -lt "$n" ]
	run img inspect bb:v1
	assert_failure
	assert_output --partial 'not found'
	# Re-importing another image under a taken name drops the blobs only the old one used.
	make_oci_layout "$T/small" s:1 "$IMAGE_CONFIG_DEFAULT" "$F/layers/l2.tar"
	local l2gz
	l2gz=$(sha256sum "$F/layers/l2.tar.gz" | cut -d' ' -f1)
	img import "$F/oci" --name moving:1
	[ -f "$STORE/blobs/sha256/$l2gz" ]
	img import "$T/small" --name moving:1
	[ ! -e "$STORE/blobs/sha256/$l2gz" ]
	[ -f "$STORE/blobs/sha256/$l1" ]
	run img inspect moving:1
	assert_success
	run jq -r '.manifest.layers | length' <<<"$output"
	assert_output 1
	img rm moving:1
	run img rm bb:docker
	assert_success
	[ "$(blob_count)" = 0 ]
	run img rm bb:docker
	assert_failure
}

@test "image: export writes an OCI archive that skopeo reads and hyrun re-imports" {
	img import "$F/oci" --name bb:v1
	run img export bb:v1 "$T/bb.tar"
	assert_success
	run skopeo inspect --raw "oci-archive:$T/bb.tar"
	assert_success
	run jq -r '.layers | length' <<<"$output"
	assert_output 2
	run skopeo inspect --config "oci-archive:$T/bb.tar"
	assert_success
	assert_output --partial '"User": "tester"'
	STORE=$T/store2 run img import "$T/bb.tar"
	assert_success
	assert_output --partial 'bb:v1@'
	STORE=$T/store2 img unpack bb:v1 "$T/b"
	assert_runs_full "$T/b"
}

@test "image: skopeo copy oci -> docker-archive round-trips through hyrun" {
	skopeo copy --quiet "oci:$F/oci:bb:v1" "docker-archive:$T/sk.tar:sk/app:2"
	run img import "$T/sk.tar"
	assert_success
	assert_output --partial 'sk/app:2@'
	img unpack sk/app:2 "$T/b"
	assert_runs_full "$T/b"
	skopeo copy --quiet "oci:$F/oci:bb:v1" "oci:$T/sklayout:t1"
	run img import "$T/sklayout" --name sk:oci
	assert_success
	img unpack sk:oci "$T/b2"
	assert_runs_full "$T/b2"
}

@test "image: an image built by umoci imports and runs" {
	cd "$T"
	umoci init --layout um
	umoci new --image um:v1
	umoci unpack --image um:v1 ubundle >/dev/null
	make_rootfs ubundle/rootfs
	echo umoci-made >ubundle/rootfs/etc/motd
	umoci repack --image um:v1 ubundle
	umoci config --image um:v1 --config.cmd /bin/cat --config.cmd /etc/motd
	run img import um --name um:v1
	assert_success
	img unpack um:v1 "$T/b"
	run hy run -b "$T/b" "um-$RANDOM"
	assert_success
	assert_output umoci-made
}

# hostile_case KIND: a one-layer image that tries to escape; unpack must fail, nothing outside
# the bundle may change and no half rootfs may stay.
hostile_case() {
	local kind=$1 before
	hostile_tar "$T/h.tar" "$kind" "$SENTINEL"
	rm -rf "$T/hl"
	make_oci_layout "$T/hl" h:1 "$IMAGE_CONFIG_DEFAULT" "$T/h.tar"
	img import "$T/hl" --name "h:$kind"
	before=$(sentinel_state "$SENTINEL")
	run img unpack "h:$kind" "$T/hb-$kind"
	assert_failure
	[ "$(sentinel_state "$SENTINEL")" = "$before" ]
	[ ! -e "$T/hb-$kind/rootfs" ]
	[ ! -e "$SENTINEL/evil" ] && [ ! -e "$SENTINEL/dir/evil" ]
}

@test "image: hostile layer with a .. path is refused" {
	hostile_case dotdot
	assert_output --partial "path escapes the rootfs"
}

@test "image: hostile layer with an absolute path is refused" {
	hostile_case absolute
	assert_output --partial "absolute path refused"
}

@test "image: hostile layer writing through a symlink is refused" {
	hostile_case symlink-write
	assert_output --partial "symlink"
	hostile_case symlink-relative-write
	assert_output --partial "symlink"
}

@test "image: hostile hard links to outside the rootfs are refused" {
	hostile_case hardlink
	assert_output --partial "target outside the rootfs"
	hostile_case hardlink-absolute
	assert_output --partial "target outside the rootfs"
	hostile_case hardlink-via-symlink
	assert_output --partial "symlink"
}

@test "image: hostile whiteouts that escape are refused" {
	hostile_case whiteout-dotdot
	assert_output --partial "path escapes the rootfs"
	hostile_case whiteout-symlink
	assert_output --partial "symlink"
	hostile_case whiteout-dot
	assert_output --partial "names no file"
	[ -f "$SENTINEL/secret" ]
}

@test "image: a decompression bomb beyond the limit is refused" {
	hostile_tar "$T/bomb.tar" bomb
	gzip -9 "$T/bomb.tar"
	[ "$(stat -c %s "$T/bomb.tar.gz")" -lt 1000000 ]
	make_oci_layout "$T/bl" bomb:1 "$IMAGE_CONFIG_DEFAULT" "$T/bomb.tar.gz"
	img import "$T/bl" --name bomb:1
	HYRUN_IMAGE_MAX_BYTES=16777216 run img unpack bomb:1 "$T/b"
	assert_failure
	assert_output --partial 'more than 16777216 bytes'
	assert_output --partial HYRUN_IMAGE_MAX_BYTES
	[ ! -e "$T/b/rootfs" ]
	# Under the default limit the same image unpacks.
	run img unpack bomb:1 "$T/b2"
	assert_success
	[ "$(stat -c %s "$T/b2/rootfs/zeros")" = 67108864 ]
	hostile_tar "$T/many.tar" many 500
	make_oci_layout "$T/ml" many:1 "$IMAGE_CONFIG_DEFAULT" "$T/many.tar"
	img import "$T/ml" --name many:1
	HYRUN_IMAGE_MAX_ENTRIES=100 run img unpack many:1 "$T/b3"
	assert_failure
	assert_output --partial 'more than 100 entries'
	HYRUN_IMAGE_MAX_BYTES=abc run img unpack many:1 "$T/b4"
	assert_failure
	assert_output --partial 'HYRUN_IMAGE_MAX_BYTES'
}

@test "image: device nodes are created, or refused with --no-devices" {
	hostile_tar "$T/dev.tar" device
	make_oci_layout "$T/dl" dev:1 "$IMAGE_CONFIG_DEFAULT" "$T/dev.tar"
	img import "$T/dl" --name dev:1
	run img unpack dev:1 "$T/b" --no-devices
	assert_failure
	assert_output --partial "device node 'dev-sda' refused"
	run img unpack dev:1 "$T/b2"
	assert_success
	[ -b "$T/b2/rootfs/dev-sda" ]
	[ "$(stat -c '%t:%T' "$T/b2/rootfs/dev-sda")" = 8:0 ]
}

@test "image: unpack refuses a bundle that already has a rootfs or config.json" {
	img import "$F/oci" --name bb:v1
	mkdir -p "$T/b/rootfs"
	run img unpack bb:v1 "$T/b"
	assert_failure
	assert_output --partial 'rootfs already exists'
	run img unpack nosuch:1 "$T/c"
	assert_failure
	assert_output --partial 'nosuch:1: not found'
}

@test "image: concurrent imports into one store all land (store lock)" {
	local i
	for i in 1 2 3 4; do
		img import "$F/oci" --name "par:$i" >/dev/null &
	done
	img import "$F/docker.tar" --name par:d >/dev/null
	wait
	run jq -r '.manifests | length' "$STORE/index.json"
	assert_output 5
	run find "$STORE" -name '.tmp-*'
	assert_output ''
}

@test "image: unpack --disk erofs and ext4 build cached root filesystem images" {
	img import "$F/oci" --name bb:v1
	run img unpack bb:v1 --disk erofs
	assert_success
	local p=$output
	[[ $p == "$STORE"/disks/*.erofs ]]
	run fsck.erofs "$p"
	assert_success
	run dump.erofs --path=/etc/upper "$p"
	assert_success
	local m1
	m1=$(stat -c %Y.%i "$p")
	run img unpack bb:v1 --disk erofs
	assert_output "$p"
	[ "$(stat -c %Y.%i "$p")" = "$m1" ]
	run img unpack bb:v1 --disk ext4
	assert_success
	run debugfs -R 'cat /etc/upper' "$output"
	assert_output --partial upper
	run img unpack bb:v1 --disk xfs
	assert_failure
	img rm bb:v1
	run find "$STORE/disks" -type f
	assert_output ''
}

@test "image: run --image unpacks the image as the bundle and removes it with the container" {
	run img import "$F/oci" --name bb:v1
	assert_success
	# Foreground run: the bundle is gone once the container has been deleted.
	run "$HYRUN" --root "$HYRUN_ROOT" --image-root "$STORE" run --image bb:v1 img-fg
	assert_success
	assert_line --index 0 'hello from image'
	assert_line --index 2 --partial 'uid=1000(tester)'
	[ ! -e "$STORE/bundles/img-fg" ]
	# --keep: the bundle stays with the stopped container until `delete`.
	run "$HYRUN" --root "$HYRUN_ROOT" --image-root "$STORE" run --keep --image bb:v1 img-kept
	assert_success
	run jq -r .bundle <(hy state img-kept)
	assert_output "$STORE/bundles/img-kept"
	[ -f "$STORE/bundles/img-kept/config.json" ]
	# A second container with the same id must not take over (or remove) the first one's bundle.
	run "$HYRUN" --root "$HYRUN_ROOT" --image-root "$STORE" run --image bb:v1 img-kept
	assert_failure
	[ -f "$STORE/bundles/img-kept/config.json" ]
	run "$HYRUN" --root "$HYRUN_ROOT" --image-root "$STORE" delete img-kept
	assert_success
	[ ! -e "$STORE/bundles/img-kept" ]
	# An unknown image leaves neither a bundle nor a container behind.
	run "$HYRUN" --root "$HYRUN_ROOT" --image-root "$STORE" run --image nope:v1 img-none
	assert_failure
	assert_output --partial nope
	[ ! -e "$STORE/bundles/img-none" ]
	run hy list -q
	refute_output --partial img-none
}
