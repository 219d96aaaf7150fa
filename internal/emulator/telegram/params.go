package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxUploadSize is the Bot API's upload limit for a request (50 MB), plus
// room for the other form fields.
const maxUploadSize = 50<<20 + 1<<20

// params are a method call's arguments. As the real server, it takes them
// from the query string and from the body — JSON (nested objects and
// arrays kept as their JSON text), form-urlencoded or multipart, whose
// file parts are kept apart.
type params struct {
	v     map[string]string
	files map[string]*upload
}

// upload is a file part of a multipart request.
type upload struct {
	name     string
	mimeType string
	data     []byte
}

func (p *params) str(k string) string { return p.v[k] }

func (p *params) has(k string) bool { _, ok := p.v[k]; return ok }

// int reads an integer as the real server does: absent or empty is def,
// otherwise the leading sign and digits (garbage reads as 0), then
// clamped to [lo, hi].
func (p *params) int(k string, def, lo, hi int64) int64 {
	s := strings.TrimSpace(p.v[k])
	n := def
	if s != "" {
		n = looseInt(s)
	}
	return min(max(n, lo), hi)
}

// looseInt parses the leading [+-]digits of s; anything else reads 0.
func looseInt(s string) int64 {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// bool reads a flag: "true", "1" or "yes" (any case) is true.
func (p *params) bool(k string) bool {
	switch strings.ToLower(strings.TrimSpace(p.v[k])) {
	case "true", "1", "yes":
		return true
	}
	return false
}

func readParams(r *http.Request) (*params, *apiError) {
	p := &params{v: map[string]string{}, files: map[string]*upload{}}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p.v[k] = vs[len(vs)-1]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := http.MaxBytesReader(nil, r.Body, maxUploadSize)
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(body, ctParams["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, requestErr(err)
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return nil, requestErr(err)
			}
			if part.FileName() != "" {
				p.files[part.FormName()] = &upload{name: part.FileName(), mimeType: part.Header.Get("Content-Type"), data: data}
			} else {
				p.v[part.FormName()] = string(data)
			}
		}
	case "application/x-www-form-urlencoded":
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, requestErr(err)
		}
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, badRequest("can't parse request body")
		}
		for k, vs := range vals {
			p.v[k] = vs[len(vs)-1]
		}
	default:
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, requestErr(err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return p, nil
		}
		if ct != "application/json" {
			// The real server ignores a body it cannot type.
			return p, nil
		}
		if aerr := p.addJSON(data); aerr != nil {
			return nil, aerr
		}
	}
	return p, nil
}

// addJSON adds the fields of a JSON object: strings unquoted, everything
// else (numbers, booleans, objects, arrays) as its JSON text.
func (p *params) addJSON(data []byte) *apiError {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return badRequest("can't parse JSON object")
	}
	for k, raw := range obj {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			p.v[k] = s
			continue
		}
		if string(raw) == "null" {
			continue
		}
		p.v[k] = string(raw)
	}
	return nil
}

func requestErr(err error) *apiError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{code: http.StatusRequestEntityTooLarge, desc: "Request Entity Too Large"}
	}
	return badRequest("can't read request body")
}

// paramsFromValues builds params from a webhook reply's fields.
func paramsFromJSON(data []byte) (*params, error) {
	p := &params{v: map[string]string{}, files: map[string]*upload{}}
	if aerr := p.addJSON(data); aerr != nil {
		return nil, aerr
	}
	return p, nil
}
