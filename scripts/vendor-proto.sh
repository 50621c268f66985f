#!/usr/bin/env bash
# Copies the third-party .proto files our protos import from the Go module cache, at the
# versions go.mod pins, into third_party/proto. Run after bumping the SDK, gogoproto,
# cosmos-proto or grpc-gateway; the copies are committed so proto-gen works offline.
set -euo pipefail
cd "$(dirname "$0")/.."

modpath() { go list -m -f '{{.Dir}}' "$1"; }
go mod download github.com/cosmos/cosmos-sdk github.com/cosmos/gogoproto \
  github.com/cosmos/cosmos-proto github.com/grpc-ecosystem/grpc-gateway

sdk=$(modpath github.com/cosmos/cosmos-sdk)
gogo=$(modpath github.com/cosmos/gogoproto)
cproto=$(modpath github.com/cosmos/cosmos-proto)
gw=$(modpath github.com/grpc-ecosystem/grpc-gateway)

out=third_party/proto
rm -rf "$out"
mkdir -p "$out"
copy() { mkdir -p "$out/$(dirname "$2")"; cp "$1" "$out/$2"; chmod 0644 "$out/$2"; }

for f in amino/amino.proto \
         cosmos/msg/v1/msg.proto \
         cosmos/query/v1/query.proto \
         cosmos/base/v1beta1/coin.proto \
         cosmos/base/query/v1beta1/pagination.proto; do
  copy "$sdk/proto/$f" "$f"
done
copy "$gogo/gogoproto/gogo.proto" gogoproto/gogo.proto
copy "$cproto/proto/cosmos_proto/cosmos.proto" cosmos_proto/cosmos.proto
copy "$gw/third_party/googleapis/google/api/annotations.proto" google/api/annotations.proto
copy "$gw/third_party/googleapis/google/api/http.proto" google/api/http.proto
echo "vendored $(find "$out" -name '*.proto' | wc -l) files into $out"
