package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/crm"
)

// maxBody bounds request bodies; CRM records are small.
const maxBody = 1 << 20

// decodeError is a request the API cannot read.
type decodeError struct {
	key    string
	fields crm.FieldErrors
}

func (e *decodeError) Error() string { return "decode request: " + e.key }

// decode reads one JSON object into v strictly: unknown fields, wrong types,
// trailing data, text that is not valid Unicode and oversized bodies are
// errors that name the field.
func decode(r *http.Request, v any) error { return decodeMax(r, v, maxBody) }

// decodeMax is decode with another bound on the body (letters carry
// their attachments).
func decodeMax(r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// curl -d sends application/x-www-form-urlencoded; the body is still
		// read as JSON. Accepting it is safe: cookie-authenticated writes
		// need the X-CSRF-Token header, which a cross-site form cannot set.
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "application/x-www-form-urlencoded") {
			return &decodeError{key: "error.unsupported_media_type"}
		}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return jsonError(err)
	}
	if field, bad := findBadText(raw); bad {
		return &decodeError{key: "error.form", fields: crm.FieldErrors{field: "error.invalid_utf8"}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &decodeError{key: "error.malformed_json"}
	}
	if field := findNUL(reflect.ValueOf(v), ""); field != "" {
		return &decodeError{key: "error.form", fields: crm.FieldErrors{field: "error.invalid"}}
	}
	return nil
}

// findBadText reports whether raw holds text encoding/json would silently
// rewrite to U+FFFD — bytes that are not UTF-8, or a \u escape of a lone
// UTF-16 surrogate — and the JSON path of the string value holding the
// first of them ("emails[1].address"); "body" when it is not inside a
// string value (an object key, or outside any string). It reads the raw
// body because the decoded value no longer tells a rewritten byte from a
// U+FFFD the client meant.
func findBadText(raw []byte) (field string, bad bool) {
	invalid := !utf8.Valid(raw)
	if !invalid && !bytes.Contains(raw, []byte(`\ud`)) && !bytes.Contains(raw, []byte(`\uD`)) {
		return "", false // the common case: nothing to walk
	}
	// frame is one open object or array on the way to the current token.
	type frame struct {
		object bool
		key    string // object: the current member's name
		index  int    // array: the current element's index
		inKey  bool   // object: the next string is a member name
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if !f.object {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	valueDone := func() {
		if n := len(stack); n > 0 {
			if f := &stack[n-1]; f.object {
				f.inKey = true
			} else {
				f.index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			// Bad bytes outside any string are a syntax error; a body
			// that ends cleanly had them nowhere but where already seen.
			return "body", invalid
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, inKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			// Between tokens there is only white space, ',' and ':', so the
			// first quote after the previous token opens this string.
			seg := raw[start:dec.InputOffset()]
			quoted := seg[bytes.IndexByte(seg, '"'):]
			ok := validJSONString(quoted[1 : len(quoted)-1])
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].inKey {
				if !ok {
					return "body", true
				}
				stack[n-1].key, stack[n-1].inKey = t, false
				continue
			}
			if !ok {
				return path(), true
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// validJSONString reports whether the inside of a JSON string literal (which
// the decoder has already found well-formed) is UTF-8 whose \u escapes pair
// every UTF-16 surrogate.
func validJSONString(s []byte) bool {
	if !utf8.Valid(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if s[i+1] != 'u' {
			i++
			continue
		}
		r := hex4(s[i+2 : i+6])
		i += 5
		switch {
		case r >= 0xDC00 && r < 0xE000:
			return false // a low surrogate with no high one before it
		case r >= 0xD800 && r < 0xDC00:
			if i+6 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
				return false
			}
			if lo := hex4(s[i+3 : i+7]); lo < 0xDC00 || lo >= 0xE000 {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}

// findNUL returns the JSON path of the first string holding a NUL
// character. JSON allows "\u0000", PostgreSQL text does not, and no field
// of ours has a use for it.
func findNUL(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return findNUL(v.Elem(), path)
	case reflect.String:
		if strings.ContainsRune(v.String(), 0) {
			if path == "" {
				return "body"
			}
			return path
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if f := findNUL(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); f != "" {
				return f
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if f := findNUL(k, path); f != "" {
				return f
			}
			if f := findNUL(v.MapIndex(k), path+"."+fmt.Sprint(k)); f != "" {
				return f
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = strings.ToLower(t.Field(i).Name)
			}
			if path != "" {
				name = path + "." + name
			}
			if f := findNUL(v.Field(i), name); f != "" {
				return f
			}
		}
	}
	return ""
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	var fe *fieldErr
	switch {
	case errors.As(err, &big):
		return &decodeError{key: "error.too_large"}
	case errors.As(err, &syn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &decodeError{key: "error.malformed_json"}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &decodeError{key: "error.form", fields: crm.FieldErrors{field: "error.wrong_type"}}
	case errors.As(err, &fe):
		return &decodeError{key: "error.form", fields: crm.FieldErrors{fe.field: fe.key}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &decodeError{key: "error.form", fields: crm.FieldErrors{name: "error.unknown_field"}}
	default:
		return &decodeError{key: "error.malformed_json"}
	}
}

// fieldErr lets custom UnmarshalJSON methods report a field problem.
type fieldErr struct{ field, key string }

func (e *fieldErr) Error() string { return e.field + ": " + e.key }

func sortedKeys(m crm.FieldErrors) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// parseTime accepts RFC 3339 date-times and, for all-day items, bare dates.
// It returns nil for "" (clearing the field).
func parseTime(field, s string, fe crm.FieldErrors) *time.Time {
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	fe.Add(field, crm.ErrDate)
	return nil
}

func formatTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// tagIn accepts a tag as its id string or as an object with "id".
type tagIn struct{ ID string }

func (t *tagIn) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		t.ID = s
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.ID == "" {
		return &fieldErr{field: "tags", key: "error.wrong_type"}
	}
	t.ID = o.ID
	return nil
}

func tagRefs(in *[]tagIn) []crm.TagRef {
	out := make([]crm.TagRef, 0, len(*in))
	for _, t := range *in {
		out = append(out, crm.TagRef{ID: t.ID})
	}
	return out
}

type tagOut struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Color string `json:"color"`
}

func tagsOut(ts []crm.TagRef) []tagOut {
	out := make([]tagOut, 0, len(ts))
	for _, t := range ts {
		out = append(out, tagOut{ID: t.ID, Name: t.Name, Kind: t.Kind, Color: t.Color})
	}
	return out
}

type grantJSON struct {
	RoleID string `json:"role_id"`
	Level  string `json:"level"`
}

func grantsIn(in *[]grantJSON) []crm.Grant {
	out := make([]crm.Grant, 0, len(*in))
	for _, g := range *in {
		out = append(out, crm.Grant{RoleID: g.RoleID, Level: g.Level})
	}
	return out
}

func grantsOut(gs []crm.Grant) []grantJSON {
	out := make([]grantJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, grantJSON{RoleID: g.RoleID, Level: g.Level})
	}
	return out
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
