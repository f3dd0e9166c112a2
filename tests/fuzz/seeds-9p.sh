#!/bin/bash
# Writes seed inputs for fuzz_9p into the corpus directory $1. An input is a mode byte
# (00 = read-only tree with hello, sub/inner, abs/rel/sub/up symlinks to outside, fifo;
# 01 = writable empty directory) followed by 9P2000.L messages. The fuzzer has already sent
# Tversion and Tattach(fid 0) when these run. Messages are written as hex, then converted.
set -eu
out=${1:?usage: seeds-9p.sh CORPUS_DIR}
mkdir -p "$out"

h8() { printf '%02x' $(($1 & 0xff)); }
h16() { h8 $1; h8 $(($1 >> 8)); }
h32() { h16 $(($1 & 0xffff)); h16 $((($1 >> 16) & 0xffff)); }
h64() { h32 $(($1 & 0xffffffff)); h32 $((($1 >> 32) & 0xffffffff)); }
hs() { h16 ${#1}; printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# msg TYPE BODY-HEX...: size[4] type[1] tag[2] body
msg() {
	local type=$1 body
	shift
	body=$(printf '%s' "$@")
	h32 $((7 + ${#body} / 2)); h8 "$type"; h16 1; printf '%s' "$body"
}
emit() {
	local name=$1
	shift
	printf '%s' "$@" | xxd -r -p >"$out/seed-$name"
}

# Message builders (types from 9P2000.L).
walk() { local fid=$1 newfid=$2 b; shift 2; b="$(h32 $fid)$(h32 $newfid)$(h16 $#)"; for n; do b+=$(hs "$n"); done; msg 110 "$b"; }
lopen() { msg 12 "$(h32 $1)$(h32 $2)"; }
lcreate() { msg 14 "$(h32 $1)$(hs "$2")$(h32 $3)$(h32 $4)$(h32 0)"; }
read9() { msg 116 "$(h32 $1)$(h64 $2)$(h32 $3)"; }
write9() { msg 118 "$(h32 $1)$(h64 $2)$(h32 ${#3})$(printf '%s' "$3" | od -An -tx1 -v | tr -d ' \n')"; }
clunk() { msg 120 "$(h32 $1)"; }
remove9() { msg 122 "$(h32 $1)"; }
getattr() { msg 24 "$(h32 $1)$(h64 0x7ff)"; }
setattr() { msg 26 "$(h32 $1)$(h32 $2)$(h32 $3)$(h32 0)$(h32 0)$(h64 $4)$(h64 0)$(h64 0)$(h64 5)$(h64 6)"; }
readdir() { msg 40 "$(h32 $1)$(h64 $2)$(h32 $3)"; }
readlink() { msg 22 "$(h32 $1)"; }
statfs() { msg 8 "$(h32 $1)"; }
fsync() { msg 50 "$(h32 $1)$(h32 0)"; }
mkdir9() { msg 72 "$(h32 $1)$(hs "$2")$(h32 0755)$(h32 0)"; }
symlink() { msg 16 "$(h32 $1)$(hs "$2")$(hs "$3")$(h32 0)"; }
mknod() { msg 18 "$(h32 $1)$(hs "$2")$(h32 $3)$(h32 0)$(h32 0)$(h32 0)"; }
link() { msg 70 "$(h32 $1)$(h32 $2)$(hs "$3")"; }
rename9() { msg 20 "$(h32 $1)$(h32 $2)$(hs "$3")"; }
renameat() { msg 74 "$(h32 $1)$(hs "$2")$(h32 $3)$(hs "$4")"; }
unlinkat() { msg 76 "$(h32 $1)$(hs "$2")$(h32 $3)"; }
xattrwalk() { msg 30 "$(h32 $1)$(h32 $2)$(hs "$3")"; }
xattrcreate() { msg 32 "$(h32 $1)$(hs "$2")$(h64 $3)$(h32 0)"; }
lock() { msg 52 "$(h32 $1)$(h8 1)$(h32 0)$(h64 0)$(h64 10)$(h32 7)$(hs c)"; }
getlock() { msg 54 "$(h32 $1)$(h8 1)$(h64 0)$(h64 10)$(h32 7)$(hs c)"; }
flush() { msg 108 "$(h16 3)"; }
version() { msg 100 "$(h32 $1)$(hs 9P2000.L)"; }

emit ro-read 00 "$(walk 0 1 hello)" "$(lopen 1 0)" "$(read9 1 0 100)" "$(getattr 1)" \
	"$(lock 1)" "$(getlock 1)" "$(clunk 1)" "$(walk 0 2 sub inner)" "$(walk 0 3)" "$(lopen 3 0)" \
	"$(readdir 3 0 4000)" "$(readdir 3 0 30)" "$(statfs 0)" "$(fsync 3)" "$(flush)"
emit ro-links 00 "$(walk 0 1 abs)" "$(readlink 1)" "$(getattr 1)" "$(lopen 1 0)" \
	"$(walk 0 2 abs secret)" "$(walk 0 3 sub up secret)" "$(walk 0 4 .. .. rel)" \
	"$(walk 0 5 sub .. .. sub inner)" "$(xattrwalk 0 6 '')" "$(read9 6 0 100)" \
	"$(walk 0 7 fifo)" "$(lopen 7 0)" "$(lopen 7 1)"
emit ro-write 00 "$(walk 0 1)" "$(lcreate 1 x 2 0644)" "$(mkdir9 0 d)" "$(unlinkat 0 hello 0)" \
	"$(walk 0 2 hello)" "$(lopen 2 2)" "$(setattr 2 8 0 0)" "$(remove9 2)"
emit rw-file 01 "$(walk 0 1)" "$(lcreate 1 f 2 0644)" "$(write9 1 0 hello)" "$(read9 1 0 10)" \
	"$(fsync 1)" "$(lock 1)" "$(setattr 1 0x1ff 0600 3)" "$(getattr 1)" "$(clunk 1)" \
	"$(walk 0 2 f)" "$(xattrcreate 2 user.a 2)" "$(write9 2 0 ab)" "$(clunk 2)" \
	"$(walk 0 3 f)" "$(xattrwalk 3 4 user.a)" "$(read9 4 0 10)" "$(xattrwalk 3 5 '')"
emit rw-tree 01 "$(mkdir9 0 d)" "$(walk 0 1 d)" "$(symlink 1 l /etc)" "$(symlink 1 r ../..)" \
	"$(walk 1 2 l passwd)" "$(mknod 0 p 0010644)" "$(walk 0 3 p)" "$(lopen 3 1)" \
	"$(walk 1 4)" "$(lcreate 4 g 1 0644)" "$(link 0 4 hard)" "$(renameat 0 d 0 e)" \
	"$(rename9 4 0 moved)" "$(walk 0 5 e r)" "$(readlink 5)" "$(unlinkat 1 l 0)" \
	"$(remove9 4)" "$(walk 0 6 moved)" "$(unlinkat 0 e 0x200)" "$(walk 1 7 ..)" "$(readdir 0 0 100)"
emit rw-session 01 "$(version 8192)" "$(walk 0 1)" "$(msg 104 "$(h32 9)$(h32 0xffffffff)$(hs u)$(hs '')$(h32 1000)")" \
	"$(walk 9 10)" "$(lcreate 10 own 2 04755)" "$(write9 10 65530 0123456789)" "$(setattr 10 8 0 1048576)"
# Malformed frames: size below the header, size past the end, string past the end, nwname 0xffff.
emit bad-frames 01 "03000000" "$(msg 110 "$(h32 0)$(h32 1)$(h16 0xffff)")" \
	"$(msg 110 "$(h32 0)$(h32 1)$(h16 1)$(h16 500)61")" "$(msg 118 "$(h32 0)$(h64 0)$(h32 0xffffffff)")" \
	"ffffff7f780100"
