#!/bin/sh
# build-image.sh - make image: localhost/obstui:VERSION (and :latest), from
# packaging/image/Containerfile, with podman and no Docker daemon or registry:
#
#  1. the Debian package (packaging/debian/build-deb.sh, cached in build/deb);
#  2. the base the Containerfile names, debian:bookworm-slim: a bookworm
#     root made by mmdebstrap --variant=minbase with Docker's slim image's
#     path excludes (no docs, man pages or locales), cached as
#     build/packaging/bookworm-slim.tar and imported into podman as
#     docker.io/library/debian:bookworm-slim when podman does not have it;
#  3. podman build --pull=never --format=docker (OCI images drop HEALTHCHECK)
#     with the host's network (the RUN step fetches obstui's Depends from the
#     Debian mirror; no bridge is ever made); the image it replaces is
#     removed.  Skipped when the image was built from the same .deb and
#     Containerfile (their sha256 are labels on it).
#
# Uses packaging/image/containers.conf (CONTAINERS_CONF) unless one is set.
# Needs root, mmdebstrap and podman.  Prints the image name.
set -eu
cd "$(dirname "$0")/../.."
here=packaging/image
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(pwd)/$here/containers.conf}
[ "$(id -u)" = 0 ] || { echo "build-image: needs root (mmdebstrap, rootful podman)" >&2; exit 1; }

version=$(sed -n 's/^#define OBSTUI_VERSION "\(.*\)"$/\1/p' src/core/util.h)
image=${OBSTUI_IMAGE:-localhost/obstui:$version}
base=docker.io/library/debian:bookworm-slim
cache=build/packaging
mkdir -p "$cache"

deb=$(packaging/debian/build-deb.sh)

if ! podman image exists "$base"; then
	tarball=$cache/bookworm-slim.tar
	if [ ! -f "$tarball" ]; then
		mirror=""
		[ -f /etc/apt/sources.list.d/debian.sources ] && mirror=/etc/apt/sources.list.d/debian.sources
		echo "build-image: mmdebstrap --variant=minbase bookworm -> $tarball" >&2
		# shellcheck disable=SC2086
		mmdebstrap --quiet --variant=minbase --format=tar \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--dpkgopt='path-include=/usr/share/locale/locale.alias' \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-exclude=/usr/share/info/*' \
			--aptopt='APT::Install-Recommends "false"' \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
			bookworm "$tarball.tmp" $mirror >&2
		mv "$tarball.tmp" "$tarball"
	fi
	echo "build-image: importing $tarball as $base" >&2
	podman import --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null
fi

sum=$(cat "$deb" "$here/Containerfile" | sha256sum | cut -d' ' -f1)
if [ "$(podman image inspect --format '{{index .Labels "org.obstui.inputs"}}' "$image" 2>/dev/null)" = "$sum" ]; then
	echo "build-image: $image is up to date" >&2
	echo "$image"
	exit 0
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$here/Containerfile" "$ctx/Containerfile"
cp "$deb" "$ctx/obstui.deb"
old=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman build --pull=never --network=host --layers=false --format=docker \
	--label "org.obstui.inputs=$sum" -t "$image" -f "$ctx/Containerfile" "$ctx" >&2
podman tag "$image" "${image%:*}:latest"
new=$(podman image inspect --format '{{.Id}}' "$image")
if [ -n "$old" ] && [ "$old" != "$new" ]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
echo "$image"
