#!/usr/bin/env bats
# VM containers on a virtio-blk root (annotation org.hyrun.vm.root_disk, written by
# `hyrun image unpack --disk ext4|erofs NAME BUNDLE`) instead of the 9p share of root.path:
#  - an ext4 and an erofs root read the same files as the 9p root of the same image (and as the
#    image's rootfs seen by chroot on the host), and `mount` shows /dev/vda as / with its type;
#  - ext4: what the container writes is in the bundle's image afterwards (and the image is clean),
#    never in the store's cached image; bind mounts still come over 9p;
#  - erofs with a writable root: writes work (tmpfs overlay in guest RAM) and are gone next run;
#  - a read-only root (root.readonly) refuses writes with EROFS, on ext4 and erofs;
#  - bad annotation values: errors naming annotations.org.hyrun.vm.root_disk and the file, and
#    no state dir left behind (these need no guest boot).
# Five guest boots in all.

load vm-helpers
load ../bats/image-helpers

# What the container reads: layered files (a whiteout, an opaque dir), the applets, passwd.
PROBE_READS='cat /etc/lower-kept /etc/upper; ls /data/opq; [ -e /etc/lower-removed ] && echo whiteout-ignored || echo whiteout-applied; ls /bin | wc -l; cat /etc/passwd; stat -c "%u:%g %a" /data/keep; ls -la /data | wc -l'

setup_file() {
	local F=$BATS_FILE_TMPDIR
	build_busybox_layers "$F/layers"
	make_oci_layout "$F/oci" bb:v1 '{"Cmd":["sh"]}' "$F/layers/l1.tar" "$F/layers/l2.tar"
	"$HYRUN" --image-root "$F/store" image import "$F/oci" --name bb:v1 >/dev/null
	"$HYRUN" --image-root "$F/store" image unpack bb:v1 "$F/b-9p" >/dev/null
	# What the reads give on the image's own rootfs, without any VM.
	chroot "$F/b-9p/rootfs" /bin/sh -c "$PROBE_READS" >"$F/expected" 2>&1
}

setup() {
	setup_hyrun
	F=$BATS_FILE_TMPDIR
	T=$BATS_TEST_TMPDIR
	ID=disk-$BATS_TEST_NUMBER-$$
}

teardown() {
	teardown_hyrun
}

img() {
	"$HYRUN" --image-root "$F/store" image "$@"
}

# unpack KIND BUNDLE: a bundle with its own copy of the KIND root image.
unpack() {
	run img unpack bb:v1 --disk "$1" "$2"
	assert_success
	run jq -r '.annotations["org.hyrun.vm.root_disk"]' "$2/config.json"
	assert_output "rootfs.$1"
	[ -f "$2/rootfs.$1" ] || fail "no $2/rootfs.$1"
}

# set_args BUNDLE SCRIPT: the container runs sh -c SCRIPT.
set_args() {
	local args
	args=$(jq -n -c --arg s "$2" '["/bin/sh", "-c", $s]')
	bundle_jq "$1" ".process.args = $args | .process.terminal = false"
}

require_erofs_guest() {
	grep -qx 'CONFIG_EROFS_FS=y' "$VM_GUEST_DIR/config" ||
		fail "$VM_GUEST_DIR's guest kernel has no EROFS (configs/guest-kernel.config; make guest)"
}

# assert_output_line TEXT LINE: TEXT has LINE as one of its lines.
assert_output_line() {
	grep -qxF -- "$2" <<<"$1" || fail "no line '$2' in: $1"
}

# The part of a run's output before the marker line "--".
reads_of() {
	sed '/^--$/,$d' <<<"$1"
}
after_marker() {
	sed '1,/^--$/d' <<<"$1"
}

# ---- bad values: no guest boots ----

# bad_value VALUE EXPECTED...: create fails naming the annotation (and EXPECTED), no state left.
bad_value() {
	local value=$1
	shift
	bundle_jq "$B" ".annotations[\"org.hyrun.vm.root_disk\"] = \"$value\""
	run env HYRUN_VM_SKIP_PROBE=1 "$HYRUN" --root "$HYRUN_ROOT" --isolation=vm create -b "$B" "$ID" \
		</dev/null 3>&-
	assert_failure
	assert_output --partial "annotations.org.hyrun.vm.root_disk"
	local want
	for want in "$@"; do
		assert_output --partial "$want"
	done
	[ "$(echo "$output" | wc -l)" -eq 1 ] || fail "not a one-line error"
	[ ! -e "$HYRUN_ROOT/$ID" ] || fail "state dir left: $(ls -la "$HYRUN_ROOT/$ID")"
	run hy list -q
	assert_output ""
}

@test "bad root_disk values: missing, a directory, unknown format, .. out of the bundle; nothing left behind" {
	B=$T/bad
	unpack ext4 "$B"
	set_args "$B" 'echo never'
	head -c 65536 /dev/zero >"$B/zeros.img"
	echo "not a disk" >"$B/short.img"
	echo outside >"$T/outside.ext4"
	bad_value no-such.ext4 "$B/no-such.ext4" "No such file"
	bad_value rootfs "$B/rootfs" "is a directory"
	bad_value zeros.img "$B/zeros.img" "unknown format"
	bad_value short.img "$B/short.img" "unknown format"
	bad_value ../outside.ext4 '"../outside.ext4"' "may not leave the bundle"
	bad_value rootfs/../../outside.ext4 "may not leave the bundle"
	bad_value "$T/no-such-abs.erofs" "$T/no-such-abs.erofs" "No such file"
	# Empty: refused by the config parser, still naming the annotation.
	bad_value "" "expected a path"
	# (the shared .seccomp-cache is not container state)
	run find "$HYRUN_ROOT" -mindepth 1 -maxdepth 1 ! -name ".seccomp-cache"
	assert_output ""
}

# ---- booting ----

@test "ext4 root: same reads as the 9p root and the image, /dev/vda ext4 rw as /, writes land in the bundle's image, binds over 9p" {
	require_vm
	B=$T/ext4
	unpack ext4 "$B"
	mkdir -p "$T/hostdir"
	echo "from the host" >"$T/hostdir/in.txt"
	bundle_jq "$B" ".mounts += [{\"destination\": \"/hostdata\", \"type\": \"bind\",
		\"source\": \"$T/hostdir\", \"options\": [\"rbind\", \"rw\"]}]"
	set_args "$B" "$PROBE_READS; echo --; mount | grep ' on / '; echo written-in-the-guest >/written.txt && cat /written.txt; cat /hostdata/in.txt; echo from-the-guest >/hostdata/out.txt"
	iso_run vm "$B" "$ID-ext4"
	assert_equal "${STATUS[vm]}" 0
	local ext4_out=${OUT[vm]}

	set_args "$F/b-9p" "$PROBE_READS; echo --; mount | grep ' on / '"
	iso_run vm "$F/b-9p" "$ID-9p"
	assert_equal "${STATUS[vm]}" 0

	# The same reads at all three: the image's rootfs by chroot, the 9p root, the ext4 root.
	assert_equal "$(reads_of "$ext4_out")" "$(cat "$F/expected")"
	assert_equal "$(reads_of "${OUT[vm]}")" "$(cat "$F/expected")"
	[[ $(after_marker "${OUT[vm]}") == "rootfs on / type 9p "* ]] ||
		fail "9p root: $(after_marker "${OUT[vm]}")"
	local after
	after=$(after_marker "$ext4_out")
	[[ $after == "/dev/vda on / type ext4 (rw"* ]] || fail "ext4 root: $after"
	assert_output_line "$after" written-in-the-guest
	assert_output_line "$after" "from the host"
	assert_equal "$(cat "$T/hostdir/out.txt")" from-the-guest

	# The write is in the bundle's image, which the guest left clean; the store's cache is not
	# touched (other bundles copy it).
	run debugfs -R 'cat /written.txt' "$B/rootfs.ext4"
	assert_output --partial written-in-the-guest
	run e2fsck -fn "$B/rootfs.ext4"
	assert_success
	run debugfs -R 'stat /written.txt' "$F"/store/disks/*.ext4
	assert_output --partial "File not found"
}

@test "erofs root: same reads as the image; a writable root is a tmpfs overlay whose writes vanish; read-only refuses writes" {
	require_vm
	require_erofs_guest
	B=$T/erofs
	unpack erofs "$B"
	set_args "$B" "$PROBE_READS; echo --; mount | grep ' on / '; echo in-ram >/etc/new.txt && cat /etc/new.txt; rm /etc/upper && echo removed; mkdir -p /var/x && echo mkdir-ok; [ -e /etc/upper ] && echo still-there || echo upper-gone"
	iso_run vm "$B" "$ID-rw"
	assert_equal "${STATUS[vm]}" 0
	assert_equal "$(reads_of "${OUT[vm]}")" "$(cat "$F/expected")"
	local after
	after=$(after_marker "${OUT[vm]}")
	[[ $after == "overlay on / type overlay (rw"* ]] || fail "writable erofs root: $after"
	assert_equal "$(sed 1d <<<"$after")" "in-ram
removed
mkdir-ok
upper-gone"

	# root.readonly: erofs itself as /, nothing of the last run left, writes refused.
	bundle_jq "$B" '.root.readonly = true'
	set_args "$B" "$PROBE_READS; echo --; mount | grep ' on / '; [ -e /etc/new.txt ] && echo new-still-there || echo new-gone; { echo x >/etc/upper; } 2>&1 || true; touch /nope 2>&1 || true"
	iso_run vm "$B" "$ID-ro"
	assert_equal "${STATUS[vm]}" 0
	assert_equal "$(reads_of "${OUT[vm]}")" "$(cat "$F/expected")"
	after=$(after_marker "${OUT[vm]}")
	[[ $after == "/dev/vda on / type erofs (ro"* ]] || fail "read-only erofs root: $after"
	grep -qx new-gone <<<"$after" || fail "the overlay's write survived the VM: $after"
	[ "$(grep -c 'Read-only file system' <<<"$after")" -eq 2 ] || fail "writes not refused: $after"
}

@test "ext4 root with root.readonly: mounted ro, writes refused with EROFS, image unchanged" {
	require_vm
	B=$T/ext4-ro
	unpack ext4 "$B"
	bundle_jq "$B" '.root.readonly = true'
	local before
	before=$(sha256sum <"$B/rootfs.ext4")
	set_args "$B" "mount | grep ' on / '; touch /nope 2>&1 || true; cat /etc/upper"
	iso_run vm "$B" "$ID"
	assert_equal "${STATUS[vm]}" 0
	[[ ${OUT[vm]} == "/dev/vda on / type ext4 (ro"* ]] || fail "read-only ext4 root: ${OUT[vm]}"
	assert_equal "$(sed -n 2p <<<"${OUT[vm]}")" "touch: /nope: Read-only file system"
	assert_equal "$(sed -n 3p <<<"${OUT[vm]}")" upper
	assert_equal "$(sha256sum <"$B/rootfs.ext4")" "$before"
}
