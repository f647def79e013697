#!/bin/sh
# deps.sh run|test - install what obstui needs on Debian (bookworm).
#
# As root it runs apt-get for whatever is missing; otherwise it prints the
# exact command to run and exits 1.  "test" adds what the tests need,
# including the npm packages in tests/ (installed from tests/package-lock.json).
set -eu
cd "$(dirname "$0")/.."

RUN_PKGS="build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libsqlite3-dev
libzstd-dev libmicrohttpd-dev libjansson-dev zlib1g-dev libinih-dev libncurses-dev
libcurl4-openssl-dev libnghttp2-dev libssl-dev libsnappy-dev"
TEST_PKGS="libcmocka-dev tmux clang zstd curl sqlite3 wrk procps"

want="$RUN_PKGS"
[ "${1:-run}" = test ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

# Node.js and npm may come from elsewhere than Debian (a newer release);
# install Debian's only when there is no node or npm at all.
if [ "${1:-run}" = test ]; then
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi

if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	else
		echo "obstui: missing Debian packages; run:" >&2
		echo "  sudo apt-get install -y$missing" >&2
		exit 1
	fi
fi

if [ "${1:-run}" = test ] && [ -f tests/package.json ]; then
	if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.stamp ]; then
		echo "deps: npm packages for the tests"
		(cd tests && npm ci --no-audit --no-fund --loglevel=error) &&
			touch tests/node_modules/.stamp
	fi
fi
