package keeper_test

import (
	"testing"

	"github.com/meritnet/merit/testutil/keepertest"
)

const denom = keepertest.Denom

var (
	addr      = keepertest.Addr
	expectErr = keepertest.ExpectErr
	task      = keepertest.Task
)

func newFixture(t testing.TB) *keepertest.Fixture { return keepertest.New(t) }
