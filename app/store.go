package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DBFile is the name of the database inside the config directory.
const DBFile = "mcpshare.db"

// lockTimeout bounds how long Open waits for another instance's file lock.
const lockTimeout = time.Second

// ErrAlreadyRunning is returned by Open when another MCP Share process holds
// the database of the same config directory.
var ErrAlreadyRunning = errors.New("MCP Share is already running with this config directory")

// ErrServerExists and ErrServerNotFound are returned by the server config methods.
var (
	ErrServerExists   = errors.New("a server with this name already exists")
	ErrServerNotFound = errors.New("no server with this name")
)

var (
	bucketSettings = []byte("app_settings")
	bucketServers  = []byte("app_servers")
	keySettings    = []byte("settings")
)

func openDB(dir string) (*bolt.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create config directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, DBFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s is locked): quit the other instance (tray menu: Quit) or use another --config-dir", ErrAlreadyRunning, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSettings, bucketServers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare database %s: %w", path, err)
	}
	return db, nil
}

// configStore reads and writes settings and server configs, one transaction per change.
type configStore struct{ db *bolt.DB }

func (s configStore) settings() (Settings, error) {
	st := defaultSettings()
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSettings).Get(keySettings)
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &st)
	})
	if err != nil {
		return st, fmt.Errorf("read settings: %w", err)
	}
	return st, nil
}

func (s configStore) putSettings(st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).Put(keySettings, v)
	})
}

func (s configStore) servers() ([]ServerConfig, error) {
	var out []ServerConfig
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketServers).ForEach(func(k, v []byte) error {
			var c ServerConfig
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("server %q: %w", k, err)
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read servers: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s configStore) server(name string) (ServerConfig, error) {
	var c ServerConfig
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketServers).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("%w: %q", ErrServerNotFound, name)
		}
		return json.Unmarshal(v, &c)
	})
	return c, err
}

// putServer stores c. With create set, an existing name is an error rather
// than an overwrite.
func (s configStore) putServer(c ServerConfig, create bool) error {
	if err := c.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServers)
		exists := b.Get([]byte(c.Name)) != nil
		if create && exists {
			return fmt.Errorf("%w: %q (remove it first or pick another name)", ErrServerExists, c.Name)
		}
		if !create && !exists {
			return fmt.Errorf("%w: %q", ErrServerNotFound, c.Name)
		}
		return b.Put([]byte(c.Name), v)
	})
}

// deleteServer deletes a server with the approvals remembered for its
// tools, so that a new server of the same name inherits none.
func (s configStore) deleteServer(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServers)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %q", ErrServerNotFound, name)
		}
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		return forgetRememberedTx(tx, func(k rememberKeyParts) bool { return k.server == name })
	})
}
