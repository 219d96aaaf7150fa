// Package config owns Tandem's start-up configuration: command-line flags
// with TANDEM_* environment variables as their defaults.
package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is everything a process needs before it can open the database.
type Config struct {
	Addr          string // HTTP listen address
	DataDir       string // SQLite file and key file live here
	DatabaseURL   string // postgres://… selects PostgreSQL; empty means SQLite in DataDir
	SecretKey     string // base64 of 32 bytes; empty means DataDir/secret.key
	AdminEmail    string
	AdminPassword string
	LogLevel      string
	Workers       int // job workers in this process

	// MustExist makes the process refuse to start without a database set
	// up by `serve` or `migrate` (and without its key) rather than create
	// one: for the commands that only use a database. Not a flag.
	MustExist bool
	// Serving marks a long-running server process (`serve`), which keeps
	// part of its PostgreSQL pool open from the start. Not a flag.
	Serving bool
}

// Postgres reports whether the configuration selects PostgreSQL.
func (c *Config) Postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// SQLitePath is the database file used when PostgreSQL is not selected.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "tandem.db") }

// Register binds the flags to fs with environment defaults read from getenv.
func (c *Config) Register(fs *flag.FlagSet, getenv func(string) string) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("TANDEM_ADDR", "127.0.0.1:8080"), "HTTP listen address (TANDEM_ADDR)")
	fs.StringVar(&c.DataDir, "data", env("TANDEM_DATA", "./data"), "data folder for the SQLite file and key file (TANDEM_DATA)")
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("TANDEM_DATABASE_URL"), "postgres:// URL; empty uses SQLite (TANDEM_DATABASE_URL)")
	fs.StringVar(&c.LogLevel, "log-level", env("TANDEM_LOG_LEVEL", "info"), "debug, info, warn or error (TANDEM_LOG_LEVEL)")
	fs.IntVar(&c.Workers, "workers", 10, "job workers in this process")
	c.SecretKey = getenv("TANDEM_SECRET_KEY")
	c.AdminEmail = getenv("TANDEM_ADMIN_EMAIL")
	c.AdminPassword = getenv("TANDEM_ADMIN_PASSWORD")
}

// Validate checks what flags cannot.
func (c *Config) Validate() error {
	if c.DatabaseURL != "" && !c.Postgres() {
		return fmt.Errorf("TANDEM_DATABASE_URL must start with postgres:// (got scheme of %q)", redactURL(c.DatabaseURL))
	}
	if c.DataDir == "" {
		return fmt.Errorf("data folder must not be empty")
	}
	if c.Workers < 0 {
		return fmt.Errorf("workers must be zero or more")
	}
	return nil
}

// Load parses args (without the program and subcommand names) into a Config.
func Load(fs *flag.FlagSet, args []string) (*Config, error) {
	c := &Config{}
	c.Register(fs, os.Getenv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

// redactURL keeps a URL's scheme only, so a password never reaches a log.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[:i] + "://…"
	}
	return "…"
}
