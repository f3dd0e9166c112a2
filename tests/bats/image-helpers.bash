# Fixture builders for image.bats: OCI layouts and docker-archives made locally from a busybox
# rootfs with tar, sha256sum and jq (python3's tarfile only for the hostile tars that GNU tar
# refuses to write).

IMAGE_CONFIG_DEFAULT='{"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hello from image"]}'

# blob_of FILE: "sha256:<hex> <size>"
blob_of() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1) $(stat -c %s "$1")"
}

# oci_put LAYOUT FILE: copies FILE into LAYOUT/blobs/sha256 and prints "digest size".
oci_put() {
	local layout=$1 f=$2 d s
	read -r d s < <(blob_of "$f")
	mkdir -p "$layout/blobs/sha256"
	cp "$f" "$layout/blobs/sha256/${d#sha256:}"
	echo "$d $s"
}

# diff_id LAYER: the sha256 of the uncompressed tar.
diff_id() {
	case $1 in
	*.gz) echo "sha256:$(gzip -dc "$1" | sha256sum | cut -d' ' -f1)" ;;
	*.zst) echo "sha256:$(zstd -qdc "$1" | sha256sum | cut -d' ' -f1)" ;;
	*) echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)" ;;
	esac
}

layer_mt() {
	case $1 in
	*.gz) echo application/vnd.oci.image.layer.v1.tar+gzip ;;
	*.zst) echo application/vnd.oci.image.layer.v1.tar+zstd ;;
	*) echo application/vnd.oci.image.layer.v1.tar ;;
	esac
}

# image_config CONFIG_JSON LAYER...: an image config blob's JSON on stdout.
image_config() {
	local cfg=$1 l diffs='[]'
	shift
	for l in "$@"; do
		diffs=$(jq -c --arg d "$(diff_id "$l")" '. + [$d]' <<<"$diffs")
	done
	jq -n --argjson c "$cfg" --argjson d "$diffs" \
		'{architecture:"amd64",os:"linux",created:"2024-01-02T03:04:05Z",config:$c,
		  rootfs:{type:"layers",diff_ids:$d}}'
}

# make_oci_layout LAYOUT REF CONFIG_JSON LAYER...: an OCI image layout with one image named REF
# (the ref.name annotation). Layers named *.gz / *.zst are compressed ones.
make_oci_layout() {
	local layout=$1 ref=$2 cfg=$3 l d s layers='[]' tmp
	shift 3
	mkdir -p "$layout"
	tmp=$(mktemp -d)
	for l in "$@"; do
		read -r d s < <(oci_put "$layout" "$l")
		layers=$(jq -c --arg d "$d" --argjson s "$s" --arg mt "$(layer_mt "$l")" \
			'. + [{mediaType:$mt,digest:$d,size:$s}]' <<<"$layers")
	done
	image_config "$cfg" "$@" >"$tmp/config.json"
	read -r d s < <(oci_put "$layout" "$tmp/config.json")
	jq -n --arg d "$d" --argjson s "$s" --argjson l "$layers" \
		'{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
		  config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$d,size:$s},
		  layers:$l}' >"$tmp/manifest.json"
	read -r d s < <(oci_put "$layout" "$tmp/manifest.json")
	jq -n --arg d "$d" --argjson s "$s" --arg r "$ref" \
		'{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",
		  digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":$r}}]}' \
		>"$layout/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
	rm -rf "$tmp"
}

# make_docker_archive OUT.tar REPO:TAG CONFIG_JSON LAYER.tar...: `docker save` format.
make_docker_archive() {
	local out=$1 ref=$2 cfg=$3 l hex layers='[]' dir
	shift 3
	dir=$(mktemp -d)
	for l in "$@"; do
		hex=$(sha256sum "$l" | cut -d' ' -f1)
		mkdir -p "$dir/$hex"
		cp "$l" "$dir/$hex/layer.tar"
		layers=$(jq -c --arg p "$hex/layer.tar" '. + [$p]' <<<"$layers")
	done
	image_config "$cfg" "$@" >"$dir/config.tmp"
	hex=$(sha256sum "$dir/config.tmp" | cut -d' ' -f1)
	mv "$dir/config.tmp" "$dir/$hex.json"
	jq -n --arg c "$hex.json" --arg r "$ref" --argjson l "$layers" \
		'[{Config:$c,RepoTags:[$r],Layers:$l}]' >"$dir/manifest.json"
	tar -C "$dir" -cf "$out" .
	rm -rf "$dir"
}

# tar_dir DIR OUT: a layer tar of DIR's contents with numeric owners.
tar_dir() {
	tar --numeric-owner --xattrs -C "$1" -cf "$2" .
}

# build_busybox_layers OUTDIR: OUTDIR/l1.tar (busybox rootfs + files) and OUTDIR/l2.tar (an upper
# layer that whites out /etc/lower-removed, makes /data/opq opaque and adds files).
build_busybox_layers() {
	local out=$1
	mkdir -p "$out/r1" "$out/r2"
	make_rootfs "$out/r1"
	echo lower >"$out/r1/etc/lower-removed"
	echo kept >"$out/r1/etc/lower-kept"
	mkdir -p "$out/r1/data/opq/sub" "$out/r1/data/gone"
	echo a >"$out/r1/data/opq/a"
	echo b >"$out/r1/data/opq/sub/b"
	echo x >"$out/r1/data/gone/x"
	echo keep >"$out/r1/data/keep"
	ln "$out/r1/data/keep" "$out/r1/data/keep-hl"
	mkfifo "$out/r1/data/fifo"
	chmod 0640 "$out/r1/data/keep"
	chown 1000:1000 "$out/r1/data/keep"
	touch -d '2001-02-03 04:05:06' "$out/r1/data/keep"
	mkdir -p "$out/r2/etc" "$out/r2/data/opq"
	: >"$out/r2/etc/.wh.lower-removed"
	: >"$out/r2/data/.wh.gone"
	: >"$out/r2/data/opq/.wh..wh..opq"
	echo new >"$out/r2/data/opq/new"
	echo upper >"$out/r2/etc/upper"
	tar_dir "$out/r1" "$out/l1.tar"
	tar_dir "$out/r2" "$out/l2.tar"
	rm -rf "$out/r1" "$out/r2"
}

# hostile_tar OUT KIND [ARG]: a one-layer tar that tries to get out of the rootfs.
hostile_tar() {
	python3 - "$@" <<'PY'
import io, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ""
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def reg(name, data=b"pwned\n"):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
def typ(name, ty, link="", mode=0o755):
    i = tarfile.TarInfo(name); i.type = ty; i.linkname = link; i.mode = mode; t.addfile(i)
typ("bin", tarfile.DIRTYPE)
if kind == "dotdot":
    reg("bin/../../../../../../../../" + arg.lstrip("/") + "/evil")
elif kind == "absolute":
    reg(arg + "/evil")
elif kind == "symlink-write":
    typ("escape", tarfile.SYMTYPE, arg)
    reg("escape/evil")
elif kind == "symlink-relative-write":
    typ("escape", tarfile.SYMTYPE, "../../../../../../../../" + arg.lstrip("/"))
    reg("escape/evil")
elif kind == "hardlink":
    typ("hl", tarfile.LNKTYPE, "../../../../../../../../" + arg.lstrip("/") + "/secret")
elif kind == "hardlink-absolute":
    typ("hl", tarfile.LNKTYPE, arg + "/secret")
elif kind == "hardlink-via-symlink":
    typ("escape", tarfile.SYMTYPE, arg)
    typ("hl", tarfile.LNKTYPE, "escape/secret")
elif kind == "whiteout-dotdot":
    reg("bin/../../../../../../../../" + arg.lstrip("/") + "/.wh.secret", b"")
elif kind == "whiteout-symlink":
    typ("escape", tarfile.SYMTYPE, arg)
    reg("escape/.wh.secret", b"")
elif kind == "whiteout-dot":
    reg("bin/.wh..", b"")
elif kind == "device":
    i = tarfile.TarInfo("dev-sda"); i.type = tarfile.BLKTYPE; i.devmajor = 8; i.devminor = 0
    t.addfile(i)
elif kind == "bomb":
    # 64 MiB of zeros: gzip makes it ~64 KiB.
    class Zero(io.RawIOBase):
        def __init__(s, n): s.n = n
        def readinto(s, b):
            k = min(len(b), s.n); b[:k] = bytes(k); s.n -= k; return k
    i = tarfile.TarInfo("zeros"); i.size = 64 << 20; t.addfile(i, Zero(i.size))
elif kind == "many":
    for n in range(int(arg)):
        reg("f%d" % n, b"")
t.close()
PY
}

# sentinel_state DIR: a fingerprint of everything under DIR (names, modes, contents).
sentinel_state() {
	(cd "$1" && find . -printf '%p %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
