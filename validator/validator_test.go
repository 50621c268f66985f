package validator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/validator/internal/validatortest"
)

func TestRunFailsWithoutReferenceModel(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 1)
	f.Update(func(s *chaintest.State) {
		s.Subnet.Task.ModelName, s.Subnet.Task.ModelSha256 = "llama", strings.Repeat("ab", 32)
	})
	v, err := New(Config{Home: t.TempDir(), Netuid: 1, Listen: "127.0.0.1:0", PollInterval: 50 * time.Millisecond}, f, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "--reference-checkpoint") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run hung instead of failing")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Netuid: 1},
		{Home: "x"},
		{Home: "x", Netuid: 1, SpotCheck: 2},
		{Home: "x", Netuid: 1, MaxTokens: -1},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
