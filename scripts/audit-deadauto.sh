#!/usr/bin/env bash
# Audits the build for a go1.26 compiler bug that silently drops stores.
#
# The SSA pass "dead auto elim" (cmd/compile/internal/ssa/deadstore.go,
# elimDeadAutosGeneric) deletes stores to local variables that are never
# read. It follows a local's address through the values computed from it,
# and since golang/go#26153 it keeps the local when its address meets a Phi.
# It has no such case for CondSelect, which the earlier "branchelim" pass
# makes out of exactly such a Phi. So in
#
#	var scratch T
#	p := &m.field        // memory the caller will read
#	if c { p = &scratch } // becomes p = CondSelect(&m.field, &scratch, c)
#	p.x = 1              // dropped: scratch is never read
#
# the store is deleted on both paths and m.field never changes (go1.26.8,
# amd64; the repro is in this script's self-test). Nothing warns about it.
#
# The audit builds an instrumented copy of the installed compiler (through a
# build overlay; GOROOT is not touched) that prints AUDIT-DROP whenever that
# pass deletes a store whose address is not plainly a local's, checks that
# it catches the repro, then rebuilds every Ballast package and test (and
# the cgo AF_PACKET source) with it. Any AUDIT-DROP in Ballast fails the
# audit: rewrite the code so the conditional pointer does not mix a local
# with other memory (index a small array of pointers instead).
set -euo pipefail
go=${GO:-go}
goroot=$("$go" env GOROOT)
src=$goroot/src/cmd/compile/internal/ssa/deadstore.go
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instrument the elimination loop: report before a store is turned into a
# copy when its address does not reduce to a local's address.
perl -0pe '
	s{(\t\t// replace with OpCopy\n)}{\t\tif v.Op == OpStore || v.Op == OpMove || v.Op == OpZero {\n\t\t\tbase := v.Args[0]\n\t\t\tfor base.Op == OpOffPtr {\n\t\t\t\tbase = base.Args[0]\n\t\t\t}\n\t\t\tif base.Op != OpLocalAddr && base.Op != OpAddr && base.Op != OpPhi {\n\t\t\t\tauditDrop(f, v, base)\n\t\t\t}\n\t\t}\n$1};
' "$src" >"$work/deadstore.go"
if ! grep -q auditDrop "$work/deadstore.go"; then
	echo "audit-deadauto: cannot instrument $src (the compiler source changed;" >&2
	echo "  check whether the bug is fixed and update or retire this audit)" >&2
	exit 1
fi
cat >"$work/auditdrop.go" <<'EOF'
package ssa

import (
	"fmt"
	"os"
)

func auditDrop(f *Func, v, base *Value) {
	fmt.Fprintf(os.Stderr, "AUDIT-DROP %s %s line %d: store through %s dropped\n",
		f.Config.ctxt.Pkgpath, f.Name, v.Pos.Line(), base.Op)
}
EOF
ssadir=$goroot/src/cmd/compile/internal/ssa
printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' \
	"$src" "$work/deadstore.go" "$ssadir/zz_auditdrop.go" "$work/auditdrop.go" >"$work/overlay.json"
mkdir -p "$work/bin"
(cd "$goroot/src" && "$go" build -overlay "$work/overlay.json" -o "$work/bin/compile" cmd/compile)

cat >"$work/toolexec" <<EOF
#!/bin/sh
tool="\$1"; shift
case "\$(basename "\$tool")" in
compile) exec "$work/bin/compile" "\$@" ;;
*) exec "\$tool" "\$@" ;;
esac
EOF
chmod +x "$work/toolexec"

# Self-test: the instrumented compiler must flag the known-bad pattern, or
# the audit below proves nothing.
mkdir -p "$work/repro"
cat >"$work/repro/go.mod" <<'EOF'
module repro

go 1.26
EOF
cat >"$work/repro/main.go" <<'EOF'
package main

type body struct{ x uint64 }

type msg struct{ b body }

//go:noinline
func (m *msg) set(toScratch bool, x uint64) {
	var scratch body
	p := &m.b
	if toScratch {
		p = &scratch
	}
	p.x = x
}

func main() {
	var m msg
	m.set(false, 42)
	println(m.b.x) // 42; a go1.26.8 build prints 0
}
EOF
(cd "$work/repro" && "$go" build -a -toolexec "$work/toolexec" -o /dev/null . 2>"$work/repro.log")
if ! grep -q 'AUDIT-DROP main (\*msg).set' "$work/repro.log"; then
	echo "audit-deadauto: the instrumented compiler did not flag the known pattern;" >&2
	echo "  either this Go release fixed the bug (retire the audit) or the instrumentation broke:" >&2
	cat "$work/repro.log" >&2
	exit 1
fi

log=$work/build.log
# One -a build of every package and test. With cgo on (the default where gcc
# is installed, as in CI) it includes the cgo AF_PACKET source
# (feedhandler/source/afpacket_linux.go, linux && cgo).
"$go" test -a -toolexec "$work/toolexec" -count=1 -run '^$' ./... >"$log" 2>&1 || {
	cat "$log"
	exit 1
}
if grep 'AUDIT-DROP' "$log" | grep -q 'github.com/ballast-risk/ballast'; then
	echo "audit-deadauto: the compiler dropped stores in Ballast code (see the header of $0):" >&2
	grep 'AUDIT-DROP' "$log" | grep 'github.com/ballast-risk/ballast' | sort -u >&2
	exit 1
fi
echo "audit-deadauto: no store dropped through a conditional pointer ($(grep -c 'AUDIT-DROP' "$log" || true) elsewhere)"
