package api

import (
	"reflect"
	"slices"
	"testing"
)

// TestOccurrenceSchemasMatchStructs holds the schemas of a series' changed
// occurrences to the Go types, like TestOpenAPISchemasMatchStructs does for
// the records.
func TestOccurrenceSchemasMatchStructs(t *testing.T) {
	schemas := openAPIJSON(t)["components"].(map[string]any)["schemas"].(map[string]any)
	for _, c := range []struct {
		schema   string
		value    any
		required []string
	}{
		{"Occurrence", occurrenceOut{}, nil}, // every field always sent
		{"OccurrenceInput", occurrenceIn{}, []string{"recurrence_id"}},
	} {
		s := schemas[c.schema].(map[string]any)
		names, omit := jsonFields(t, reflect.TypeOf(c.value))
		if got := keys(s["properties"].(map[string]any)); !slices.Equal(got, names) {
			t.Errorf("schema %s has properties %q, want %q", c.schema, got, names)
		}
		want := c.required
		if want == nil {
			for _, n := range names {
				if !omit[n] {
					want = append(want, n)
				}
			}
		}
		if got := strs(s["required"]); !slices.Equal(got, want) {
			t.Errorf("schema %s requires %q, want %q", c.schema, got, want)
		}
		if c.schema == "OccurrenceInput" && s["additionalProperties"] != false {
			t.Errorf("schema %s must forbid additional properties", c.schema)
		}
	}
}
