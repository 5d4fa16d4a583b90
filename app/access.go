package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/app/secrets"
)

// Who may use each shared server, and what of it: the rules the gateway
// consults (gateway.Config.MayUse and Policy.Access), kept on each
// ServerConfig and edited with SetServerRules.

// States of a tool, prompt or resource (ServerConfig.Tools, Prompts,
// Resources): the gateway's.
const (
	AccessAllowed = string(gateway.AccessAllowed)
	AccessAsk     = string(gateway.AccessAsk)
	AccessHidden  = string(gateway.AccessHidden)
)

// Kinds of Entry: the gateway's.
const (
	EntryTool     = gateway.EntryTool
	EntryPrompt   = gateway.EntryPrompt
	EntryResource = gateway.EntryResource
)

// Entry is one tool, prompt or resource of a server.
type Entry = gateway.Entry

// Rules are what the owner decided of one server: the rule fields of its
// ServerConfig.
type Rules struct {
	Users                     []string
	Tools, Prompts, Resources map[string]string
	AskBeforeChanges          bool
	AuditArguments            bool
}

// Rules returns the rules of c.
func (c ServerConfig) Rules() Rules {
	return Rules{
		Users: slices.Clone(c.Users), Tools: maps.Clone(c.Tools), Prompts: maps.Clone(c.Prompts), Resources: maps.Clone(c.Resources),
		AskBeforeChanges: c.AskBeforeChanges, AuditArguments: c.AuditArguments,
	}
}

// MayUse reports whether user may use the server.
func (c ServerConfig) MayUse(user string) bool {
	return len(c.Users) == 0 || slices.Contains(c.Users, user)
}

// StateOf is the state of e under c's rules, and whether the owner set it
// for e itself (rather than it following from the defaults).
func (c ServerConfig) StateOf(e Entry) (state string, explicit bool) {
	var states map[string]string
	switch e.Kind {
	case EntryTool:
		states = c.Tools
	case EntryPrompt:
		states = c.Prompts
	case EntryResource:
		states = c.Resources
	}
	if s, ok := states[e.Name]; ok {
		return s, true
	}
	if e.Kind == EntryTool && c.AskBeforeChanges && !e.ReadOnly {
		return AccessAsk, false
	}
	return AccessAllowed, false
}

func (c *ServerConfig) validateRules() error {
	for _, u := range c.Users {
		if u == "" {
			return fmt.Errorf("%w: server %q: an empty user name in its users", ErrInvalidConfig, c.Name)
		}
	}
	for kind, states := range map[string]map[string]string{EntryTool: c.Tools, EntryPrompt: c.Prompts, EntryResource: c.Resources} {
		for name, st := range states {
			switch st {
			case AccessAllowed, AccessAsk, AccessHidden:
			default:
				return fmt.Errorf("%w: server %q: %s %q: state %q: use allowed, ask or hidden", ErrInvalidConfig, c.Name, kind, name, st)
			}
		}
	}
	return nil
}

// SetServerRules replaces the rules of server name. The running share
// applies them at once: lists change, sessions of users who lost the
// server end.
func (a *App) SetServerRules(name string, r Rules) error {
	cfg, err := a.cfg.server(name)
	if err != nil {
		return err
	}
	users := slices.Clone(r.Users)
	sort.Strings(users)
	cfg.Users = slices.Compact(users)
	cfg.Tools, cfg.Prompts, cfg.Resources = nonEmpty(r.Tools), nonEmpty(r.Prompts), nonEmpty(r.Resources)
	cfg.AskBeforeChanges, cfg.AuditArguments = r.AskBeforeChanges, r.AuditArguments
	if err := a.cfg.putServer(cfg, false); err != nil {
		return err
	}
	return a.serversChanged(fmt.Sprintf("the rules of server %q changed", name))
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// rulebook is the rules of every stored server, as last loaded: what the
// gateway consults on each call, without touching the database.
type rulebook struct {
	servers atomic.Pointer[map[string]ServerConfig]
}

// load takes the stored servers' rules.
func (rb *rulebook) load(all []ServerConfig) {
	m := make(map[string]ServerConfig, len(all))
	for _, c := range all {
		m[c.Name] = c
	}
	rb.servers.Store(&m)
}

func (rb *rulebook) server(name string) (ServerConfig, bool) {
	m := rb.servers.Load()
	if m == nil {
		return ServerConfig{}, false
	}
	c, ok := (*m)[name]
	return c, ok
}

// mayUse is gateway.Config.MayUse.
func (rb *rulebook) mayUse(user, server string) bool {
	c, ok := rb.server(server)
	return ok && c.MayUse(user)
}

// access is gateway.Policy.Access.
func (rb *rulebook) access(e Entry) gateway.Access {
	c, ok := rb.server(e.Server)
	if !ok {
		return gateway.AccessHidden
	}
	st, _ := c.StateOf(e)
	return gateway.Access(st)
}

// ServerEntries starts server name the way a share would, lists its tools,
// prompts, resources and resource templates, and stops it again: what the
// owner sets states for.
func (a *App) ServerEntries(ctx context.Context, name string) ([]Entry, error) {
	cfg, err := a.cfg.server(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, tryTimeout)
	defer cancel()
	secret := func(ctx context.Context, server, key string) (string, error) {
		return a.secrets.Get(ctx, secrets.EnvKey(server, key))
	}
	res, err := gateway.Try(ctx, specOf(cfg, 0), secret)
	if err != nil {
		return nil, fmt.Errorf("start server %q to list what it offers: %w", name, err)
	}
	return res.Entries, nil
}
