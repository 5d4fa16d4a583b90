package app

// Users and clients are the authorization server's (App.Auth); removing one
// goes through these methods, so that what the app remembers of them goes
// too: a new user or client of the same name must inherit nothing.

// RemoveUser deletes a user with their sign-ins (oauthserver), the tools
// the owner always allows for them, and the calls of theirs that wait for
// approval (denied).
func (a *App) RemoveUser(name string) error {
	if err := a.auth.RemoveUser(name); err != nil {
		return err
	}
	return a.forgetApprovals(func(k rememberKeyParts) bool { return k.user == name }, "the user was removed")
}

// RevokeClient deletes an OAuth client with its tokens (oauthserver), the
// tools the owner always allows through it, and its calls that wait for
// approval (denied).
func (a *App) RevokeClient(id string) error {
	if err := a.auth.RevokeClient(id); err != nil {
		return err
	}
	return a.forgetApprovals(func(k rememberKeyParts) bool { return k.client == id }, "the client was revoked")
}

// forgetStaleApprovals deletes the remembered approvals of users, clients
// and servers that no longer exist: removed by an earlier version, around
// these methods (oauthserver drops unused clients on its own), or by a run
// that ended between the two writes of a removal.
func (a *App) forgetStaleApprovals() error {
	users, err := a.auth.Users()
	if err != nil {
		return err
	}
	clients, err := a.auth.Clients()
	if err != nil {
		return err
	}
	servers, err := a.cfg.servers()
	if err != nil {
		return err
	}
	known := func(names []string) map[string]bool {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	var userNames, clientIDs, serverNames []string
	for _, u := range users {
		userNames = append(userNames, u.Name)
	}
	for _, c := range clients {
		clientIDs = append(clientIDs, c.ID)
	}
	for _, s := range servers {
		serverNames = append(serverNames, s.Name)
	}
	u, c, s := known(userNames), known(clientIDs), known(serverNames)
	return a.forgetApprovals(func(k rememberKeyParts) bool { return !u[k.user] || !c[k.client] || !s[k.server] }, "")
}
