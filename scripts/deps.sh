#!/bin/sh
# deps.sh run|test - install what obstui needs on Debian (bookworm).
#
# As root it runs apt-get for whatever is missing or too old; otherwise it
# prints the exact command to run (with and without sudo) and exits 1.
# "test" adds what the tests need: Debian packages (the clang runtime for
# the fuzz targets, Prometheus as the metrics oracle, tmux, and for the
# packaging tests lintian, mmdebstrap, podman, yamllint, zsh ...), the npm
# packages in tests/ (from tests/package-lock.json), and a Node.js the
# tests support.
#
# Node.js: the tests need NODE_MIN or newer (node --test with
# --test-concurrency and --test-timeout).  A node on the PATH that new is
# used as it is; otherwise (Debian bookworm ships 18.x) Node NODE_PIN is
# installed from the npm registry's node-linux-<arch> package into
# tests/.node/, which tests/run-integration.sh puts first on the PATH.
set -eu
cd "$(dirname "$0")/.."

NODE_MIN=20.11.0
NODE_PIN=20.20.2

RUN_PKGS="build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libsqlite3-dev
libzstd-dev libmicrohttpd-dev libjansson-dev zlib1g-dev libinih-dev libncurses-dev
libcurl4-openssl-dev libnghttp2-dev libssl-dev libsnappy-dev ca-certificates curl"
TEST_PKGS="libcmocka-dev tmux clang libclang-rt-14-dev zstd sqlite3 wrk procps openssl
git prometheus victoria-metrics
lintian mmdebstrap podman runc catatonit yamllint zsh groff-base systemd"

mode=${1:-run}
want="$RUN_PKGS"
[ "$mode" = test ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

# version_ge A B: is version A >= B (dotted numbers)?
version_ge() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" = "$2" ]
}

# Versions, not just presence, where an old one breaks the tests.
if [ "$mode" = test ] && command -v prometheus >/dev/null 2>&1; then
	pv=$(prometheus --version 2>&1 | sed -n 's/^prometheus, version \([0-9.]*\).*/\1/p')
	if [ -n "$pv" ] && ! version_ge "$pv" 2.42.0; then
		echo "obstui: prometheus $pv is older than 2.42, which the metrics tests compare with" >&2
		exit 1
	fi
fi

node_ok=0
if [ "$mode" = test ]; then
	if [ -x tests/.node/bin/node ]; then
		node_ok=1
	elif command -v node >/dev/null 2>&1; then
		nv=$(node --version 2>/dev/null | sed 's/^v//')
		if version_ge "$nv" "$NODE_MIN"; then node_ok=1
		else echo "deps: node $nv is older than $NODE_MIN; the tests will use Node $NODE_PIN from npm"
		fi
	fi
	# npm is needed either way (the test packages; the newer Node comes from npm)
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
	[ $node_ok = 1 ] || command -v node >/dev/null 2>&1 || missing="$missing nodejs"
fi

if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	else
		echo "obstui: missing Debian packages; as root run:" >&2
		echo "  apt-get install -y$missing" >&2
		echo "or, with sudo:" >&2
		echo "  sudo apt-get install -y$missing" >&2
		exit 1
	fi
fi

[ "$mode" = test ] || exit 0

if [ $node_ok = 0 ]; then
	case $(dpkg --print-architecture) in
	amd64) arch=x64 ;; arm64) arch=arm64 ;; ppc64el) arch=ppc64le ;; s390x) arch=s390x ;;
	*) echo "obstui: no Node.js $NODE_PIN package for $(dpkg --print-architecture); install Node >= $NODE_MIN" >&2
	   exit 1 ;;
	esac
	echo "deps: Node.js $NODE_PIN from npm (node-linux-$arch) into tests/.node"
	rm -rf tests/.node
	mkdir -p tests/.node/bin
	# its own package.json, or npm would walk up to tests/ and install there;
	# ipv4first: an old Node tries IPv6 only and hangs where there is no route
	echo '{"private":true}' >tests/.node/package.json
	(cd tests/.node && NODE_OPTIONS=--dns-result-order=ipv4first npm install --no-save \
		--no-package-lock --no-audit --no-fund --loglevel=error \
		"node-linux-$arch@$NODE_PIN" >/dev/null)
	ln -sf "../node_modules/node-linux-$arch/bin/node" tests/.node/bin/node
	tests/.node/bin/node --version >/dev/null
fi
[ -x tests/.node/bin/node ] && PATH=$(pwd)/tests/.node/bin:$PATH && export PATH

if [ -f tests/package.json ]; then
	if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.stamp ]; then
		echo "deps: npm packages for the tests"
		(cd tests && NODE_OPTIONS=--dns-result-order=ipv4first npm ci --no-audit --no-fund \
			--loglevel=error) &&
			touch tests/node_modules/.stamp
	fi
fi
