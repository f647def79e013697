#!/bin/sh
# build-deb.sh [--without-depends] [OUTDIR] - build obstui_VERSION_ARCH.deb
# with dpkg-deb (no debhelper, no network): the program built with Debian's
# hardening flags in build/deb/, stripped; Depends computed by dpkg-shlibdeps
# (plus adduser, for postinst); obstui(1) from packaging/man; bash and zsh
# completions generated from the binary's help; obstui.service and
# /etc/default/obstui; maintainer scripts that create the user obstui.
# Prints the path of the .deb.  OUTDIR defaults to build/.
#
# --without-depends leaves the shared libraries out of Depends (adduser
# stays): the test uses it to show that such a package does not run.
#
# Needs dpkg-dev (dpkg-shlibdeps, dpkg-buildflags), fakeroot is not needed
# (dpkg-deb --root-owner-group).  SOURCE_DATE_EPOCH (default: the last
# commit's time) dates the changelog and the files.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
here=packaging/debian

shlibs=1
if [ "${1:-}" = --without-depends ]; then shlibs=0; shift; fi
outdir=${1:-build}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

version=$(sed -n 's/^#define OBSTUI_VERSION "\(.*\)"$/\1/p' src/core/util.h)
[ -n "$version" ] || { echo "build-deb: no OBSTUI_VERSION in src/core/util.h" >&2; exit 1; }
arch=$(dpkg --print-architecture)
maint=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maint" ] || maint="obstui maintainers <obstui@users.noreply.github.com>"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

# --- the program, with Debian's build flags -------------------------------------
B=build/deb/obj
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
# -ffile-prefix-map makes the objects independent of where the tree is
make --no-print-directory -j2 B="$B" OPT= CFLAGS="$cflags" LDFLAGS="$ldflags" "$B/obstui" >&2

# --- the tree ---------------------------------------------------------------------
stage=build/deb/stage$shlibs
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
install -D -m 0755 "$B/obstui" "$stage/usr/bin/obstui"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/obstui"
install -D -m 0644 packaging/man/obstui.1 "$stage/usr/share/man/man1/obstui.1"
gzip -9n "$stage/usr/share/man/man1/obstui.1"
packaging/completions/gen-completions.sh "$stage/usr/bin/obstui" build/deb/completions
install -D -m 0644 build/deb/completions/obstui "$stage/usr/share/bash-completion/completions/obstui"
install -D -m 0644 build/deb/completions/_obstui "$stage/usr/share/zsh/vendor-completions/_obstui"
install -D -m 0644 "$here/obstui.service" "$stage/lib/systemd/system/obstui.service"
install -D -m 0644 "$here/default" "$stage/etc/default/obstui"
install -D -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/obstui"

date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
subst() {
	sed -e "s|@VERSION@|$version|g" -e "s|@ARCH@|$arch|g" -e "s|@MAINTAINER@|$maint|g" \
		-e "s|@DATE@|$date|g" -e "s|@DEPENDS@|${depends:-}|g" -e "s|@SIZE@|${size:-}|g" "$1"
}
install -d -m 0755 "$stage/usr/share/doc/obstui"
subst "$here/copyright" >"$stage/usr/share/doc/obstui/copyright"
subst "$here/changelog" | gzip -9n >"$stage/usr/share/doc/obstui/changelog.gz"
chmod 0644 "$stage/usr/share/doc/obstui/"*

for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$stage/DEBIAN/$s"; done
echo /etc/default/obstui >"$stage/DEBIAN/conffiles"

# --- Depends: dpkg-shlibdeps wants a debian/control to read ------------------------
depends=adduser
if [ $shlibs = 1 ]; then
	sd=build/deb/shlibdeps
	rm -rf "$sd"
	mkdir -p "$sd/debian"
	printf 'Source: obstui\n\nPackage: obstui\nArchitecture: any\n' >"$sd/debian/control"
	bin=$(pwd)/$stage/usr/bin/obstui
	libs=$(cd "$sd" && dpkg-shlibdeps -O -e"$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
	[ -n "$libs" ] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
	depends="$libs, adduser"
fi

find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
	xargs md5sum >DEBIAN/md5sums)
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
subst "$here/control.in" >"$stage/DEBIAN/control"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

if [ $shlibs = 1 ]; then deb="$outdir/obstui_${version}_${arch}.deb"
else deb="$outdir/obstui-without-depends_${version}_${arch}.deb"
fi
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
