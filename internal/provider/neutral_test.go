package provider_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLayersNameNoProvider keeps the provider-neutral layers neutral:
// syncer, web/api, web/ui (its Go code, templates and static files) and
// web/hooks name no provider outside their tests. A provider is a package
// under internal/provider plus one registration in app.go. The import
// path of github.com/google/uuid names a library's publisher, not a
// provider, and is not counted. User-visible provider names come from the
// provider (DisplayName) or from message keys it chooses, in
// internal/i18n/messages.
func TestLayersNameNoProvider(t *testing.T) {
	word := regexp.MustCompile(`(?i)google`)
	for _, dir := range []string{"../syncer", "../web/api", "../web/ui", "../web/hooks"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
				return err
			}
			switch filepath.Ext(path) {
			case ".go", ".html", ".js", ".css":
			default:
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				line = strings.ReplaceAll(line, "github.com/google/uuid", "")
				if word.MatchString(line) {
					t.Errorf("%s:%d names a provider: %s", path, i+1, strings.TrimSpace(line))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
