#!/usr/bin/env bash
# Generates Go from proto/ with protoc and pinned plugins; no network registry needed.
# protoc and the well-known types come from Debian (protobuf-compiler, libprotobuf-dev);
# third-party imports are vendored in third_party/proto (scripts/vendor-proto.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

GOGO_VERSION=v1.7.2      # github.com/cosmos/gogoproto, as pinned in go.mod
GATEWAY_VERSION=v1.16.0  # github.com/grpc-ecosystem/grpc-gateway, as pinned in go.mod

if ! command -v protoc >/dev/null; then
  echo "protoc not found: install it with 'apt-get install -y protobuf-compiler libprotobuf-dev'" >&2
  exit 1
fi
wkt=""
for d in /usr/include /usr/local/include; do
  [ -f "$d/google/protobuf/descriptor.proto" ] && wkt="$d" && break
done
if [ -z "$wkt" ]; then
  echo "google/protobuf/*.proto not found: install libprotobuf-dev" >&2
  exit 1
fi

bin="$(go env GOPATH)/bin"
export PATH="$bin:$PATH"
ensure_plugin() { # name module version
  local have
  have=$(go version -m "$bin/$1" 2>/dev/null | awk '$1=="mod"{print $3}' || true)
  if [ "$have" != "$3" ]; then
    echo "installing $1 $3"
    GOFLAGS= go install "$2@$3"
  fi
}
ensure_plugin protoc-gen-gocosmos github.com/cosmos/gogoproto/protoc-gen-gocosmos "$GOGO_VERSION"
ensure_plugin protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/protoc-gen-grpc-gateway "$GATEWAY_VERSION"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for dir in $(find proto -name '*.proto' -exec dirname {} \; | sort -u); do
  protoc -I proto -I third_party/proto -I "$wkt" \
    --gocosmos_out=plugins=grpc,Mgoogle/protobuf/any.proto=github.com/cosmos/gogoproto/types/any:"$out" \
    --grpc-gateway_out=logtostderr=true,allow_colon_final_segments=true:"$out" \
    "$dir"/*.proto
done

# Generated files land under their go_package path; move them beside their module.
src="$out/github.com/meritnet/merit"
find "$src" -name '*.go' | while read -r f; do
  rel=${f#"$src"/}
  mkdir -p "$(dirname "$rel")"
  cp "$f" "$rel"
done
echo "generated $(find "$src" -name '*.go' | wc -l) files"
