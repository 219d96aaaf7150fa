package telegram

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/gif" // decoders for uploaded photos
	"image/jpeg"
	_ "image/png"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// maxDownloadSize is the largest file getFile serves to bots (20 MB).
const maxDownloadSize = 20 << 20

// storedFile is a photo size or document, addressed by file_id and, for
// download, by file_path.
type storedFile struct {
	id, uniqueID string
	path         string
	kind         string // "photo" or "document"
	data         []byte
	name, mime   string
	width        int
	height       int
	sizes        []PhotoSize // photo: every size of the photo it belongs to
}

func (s *Server) randomID(prefix string, n int) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	for range n {
		sb.WriteByte(tokenAlphabet[s.rng.IntN(len(tokenAlphabet))])
	}
	return sb.String()
}

func (s *Server) newFileLocked(kind, ext string, data []byte) *storedFile {
	dir, idPrefix, uniquePrefix := "documents", "BQACAgIAAxkBAAI", "AgAD"
	if kind == "photo" {
		dir, idPrefix, uniquePrefix = "photos", "AgACAgIAAxkBAAI", "AQAD"
	}
	f := &storedFile{
		id:       s.randomID(idPrefix, 56),
		uniqueID: s.randomID(uniquePrefix, 12),
		path:     dir + "/file_" + strconv.Itoa(len(s.files)) + ext,
		kind:     kind,
		data:     data,
	}
	s.files[f.id] = f
	s.paths[f.path] = f
	return f
}

// photoSides are the longest sides Telegram scales a photo to.
var photoSides = []int{90, 320, 800, 1280}

// storePhotoLocked keeps a photo and returns its sizes: scaled-down ones
// for each of Telegram's steps below the original, then the original (at
// most 2560 px). Every size serves the uploaded bytes.
func (s *Server) storePhotoLocked(up *Upload) ([]PhotoSize, error) {
	data, w, h := up.Data, up.Width, up.Height
	if len(data) == 0 {
		if w <= 0 || h <= 0 {
			w, h = 640, 480
		}
		if long := max(w, h); long > 2560 { // Telegram keeps at most 2560 px
			w, h = max(1, w*2560/long), max(1, h*2560/long)
		}
		var err error
		if data, err = makeJPEG(w, h); err != nil {
			return nil, err
		}
	} else {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, errors.New("telegram emulator: the photo is not a JPEG, PNG or GIF image")
		}
		w, h = cfg.Width, cfg.Height
	}
	return s.photoSizesLocked(data, w, h), nil
}

func (s *Server) photoSizesLocked(data []byte, w, h int) []PhotoSize {
	long := max(w, h)
	var sizes []PhotoSize
	add := func(sw, sh int) {
		f := s.newFileLocked("photo", ".jpg", data)
		f.width, f.height, f.mime = sw, sh, "image/jpeg"
		sizes = append(sizes, PhotoSize{FileID: f.id, FileUniqueID: f.uniqueID, Width: sw, Height: sh, FileSize: len(data)})
	}
	for _, side := range photoSides {
		if long > side {
			add(max(1, w*side/long), max(1, h*side/long))
		}
	}
	if long > 2560 {
		add(max(1, w*2560/long), max(1, h*2560/long))
	} else {
		add(w, h)
	}
	for _, ps := range sizes {
		s.files[ps.FileID].sizes = sizes
	}
	return sizes
}

func makeJPEG(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x), uint8(y), 160, 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Server) storeDocumentLocked(up *Upload) (*Document, error) {
	if len(up.Data) == 0 {
		return nil, errors.New("telegram emulator: a document needs data")
	}
	if len(up.Data) > maxUploadSize {
		return nil, errors.New("telegram emulator: a document is at most 50 MB")
	}
	name := up.FileName
	if name == "" {
		name = "document"
	}
	mt := up.MimeType
	if mt == "" {
		mt = mime.TypeByExtension(path.Ext(name))
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	f := s.newFileLocked("document", path.Ext(name), up.Data)
	f.name, f.mime = name, mt
	return &Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: name, MimeType: mt, FileSize: len(up.Data)}, nil
}

func (s *Server) getFile(_ context.Context, _ *bot, p *params) (result, *apiError) {
	id := strings.TrimSpace(p.str("file_id"))
	s.mu.Lock()
	f := s.files[id]
	s.mu.Unlock()
	if f == nil {
		return result{}, badRequest("invalid file_id")
	}
	if len(f.data) > maxDownloadSize {
		return result{}, badRequest("file is too big")
	}
	return result{v: File{FileID: f.id, FileUniqueID: f.uniqueID, FileSize: len(f.data), FilePath: f.path}}, nil
}

// serveFile serves base/file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/file/bot")
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		writeError(w, errNotFound)
		return
	}
	if _, aerr := s.checkToken(rest[:slash]); aerr != nil {
		writeError(w, aerr)
		return
	}
	s.mu.Lock()
	f := s.paths[rest[slash+1:]]
	s.mu.Unlock()
	if f == nil || len(f.data) > maxDownloadSize {
		writeError(w, errNotFound)
		return
	}
	ct := f.mime
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	w.Write(f.data)
}

// inputFile resolves a send method's file argument: an uploaded part, an
// "attach://<name>" reference to one, or a file_id. The emulator fetches
// no HTTP URLs.
func (s *Server) inputFile(p *params, field, kind string) (*upload, *storedFile, *apiError) {
	if up, ok := p.files[field]; ok {
		return up, nil, nil
	}
	v := strings.TrimSpace(p.str(field))
	if v == "" {
		return nil, nil, badRequest("there is no " + field + " in the request")
	}
	if name, ok := strings.CutPrefix(v, "attach://"); ok {
		if up, ok := p.files[name]; ok {
			return up, nil, nil
		}
		return nil, nil, badRequest("wrong file identifier/HTTP URL specified")
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		return nil, nil, badRequest("failed to get HTTP URL content")
	}
	s.mu.Lock()
	f := s.files[v]
	s.mu.Unlock()
	if f == nil {
		return nil, nil, badRequest("wrong file identifier/HTTP URL specified")
	}
	if f.kind != kind {
		return nil, nil, badRequest("type of file mismatch")
	}
	return nil, f, nil
}
