package types_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/x/tx/signing/aminojson"
	gogoproto "github.com/cosmos/gogoproto/proto"
	protoV2 "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/meritnet/merit/x/emission/types"
)

// TestSubnetsResponsePrintsInTheCLI: `meritd q emission subnets` prints its
// response with autocli's amino JSON encoder over a dynamic message; a
// repeated cosmos.Int scalar made that fail ("unsupported type
// *dynamicpb.dynamicList").
func TestSubnetsResponsePrintsInTheCLI(t *testing.T) {
	resp := &types.QuerySubnetsResponse{Subnets: []types.SubnetEmission{{Netuid: 1, Pending: sdkmath.NewInt(5), StakeEma: sdkmath.NewInt(2)}},
		ShareBps: []uint32{10000}, StakePart: []sdkmath.Int{sdkmath.NewInt(7)}, RevenuePart: []sdkmath.Int{sdkmath.NewInt(3)}}
	bz, err := gogoproto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	files, err := gogoproto.MergedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(gogoproto.MessageName(resp)))
	if err != nil {
		t.Fatal(err)
	}
	msg := dynamicpb.NewMessage(d.(protoreflect.MessageDescriptor))
	if err := protoV2.Unmarshal(bz, msg); err != nil {
		t.Fatal(err)
	}
	enc := aminojson.NewEncoder(aminojson.EncoderOptions{Indent: "  ", EnumAsString: true, DoNotSortFields: true,
		AminoNameAsTypeURL: true, MarshalMappings: true, FileResolver: files})
	out, err := enc.Marshal(msg)
	if err != nil {
		t.Fatalf("the CLI cannot print it: %v", err)
	}
	t.Logf("%s", out)
}
