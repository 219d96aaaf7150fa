package config

import (
	"flag"
	"io"
	"testing"
)

func TestLoad(t *testing.T) {
	env := map[string]string{"TANDEM_ADDR": "0.0.0.0:9000", "TANDEM_DATA": "/var/lib/tandem",
		"TANDEM_DATABASE_URL": "postgres://u@h/db", "TANDEM_SECRET_KEY": "k", "TANDEM_ADMIN_EMAIL": "a@b.c"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name     string
		args     []string
		wantAddr string
		wantPG   bool
		wantErr  bool
	}{
		{"env", nil, "0.0.0.0:9000", true, false},
		{"flag wins", []string{"--addr", "127.0.0.1:1"}, "127.0.0.1:1", true, false},
		{"sqlite", []string{"--database-url", ""}, "0.0.0.0:9000", false, false},
		{"bad url", []string{"--database-url", "mysql://x"}, "", false, true},
		{"negative workers", []string{"--workers", "-1"}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c := &Config{}
			c.Register(fs, getenv)
			err := fs.Parse(tt.args)
			if err == nil {
				err = c.Validate()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if c.Addr != tt.wantAddr || c.Postgres() != tt.wantPG || c.SecretKey != "k" || c.AdminEmail != "a@b.c" {
				t.Errorf("config %+v", c)
			}
		})
	}
	c := &Config{DataDir: "/d"}
	if c.SQLitePath() != "/d/tandem.db" {
		t.Error(c.SQLitePath())
	}
	c.Register(flag.NewFlagSet("t", flag.ContinueOnError), func(string) string { return "" })
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" {
		t.Errorf("defaults %+v", c)
	}
}
