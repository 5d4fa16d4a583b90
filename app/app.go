package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcpshare/mcpshare/app/builtin"
	"github.com/mcpshare/mcpshare/app/egress"
	"github.com/mcpshare/mcpshare/app/secrets"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// Secret store kinds for Options.Secrets.
const (
	SecretsKeychain = "keychain"
	SecretsFile     = "file"
)

// KeychainService is the service name under which secrets sit in the OS keychain.
const KeychainService = "mcpshare"

// secretsFileName is the 0600 file used with --secrets file.
const secretsFileName = "secrets.json"

// Options configure an App. Empty override fields keep the stored settings.
type Options struct {
	// ConfigDir holds the database (and the secrets file with Secrets == "file").
	ConfigDir string
	// Secrets is SecretsKeychain (default) or SecretsFile.
	Secrets string
	// KeychainService overrides KeychainService, so tests do not touch a user's entries.
	KeychainService string

	// Per-run overrides of the stored settings (command-line flags).
	Addr        string
	Approval    string
	Tunnel      string
	PublicURL   string
	NgrokDomain string
	// TrustForwardedFor lets the custom tunnel's X-Forwarded-For name the visitor (forwarded.go).
	TrustForwardedFor bool

	// FilesRoot is the folder the built-in server shares. On first run empty
	// means ~/MCP Share; on later runs a non-empty one replaces the stored
	// folder (the built-in server is created again if it was removed), and
	// FolderOverride says so.
	FilesRoot string

	// NgrokConnectURL and NgrokConnectCAs point the ngrok agent at another
	// service than ngrok's cloud: tests run a fake one on loopback.
	NgrokConnectURL string
	NgrokConnectCAs *x509.CertPool

	// CallApprovalTimeout bounds how long a call waits for the owner's
	// approval (DefaultCallApprovalTimeout when zero).
	CallApprovalTimeout time.Duration

	// Network is how remote servers and their authorization servers are
	// reached; the zero value is the system's. Tests route public-looking
	// names to servers of their own.
	Network egress.Network

	Logger *slog.Logger
	// Now is the clock of the authorization server; nil means time.Now.
	Now func() time.Time
}

// App is one running installation of MCP Share: its config directory, its
// authorization server and, while sharing, its listeners.
type App struct {
	opts    Options
	log     *slog.Logger
	db      *bolt.DB
	cfg     configStore
	secrets secrets.Store
	auth    *oauthserver.Server
	origins *oauthserver.Origins
	events  events
	gov     *governance // the owner's rules, calls waiting for approval, the audit log

	// firstUser and firstPassword are the first user's generated password
	// while it waits in the secret store for the owner to see it (under mu).
	firstUser, firstPassword string
	// folderSet is the built-in server's folder when Options.FilesRoot
	// changed it on this run.
	folderSet string

	life     sync.Mutex // held across Start and Stop, never with mu held
	mu       sync.Mutex
	stored   Settings // as saved in the database
	settings Settings // effective: stored settings plus this run's overrides
	enabled  []string // names of enabled servers, for the authorization server
	share    *sharing // nil while stopped
	status   Status
	remote   remoteServers // sign-ins of remote servers (remoteauth.go)

	// How long one tunnel attempt may take, and the first retry delay;
	// constants but for tests.
	tunnelStartWithin, tunnelRetryFirst time.Duration
	// The HTTP servers' header and idle timeouts; constants but for tests.
	readHeaderTimeout, idleTimeout time.Duration
}

// Open opens (or on first run creates) the installation in opts.ConfigDir.
// It fails with ErrAlreadyRunning when another process holds it. Open does not
// start sharing; see Start.
func Open(opts Options) (*App, error) {
	if opts.ConfigDir == "" {
		return nil, errors.New("no config directory given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := openSecrets(opts)
	if err != nil {
		return nil, err
	}
	db, err := openDB(opts.ConfigDir)
	if err != nil {
		return nil, err
	}
	a := &App{
		opts:    opts,
		log:     opts.Logger,
		db:      db,
		cfg:     configStore{db},
		secrets: store,
		origins: oauthserver.NewOrigins(),
		status:  Status{State: StateStopped},

		tunnelStartWithin: tunnelStartWithin,
		tunnelRetryFirst:  tunnelRetryFirst,
		readHeaderTimeout: readHeaderTimeout,
		idleTimeout:       idleTimeout,
	}
	a.events.fill = a.fillEvent
	a.gov = newGovernance(a)
	if err := a.init(); err != nil {
		if a.auth != nil {
			a.auth.Close()
		}
		db.Close()
		return nil, err
	}
	return a, nil
}

func openSecrets(opts Options) (secrets.Store, error) {
	switch opts.Secrets {
	case "", SecretsKeychain:
		svc := opts.KeychainService
		if svc == "" {
			svc = KeychainService
		}
		return secrets.Keychain(svc), nil
	case SecretsFile:
		return secrets.File(filepath.Join(opts.ConfigDir, secretsFileName))
	default:
		return nil, fmt.Errorf("%w: --secrets %q: use keychain or file", ErrInvalidConfig, opts.Secrets)
	}
}

// init runs the first-run setup and loads the effective settings.
func (a *App) init() error {
	st, first, err := a.loadSettings()
	if err != nil {
		return err
	}
	if first {
		if err := a.firstRun(); err != nil {
			return err
		}
	}
	eff, err := a.applyOverrides(st)
	if err != nil {
		return err
	}
	a.stored, a.settings = st, eff
	if err := a.refreshEnabled(); err != nil {
		return err
	}
	a.auth, err = oauthserver.New(oauthserver.Config{
		DB:        a.db,
		Origins:   a.origins,
		Resources: a.enabledNames,
		MayUse:    a.gov.rules.mayUse,
		Policy:    oauthserver.Policy(eff.Approval),
		Now:       a.opts.Now,
		Logger:    a.log.With("part", "oauth"),
		OnSignIn:  func() { a.events.emit(EventSignIn, "sign-ins changed") },
	})
	if err != nil {
		return fmt.Errorf("start the authorization server: %w", err)
	}
	if err := a.ensureFirstUser(); err != nil {
		return err
	}
	if err := a.forgetStaleApprovals(); err != nil {
		a.log.Warn("could not forget the approvals of removed users, clients and servers", "err", err)
	}
	if !first && a.opts.FilesRoot != "" {
		return a.overrideFolder(a.opts.FilesRoot)
	}
	return nil
}

// keyFirstPassword is where the first user's generated password waits in
// the secret store (never in the database) until the owner has seen it or
// set another one, so that a restart does not lose it.
const keyFirstPassword = "first-password"

// firstRunTimeout bounds the secret store calls of Open.
const firstRunTimeout = 15 * time.Second

// ensureFirstUser creates the first user when there is none, and keeps its
// password in the secret store; when that store fails the user is removed
// again, so that a start that fails has created (and shown) no password.
// On later runs it loads a password that is still waiting to be seen.
func (a *App) ensureFirstUser() error {
	ctx, cancel := context.WithTimeout(context.Background(), firstRunTimeout)
	defer cancel()
	name, pw, created, err := a.auth.EnsureFirstUser()
	if err != nil {
		return fmt.Errorf("create the first user: %w", err)
	}
	if created {
		if err := a.secrets.Set(ctx, keyFirstPassword, name+"\n"+pw); err != nil {
			if rmErr := a.auth.RemoveUser(name); rmErr != nil {
				a.log.Error("could not undo the first user", "user", name, "err", rmErr)
			}
			return fmt.Errorf("keep the first user's password in the secret store: %w", err)
		}
		a.firstUser, a.firstPassword = name, pw
		return nil
	}
	v, err := a.secrets.Get(ctx, keyFirstPassword)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		return nil
	case err != nil:
		// Start reports an unusable secret store; the password waits there.
		a.log.Warn("could not read the first user's password from the secret store", "err", err)
		return nil
	}
	name, pw, _ = strings.Cut(v, "\n")
	users, err := a.auth.Users()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(users, func(u oauthserver.User) bool { return u.Name == name }) {
		return a.secrets.Delete(ctx, keyFirstPassword) // the user was removed meanwhile
	}
	a.firstUser, a.firstPassword = name, pw
	return nil
}

// overrideFolder makes the built-in server share root from now on (creating
// the folder, and the server if it was removed).
func (a *App) overrideFolder(root string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("the folder %s: %w", a.opts.FilesRoot, err)
	}
	cfg, err := a.cfg.server(BuiltinName)
	create := errors.Is(err, ErrServerNotFound)
	switch {
	case create:
		cfg = ServerConfig{Name: BuiltinName, Kind: KindBuiltin, Enabled: true}
	case err != nil:
		return err
	case cfg.Kind != KindBuiltin:
		return fmt.Errorf("%w: --folder: the server %q is not the built-in one; remove it first", ErrInvalidConfig, BuiltinName)
	case cfg.Root == root:
		return nil
	}
	if err := builtin.EnsureFolder(root); err != nil {
		return fmt.Errorf("create the shared folder %s: %w", root, err)
	}
	cfg.Root = root
	if err := a.cfg.putServer(cfg, create); err != nil {
		return err
	}
	a.folderSet = root
	a.log.Info("the built-in server shares another folder", "server", BuiltinName, "folder", root)
	return a.refreshEnabled()
}

func (a *App) loadSettings() (st Settings, first bool, err error) {
	err = a.db.View(func(tx *bolt.Tx) error {
		first = tx.Bucket(bucketSettings).Get(keySettings) == nil
		return nil
	})
	if err != nil {
		return st, false, err
	}
	st, err = a.cfg.settings()
	return st, first, err
}

// firstRun stores default settings and the built-in server.
func (a *App) firstRun() error {
	root := a.opts.FilesRoot
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("find the home folder for the built-in server: %w", err)
		}
		root = filepath.Join(home, "MCP Share")
	}
	if err := builtin.EnsureFolder(root); err != nil {
		return fmt.Errorf("create the shared folder %s: %w", root, err)
	}
	files := ServerConfig{Name: BuiltinName, Kind: KindBuiltin, Enabled: true, Root: root}
	if err := a.cfg.putServer(files, true); err != nil && !errors.Is(err, ErrServerExists) {
		return err
	}
	return a.cfg.putSettings(defaultSettings())
}

func (a *App) applyOverrides(st Settings) (Settings, error) {
	o := a.opts
	for dst, v := range map[*string]string{
		&st.Addr: o.Addr, &st.Approval: o.Approval, &st.Tunnel: o.Tunnel,
		&st.PublicURL: o.PublicURL, &st.NgrokDomain: o.NgrokDomain,
	} {
		if v != "" {
			*dst = v
		}
	}
	if o.PublicURL != "" && o.Tunnel == "" {
		st.Tunnel = TunnelCustom
	}
	if err := st.Validate(); err != nil {
		return st, err
	}
	return st, nil
}

// Close stops sharing and releases the database. The App is unusable afterwards.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	stopErr := a.Stop(ctx)
	if a.auth != nil {
		a.auth.Close()
	}
	return errors.Join(stopErr, a.gov.close(), a.db.Close())
}

// ConfigDir is the directory this App was opened on.
func (a *App) ConfigDir() string { return a.opts.ConfigDir }

// Subscribe registers fn for every event until cancel is called. fn runs in
// the goroutine that caused the event and must return quickly.
func (a *App) Subscribe(fn func(Event)) (cancel func()) { return a.events.subscribe(fn) }

// FirstRunCredentials returns the first user and its generated password
// while the owner has not seen it yet (see FirstPasswordSeen); both are
// empty otherwise. It survives restarts in the secret store.
func (a *App) FirstRunCredentials() (user, password string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.firstUser, a.firstPassword
}

// FirstPasswordSeen forgets the first user's generated password: the owner
// has copied it, or it was printed on their terminal.
func (a *App) FirstPasswordSeen(ctx context.Context) error {
	a.mu.Lock()
	a.firstUser, a.firstPassword = "", ""
	a.mu.Unlock()
	if err := a.secrets.Delete(ctx, keyFirstPassword); err != nil {
		return fmt.Errorf("forget the first password: %w", err)
	}
	return nil
}

// SetPassword gives a user a new password; for the first user it also
// forgets the generated one.
func (a *App) SetPassword(ctx context.Context, user, password string) error {
	if err := a.auth.SetPassword(user, password); err != nil {
		return err
	}
	if first, _ := a.FirstRunCredentials(); first == user {
		return a.FirstPasswordSeen(ctx)
	}
	return nil
}

// FolderOverride returns the folder Options.FilesRoot gave the built-in
// server on this run, when it was another than the stored one.
func (a *App) FolderOverride() (root string, changed bool) {
	return a.folderSet, a.folderSet != ""
}

// SetBuiltinFolder makes the built-in server share root (creating the
// folder when missing); a running instance ends, so the next session sees
// the new folder.
func (a *App) SetBuiltinFolder(ctx context.Context, root string) error {
	cfg, err := a.cfg.server(BuiltinName)
	if err != nil {
		return err
	}
	if root, err = filepath.Abs(root); err != nil {
		return fmt.Errorf("the folder %s: %w", root, err)
	}
	if err := builtin.EnsureFolder(root); err != nil {
		return fmt.Errorf("create the shared folder %s: %w", root, err)
	}
	cfg.Root = root
	return a.UpdateServer(ctx, cfg, nil)
}

// Settings returns the effective settings of this run.
func (a *App) Settings() Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.settings
}

// StoredSettings returns the settings as saved, without this run's
// command-line overrides: what a settings form edits.
func (a *App) StoredSettings() Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stored
}

// SaveSettings validates and stores st; it applies from the next Start (the
// approval policy applies at once). This run's command-line overrides still
// win over the saved values, and are never saved.
// Choosing ngrok without an authtoken (stored or in NGROK_AUTHTOKEN) is
// refused with ErrNgrokToken.
func (a *App) SaveSettings(st Settings) error {
	eff, err := a.applyOverrides(st)
	if err != nil {
		return err
	}
	if st.Tunnel == TunnelNgrok && a.StoredSettings().Tunnel != TunnelNgrok {
		ctx, cancel := context.WithTimeout(context.Background(), firstRunTimeout)
		defer cancel()
		ok, err := a.NgrokReady(ctx)
		if err != nil {
			return fmt.Errorf("read the ngrok authtoken: %w", err)
		}
		if !ok {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, ErrNgrokToken)
		}
	}
	if err := a.cfg.putSettings(st); err != nil {
		return err
	}
	a.mu.Lock()
	a.stored, a.settings = st, eff
	a.mu.Unlock()
	a.auth.SetPolicy(oauthserver.Policy(eff.Approval))
	return nil
}

// Auth gives the command line and the GUI the user, client and sign-in
// operations of the authorization server. Remove users and revoke clients
// through App.RemoveUser and App.RevokeClient instead, which also forget
// what the app remembers of them.
func (a *App) Auth() *oauthserver.Server { return a.auth }

// Secrets is the store this App keeps its secrets in.
func (a *App) Secrets() secrets.Store { return a.secrets }

func (a *App) enabledNames() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.enabled)
}

func (a *App) refreshEnabled() error {
	all, err := a.cfg.servers()
	if err != nil {
		return err
	}
	var names []string
	for _, c := range all {
		if c.Enabled {
			names = append(names, c.Name)
		}
	}
	a.gov.rules.load(all)
	a.mu.Lock()
	a.enabled = names
	sh := a.share
	a.mu.Unlock()
	if sh != nil {
		sh.gw.PolicyChanged()
	}
	return nil
}
