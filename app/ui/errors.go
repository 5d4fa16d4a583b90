package ui

import (
	"errors"
	"strings"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/secrets"
	"github.com/mcpshare/mcpshare/tunnel"
)

// advice pairs a typed error of the core with what the person can do about it.
var advice = []struct {
	err error
	do  string
}{
	{app.ErrAlreadyRunning, "Look for its window or its icon in the system tray and use that one."},
	{app.ErrPortInUse, "Another program listens on that port. Choose another port in Settings, save, and start sharing again."},
	{secrets.ErrUnavailable, "The system keychain is not available, so MCP Share cannot keep its secrets there. Unlock or install a keychain (on Linux: GNOME Keyring or KWallet), or start MCP Share with --secrets file to keep them in a private file in its config folder."},
	{secrets.ErrTooLong, "The system keychain cannot hold a secret this long. Keep the value in a file and give the server the file's path instead, or start MCP Share with --secrets file to keep its secrets in a private file in its config folder."},
	{app.ErrNgrokToken, "No ngrok authtoken is saved. Copy yours from dashboard.ngrok.com/get-started/your-authtoken, paste it in Settings, save, and start sharing again."},
	{tunnel.ErrNoAuthtoken, "No ngrok authtoken is saved. Copy yours from dashboard.ngrok.com/get-started/your-authtoken, paste it in Settings, save, and start sharing again."},
	{tunnel.ErrAuthtokenRejected, "ngrok rejected the authtoken. Copy it again from dashboard.ngrok.com/get-started/your-authtoken, paste it in Settings, save, and start sharing again."},
	{tunnel.ErrDomainNotReserved, "The ngrok domain in Settings is not reserved for this ngrok account. Reserve it at dashboard.ngrok.com/domains, or clear the domain in Settings to get a random URL."},
	{tunnel.ErrDomainInUse, "This ngrok domain is already online in another ngrok agent. Stop that agent, then start sharing again."},
	{tunnel.ErrNoNetwork, "MCP Share could not reach ngrok. Check the internet connection, then start sharing again. Sharing on this computer still works."},
}

// Advice is what to do about err, for the errors a person can fix; empty
// for the others.
func Advice(err error) string {
	for _, a := range advice {
		if err != nil && errors.Is(err, a.err) {
			return a.do
		}
	}
	return ""
}

// Explain says what went wrong and, for the errors a person can fix, what
// to do about it.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	msg := sentence(strings.TrimPrefix(err.Error(), "oauthserver: "))
	if do := Advice(err); do != "" {
		return msg + "\n" + do
	}
	return msg
}
