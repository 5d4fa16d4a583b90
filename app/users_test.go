package app

import (
	"path/filepath"
	"testing"
)

// Approvals of users, clients or servers removed around App's methods
// (oauthserver drops unused clients on its own) are forgotten at the next
// start.
func TestStaleRememberedApprovalsAreForgottenAtOpen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: filepath.Join(dir, "files")}
	a, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := a.FirstRunCredentials()
	client, _, _, err := a.auth.EnsurePreregisteredClient()
	if err != nil {
		t.Fatal(err)
	}
	kept := PendingCall{User: user, ClientID: client, Server: BuiltinName, Name: "write_file"}
	for _, pc := range []PendingCall{
		kept,
		{User: "gone", ClientID: client, Server: BuiltinName, Name: "write_file"},
		{User: user, ClientID: "mcpc_gone", Server: BuiltinName, Name: "write_file"},
		{User: user, ClientID: client, Server: "gone", Name: "write_file"},
	} {
		if err := a.remember(pc); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	a, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	got, err := a.RememberedCalls()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].User != kept.User || got[0].ClientID != kept.ClientID || got[0].Server != kept.Server {
		t.Errorf("remembered after reopening: %+v", got)
	}
}
