#!/bin/sh
# test-fresh.sh - run `make test` as a new user would: in a fresh Debian
# bookworm root (mmdebstrap --variant=minbase, nothing but git, make and
# ca-certificates), on a clone of the committed HEAD, as root with a clean
# environment.  Prints the unit, integration and fuzz counts and exits with
# make test's status.  Every mount it makes is undone, and the root is
# removed, however it ends.  Needs root and mmdebstrap (installed if
# missing).  Not part of make test: it takes 15-25 minutes.
#
#   scripts/test-fresh.sh            # or: make test-fresh
#   KEEP_ROOT=1 scripts/test-fresh.sh   # leave the root for a look afterwards
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" != 0 ]; then
	echo "test-fresh: needs root (mmdebstrap, chroot and bind mounts)" >&2
	exit 1
fi
command -v mmdebstrap >/dev/null 2>&1 || {
	echo "test-fresh: installing mmdebstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

root=$(mktemp -d /var/tmp/obstui-fresh.XXXXXX)
log=${TEST_FRESH_LOG:-$repo/build/test-fresh.log}
mkdir -p "$(dirname "$log")"
mounted=""

cleanup() {
	# undo the mounts in reverse order; lazily, so a process still holding
	# one cannot keep the root alive
	for m in $mounted; do umount -l "$root/$m" 2>/dev/null || true; done
	if [ "${KEEP_ROOT:-0}" = 1 ]; then
		echo "test-fresh: root kept at $root (mounts undone)"
	else
		rm -rf "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the same Debian mirror as this machine's apt, when it has a deb822 file
mirror=""
[ -f /etc/apt/sources.list.d/debian.sources ] && mirror=/etc/apt/sources.list.d/debian.sources

echo "test-fresh: building a bookworm root in $root"
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=minbase --include=git,make,ca-certificates bookworm "$root" $mirror

for m in proc sys dev dev/pts dev/shm; do
	mkdir -p "$root/$m"
	case $m in
	proc) mount -t proc proc "$root/proc" ;;
	*) mount --bind "/$m" "$root/$m" ;;
	esac
	mounted="$m $mounted"
done
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Certificate authorities this machine adds to Debian's (a proxy's, on
# machines whose egress goes through one): a fresh machine here would have
# them too, or it could not reach the registries at all.
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
fi

head=$(git rev-parse --short HEAD)
echo "test-fresh: cloning HEAD ($head) into the root"
git clone -q "$repo" "$root/root/obstui"

echo "test-fresh: make test (log: $log)"
set +e
# A clean environment, but for where this machine says its CA bundle is
# (Node reads NODE_EXTRA_CA_CERTS; CI runs with the machine's environment).
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=xterm CI=true \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS} \
	${SSL_CERT_FILE:+SSL_CERT_FILE=$SSL_CERT_FILE} \
	sh -c 'cd /root/obstui && make test' >"$log" 2>&1
rc=$?
set -e

unit=$(grep -a -c '^\[  PASSED  \]' "$log" || true)
unit_tests=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
unit_failed=$(grep -a -c '^\[  FAILED  \]' "$log" || true)
# node --test prints TAP ("# pass N") when its output is not a terminal
node_pass=$(sed -n 's/^\(# \|ℹ \)pass \([0-9]*\)$/\2/p' "$log" | tail -n1)
node_fail=$(sed -n 's/^\(# \|ℹ \)fail \([0-9]*\)$/\2/p' "$log" | tail -n1)
fuzz=$(sed -n 's/^fuzz: \(.*\)$/\1/p' "$log" | tail -n1)
echo "test-fresh: HEAD $head, make test exit $rc"
echo "  unit:        $unit files, $unit_tests tests passed, $unit_failed files with failures"
echo "  integration: ${node_pass:-?} passed, ${node_fail:-?} failed"
echo "  fuzz:        ${fuzz:-not reached}"
[ $rc = 0 ] || tail -n 40 "$log"
exit $rc
