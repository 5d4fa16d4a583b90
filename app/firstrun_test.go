package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstPasswordWaitsUntilSeen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: t.TempDir()}
	a, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	user, pw := a.FirstRunCredentials()
	db, _ := os.ReadFile(filepath.Join(dir, DBFile))
	if pw == "" || strings.Contains(string(db), pw) {
		t.Fatalf("first password %q: empty, or in the database in clear", pw)
	}
	if err := a.FirstPasswordSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	if u, p := a.FirstRunCredentials(); u != "" || p != "" {
		t.Errorf("after FirstPasswordSeen: %q %q", u, p)
	}
	a.Close()
	b, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if u, p := b.FirstRunCredentials(); u != "" || p != "" {
		t.Errorf("a password already seen came back after a restart: %q %q", u, p)
	}
	if users, _ := b.Auth().Users(); len(users) != 1 || users[0].Name != user {
		t.Errorf("users: %+v", users)
	}
}

func TestSettingAPasswordForgetsTheGeneratedOne(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: t.TempDir()}
	a, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := a.FirstRunCredentials()
	ctx := context.Background()
	if err := a.SetPassword(ctx, user, "short"); err == nil {
		t.Error("a 5-character password was accepted")
	}
	if _, pw := a.FirstRunCredentials(); pw == "" {
		t.Error("a refused new password forgot the generated one")
	}
	if err := a.SetPassword(ctx, user, "my own long password"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, pw := b.FirstRunCredentials(); pw != "" {
		t.Errorf("the generated password is still offered after the owner chose one: %q", pw)
	}
}

func TestFolderFlagTakesEffectOnLaterStarts(t *testing.T) {
	dir := t.TempDir()
	// Another command created the installation, with the default folder.
	a, err := Open(Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: filepath.Join(t.TempDir(), "first")})
	if err != nil {
		t.Fatal(err)
	}
	if _, changed := a.FolderOverride(); changed {
		t.Error("the first start reported a changed folder")
	}
	a.Close()

	want := filepath.Join(t.TempDir(), "notes")
	b, err := Open(Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: want})
	if err != nil {
		t.Fatal(err)
	}
	if got, changed := b.FolderOverride(); !changed || got != want {
		t.Errorf("FolderOverride = %q %v, want %q true", got, changed, want)
	}
	if got := builtinRoot(t, b); got != want {
		t.Errorf("the built-in server shares %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(want, "README.md")); err != nil {
		t.Errorf("the new folder was not prepared: %v", err)
	}
	// Removed meanwhile: --folder shares the folder again.
	if err := b.RemoveServer(context.Background(), BuiltinName); err != nil {
		t.Fatal(err)
	}
	b.Close()
	c, err := Open(Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: want})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := builtinRoot(t, c); got != want || len(c.EnabledServers()) != 1 {
		t.Errorf("after --folder on a removed built-in server: root %q, enabled %v", got, c.EnabledServers())
	}

	other := filepath.Join(t.TempDir(), "other")
	if err := c.SetBuiltinFolder(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if got := builtinRoot(t, c); got != other {
		t.Errorf("after SetBuiltinFolder: %q, want %q", got, other)
	}
}

func builtinRoot(t *testing.T, a *App) string {
	t.Helper()
	list, err := a.Servers()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Config.Name == BuiltinName {
			return s.Config.Root
		}
	}
	return ""
}
