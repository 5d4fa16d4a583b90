package ui

import (
	"os"
	"testing"

	"github.com/mcpshare/mcpshare/app/childproc"
)

// TestMain lets the test binary be the supervisor of the servers the tests
// start (app/childproc re-executes it for that).
func TestMain(m *testing.M) {
	childproc.RunSupervisorIfAsked()
	os.Exit(m.Run())
}
