#!/bin/sh
# run.sh - the packaging tests (make test-packaging): the Debian package, the
# container image, the Helm chart and Kustomize manifests.  Run from
# anywhere; each file can also run alone: node --test tests/packaging/X.test.mjs
# They need root (chroot, podman) and the Debian packages scripts/deps.sh
# test installs; build/packaging caches the bookworm root, the downloaded
# .debs, the helm/kubectl binaries and the schema-validation npm packages,
# so a second run takes a few minutes at most.  Bounded by
# OBSTUI_PKG_TIMEOUT seconds (default 1500).
set -eu
cd "$(dirname "$0")/../.."
[ -x tests/.node/bin/node ] && PATH=$(pwd)/tests/.node/bin:$PATH && export PATH
if [ $# -gt 0 ]; then
	set -- "$@"
elif [ "$(id -u)" = 0 ]; then
	set -- tests/packaging/*.test.mjs
else
	# the chart needs nothing more; the .deb and image tests chroot and run podman
	echo "test-packaging: not root: the Debian package and image tests (deb, image) are NOT run" >&2
	set -- tests/packaging/chart.test.mjs
fi
exec timeout --kill-after=10 "${OBSTUI_PKG_TIMEOUT:-1500}" \
	node --test --test-concurrency=1 --test-timeout=900000 "$@"
