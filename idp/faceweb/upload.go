package faceweb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/idp/webapi"
)

// upload is a parsed answer: multipart/form-data with challenge_id,
// mirrored and one "frames" part per image. Frames stay in memory; nothing
// is written to disk.
type upload struct {
	challengeID string
	mirrored    bool
	frames      [][]byte
}

const maxFieldBytes = 1 << 10

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// readUpload parses and checks an answer upload against the engine's
// limits: content type, frame count, per-frame size and image format (by
// content, matching the declared type).
func readUpload(r *http.Request, lim faceauth.Limits) (*upload, *webapi.Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, &webapi.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Desc: "Send the frames as multipart/form-data."}
	}
	up := &upload{}
	var mirrored string
	if r.MultipartForm != nil {
		// Already parsed (CSRF token sent as a form field): walk the parsed form.
		if e := up.fromForm(r.MultipartForm, lim, &mirrored); e != nil {
			return nil, e
		}
	} else {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, errBadRequest("invalid_request", "The upload is not valid multipart/form-data.")
		}
		if e := up.fromReader(mr, lim, &mirrored); e != nil {
			return nil, e
		}
	}
	if up.challengeID == "" {
		return nil, errBadRequest("invalid_request", "challenge_id is missing.")
	}
	switch mirrored {
	case "", "false", "0":
	case "true", "1":
		up.mirrored = true
	default:
		return nil, errBadRequest("invalid_request", "mirrored must be true or false.")
	}
	if len(up.frames) < lim.MinFrames {
		return nil, errBadRequest("too_few_frames", fmt.Sprintf("At least %d frames are needed; %d were sent. Keep your face in view until the capture ends.", lim.MinFrames, len(up.frames)))
	}
	return up, nil
}

func (up *upload) fromReader(mr *multipart.Reader, lim faceauth.Limits, mirrored *string) *webapi.Error {
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return readError(err)
		}
		name := p.FormName()
		if name == "frames" {
			if e := up.addFrame(p, p.Header.Get("Content-Type"), lim); e != nil {
				return e
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
		if err != nil {
			return readError(err)
		}
		if len(v) > maxFieldBytes {
			return errBadRequest("invalid_request", fmt.Sprintf("The field %q is too long.", truncate(name, 40)))
		}
		switch name {
		case "challenge_id":
			up.challengeID = string(v)
		case "mirrored":
			*mirrored = string(v)
		}
	}
}

func (up *upload) fromForm(form *multipart.Form, lim faceauth.Limits, mirrored *string) *webapi.Error {
	if v := form.Value["challenge_id"]; len(v) > 0 {
		up.challengeID = v[0]
	}
	if v := form.Value["mirrored"]; len(v) > 0 {
		*mirrored = v[0]
	}
	for _, fh := range form.File["frames"] {
		f, err := fh.Open()
		if err != nil {
			return readError(err)
		}
		e := up.addFrame(f, fh.Header.Get("Content-Type"), lim)
		f.Close()
		if e != nil {
			return e
		}
	}
	return nil
}

func (up *upload) addFrame(r io.Reader, contentType string, lim faceauth.Limits) *webapi.Error {
	n := len(up.frames)
	if n >= lim.MaxFrames {
		return errBadRequest("too_many_frames", fmt.Sprintf("At most %d frames may be sent.", lim.MaxFrames))
	}
	ct, magic, ok := frameType(contentType)
	if !ok {
		return &webapi.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_frame_type",
			Desc: fmt.Sprintf("Frame %d is %q; only image/jpeg and image/png are accepted.", n, truncate(contentType, 60))}
	}
	b, err := io.ReadAll(io.LimitReader(r, lim.MaxFrameBytes+1))
	if err != nil {
		return readError(err)
	}
	if int64(len(b)) > lim.MaxFrameBytes {
		return &webapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "frame_too_large",
			Desc: fmt.Sprintf("Frame %d is larger than %d bytes.", n, lim.MaxFrameBytes)}
	}
	if !bytes.HasPrefix(b, magic) {
		return &webapi.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_frame_type",
			Desc: fmt.Sprintf("Frame %d is not a %s image.", n, strings.TrimPrefix(ct, "image/"))}
	}
	up.frames = append(up.frames, b)
	return nil
}

// frameType is a frame's media type (Content-Type without parameters) and
// the magic bytes its body must start with; ok is false for any type but
// JPEG and PNG.
func frameType(contentType string) (ct string, magic []byte, ok bool) {
	ct, _, _ = mime.ParseMediaType(contentType)
	switch ct {
	case "image/jpeg":
		return ct, jpegMagic, true
	case "image/png":
		return ct, pngMagic, true
	}
	return ct, nil, false
}

func readError(err error) *webapi.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &webapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
			Desc: fmt.Sprintf("The upload is larger than %d bytes.", mbe.Limit)}
	}
	return errBadRequest("invalid_request", "The upload could not be read.")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
