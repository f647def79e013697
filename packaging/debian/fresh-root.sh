#!/bin/sh
# fresh-root.sh DEB - install DEB with apt-get into a fresh Debian bookworm
# root (mmdebstrap --variant=apt: only essential packages and apt) and run
# `obstui version` there, then check the user, the store and a purge.
# Prints one "name: value" line per fact for the test to read:
#   install: 0|N            apt-get install's exit status
#   version: 0|N            obstui version's exit status, then its output
#   user: obstui|none       the system user postinst made
#   store: MODE OWNER       /var/lib/obstui
#   store-as-user: 0|N      obstui import then stats on the store, as obstui
#   purge: removed|kept     /var/lib/obstui after apt-get purge
# Exit status 0 when the script itself worked, whatever it found.
#
# The root comes from build/packaging/bookworm-apt.tar, made by mmdebstrap
# on first use and reused while younger than ROOT_MAX_DAYS (7); downloaded
# packages are kept in build/packaging/apt-archives, so a second run needs
# little more than apt-get update.  Needs root (chroot, mounts), network to
# the Debian mirror this machine's apt uses.  Every mount is undone and the
# root removed however it ends.
set -eu
deb=${1:?usage: fresh-root.sh DEB}
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
cd "$(dirname "$0")/../.."
cache=$(pwd)/build/packaging
mkdir -p "$cache/apt-archives/partial"

[ "$(id -u)" = 0 ] || { echo "fresh-root: needs root" >&2; exit 1; }

tarball=$cache/bookworm-apt.tar
if [ -z "$(find "$tarball" -mtime -"${ROOT_MAX_DAYS:-7}" 2>/dev/null)" ]; then
	mirror=""
	[ -f /etc/apt/sources.list.d/debian.sources ] && mirror=/etc/apt/sources.list.d/debian.sources
	echo "fresh-root: mmdebstrap --variant=apt bookworm -> $tarball" >&2
	# shellcheck disable=SC2086
	mmdebstrap --quiet --variant=apt --format=tar bookworm "$tarball.tmp" $mirror >&2
	mv "$tarball.tmp" "$tarball"
fi

root=$(mktemp -d /var/tmp/obstui-deb.XXXXXX)
mounted=""
cleanup() {
	for m in $mounted; do umount -l "$root/$m" 2>/dev/null || true; done
	rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tar -C "$root" -xf "$tarball"
for m in proc dev var/cache/apt/archives; do
	mkdir -p "$root/$m"
	case $m in
	proc) mount -t proc proc "$root/proc" ;;
	dev) mount --bind /dev "$root/dev" ;;
	*) mount --bind "$cache/apt-archives" "$root/$m" ;;
	esac
	mounted="$m $mounted"
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
# keep what apt downloads (the image's apt config cleans it otherwise)
rm -f "$root/etc/apt/apt.conf.d/docker-clean"
cp "$deb" "$root/tmp/"
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

in_root apt-get -qq update >&2
set +e
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >&2
echo "install: $?"
out=$(in_root /usr/bin/obstui version 2>&1)
echo "version: $?"
printf '%s\n' "$out" | head -3
if in_root getent passwd obstui >/dev/null; then echo "user: obstui"; else echo "user: none"; fi
echo "store: $(in_root stat -c '%a %U:%G' /var/lib/obstui 2>/dev/null || echo none)"
span='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"deb"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000"}]}]}]}'
printf '%s\n' "$span" | in_root runuser -u obstui -- /usr/bin/obstui import --store /var/lib/obstui - >&2 &&
	in_root runuser -u obstui -- /usr/bin/obstui stats --store /var/lib/obstui >&2
echo "store-as-user: $?"
in_root apt-get purge -y -qq obstui >&2
if [ -e "$root/var/lib/obstui" ]; then echo "purge: kept"; else echo "purge: removed"; fi
exit 0
