package faceauth

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
)

// Capture parameters the engine is tuned for (see docs/face-engine.md): the
// page sends 640x480 frames at 5 fps, at most 40 (8 s, enough for a
// neutral start and three actions). Landmarks are found on a copy
// downscaled to a 320-pixel long side; the screen-replay cues read the
// face region at the frames' own resolution, which is why frames smaller
// than the capture size are refused (CodeLowResolution).
const (
	CaptureWidth  = 640
	CaptureHeight = 480
	CaptureFPS    = 5
)

// DefaultLimits are the input limits of a challenge upload. Frames may be
// larger than the capture size (up to 1280x960), never smaller.
func DefaultLimits() Limits {
	return Limits{
		MaxFrames: 40,
		MinFrames: 8,
		// a 640x480 camera frame is 40-120 KiB as JPEG, up to ~700 KiB as PNG
		MaxFrameBytes: 1 << 20,
		MaxPixels:     1280 * 960,
		FrameWidth:    CaptureWidth,
		FrameHeight:   CaptureHeight,
		FPS:           CaptureFPS,
	}
}

// DefaultEnrolImageLimits are the per-image limits of EnrolFromImages
// (uploaded photos rather than camera frames).
func DefaultEnrolImageLimits() Limits {
	return Limits{
		MaxFrames:     10,
		MinFrames:     1,
		MaxFrameBytes: 8 << 20,
		MaxPixels:     4096 * 4096,
	}
}

// Stable InputError codes.
const (
	CodeUnsupportedFormat = "unsupported_format"
	CodeFrameTooLarge     = "frame_too_large"
	CodeTooManyFrames     = "too_many_frames"
	CodeTooFewFrames      = "too_few_frames"
	CodeNoFace            = "no_face"
	CodeSeveralFaces      = "several_faces"
	CodeFaceTooSmall      = "face_too_small"
	CodeTooDark           = "too_dark"
	CodeTooBlurred        = "too_blurred"
	CodeNotFrontal        = "not_frontal"
	// CodeLowResolution: the frames are smaller than the capture size, or
	// the face in them has too few native pixels for the screen-replay
	// cues; never judged on such frames.
	CodeLowResolution = "low_resolution"
)

var codeMessages = map[string]string{
	CodeUnsupportedFormat: "Only JPEG or PNG images are accepted.",
	CodeFrameTooLarge:     "An image is too large.",
	CodeTooManyFrames:     "Too many frames were sent.",
	CodeTooFewFrames:      "Too few frames were sent; keep your face in view until the capture ends.",
	CodeNoFace:            "No face was found. Face the camera in good light.",
	CodeSeveralFaces:      "More than one face is in view. Only you should be in the picture.",
	CodeFaceTooSmall:      "Your face is too small in the picture. Move closer to the camera.",
	CodeTooDark:           "The picture is too dark. Turn on a light or face a window.",
	CodeTooBlurred:        "The picture is too blurred. Hold still and clean the camera lens.",
	CodeNotFrontal:        "Look straight into the camera.",
	CodeLowResolution:     "The camera picture is too small to check that a real face is in front of it. Use a camera of at least 640x480 and keep your face close to it.",
}

func inputError(code string, frame int, detail string) *InputError {
	msg := codeMessages[code]
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return &InputError{Code: code, Message: msg, Frame: frame}
}

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// checkFrameCount enforces the frame count limits.
func checkFrameCount(n int, lim Limits) error {
	if n > lim.MaxFrames {
		return inputError(CodeTooManyFrames, -1, fmt.Sprintf("%d frames, at most %d", n, lim.MaxFrames))
	}
	if n < lim.MinFrames {
		return inputError(CodeTooFewFrames, -1, fmt.Sprintf("%d frames, at least %d", n, lim.MinFrames))
	}
	return nil
}

// checkHeader checks one image by content (magic bytes, then its header via
// DecodeConfig, so a decompression bomb is refused before it is decoded).
func checkHeader(b []byte, idx int, lim Limits) error {
	_, err := frameConfig(b, idx, lim)
	return err
}

// decodeFrame checks one image's header and decodes it (into buffers from
// bufs, which may be nil).
func decodeFrame(b []byte, idx int, lim Limits, bufs *buffers) (image.Image, error) {
	isJPEG, err := frameConfig(b, idx, lim)
	if err != nil {
		return nil, err
	}
	var img image.Image
	if isJPEG {
		img, err = decodeJPEG(b, bufs)
	} else {
		img, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, inputError(CodeUnsupportedFormat, idx, "the image is damaged")
	}
	return img, nil
}

func frameConfig(b []byte, idx int, lim Limits) (isJPEG bool, err error) {
	if int64(len(b)) > lim.MaxFrameBytes {
		return false, inputError(CodeFrameTooLarge, idx, fmt.Sprintf("%d bytes, at most %d", len(b), lim.MaxFrameBytes))
	}
	var cfg image.Config
	isJPEG = bytes.HasPrefix(b, jpegMagic)
	switch {
	case isJPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case bytes.HasPrefix(b, pngMagic):
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	default:
		return false, inputError(CodeUnsupportedFormat, idx, "")
	}
	if err != nil {
		return false, inputError(CodeUnsupportedFormat, idx, "the image is damaged")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > lim.MaxPixels {
		return false, inputError(CodeFrameTooLarge, idx, fmt.Sprintf("%dx%d pixels, at most %d pixels", cfg.Width, cfg.Height, lim.MaxPixels))
	}
	if tooSmall(cfg.Width, cfg.Height, lim) {
		return false, inputError(CodeLowResolution, idx, fmt.Sprintf("the picture is %dx%d pixels, at least %dx%d are needed", cfg.Width, cfg.Height, lim.FrameWidth, lim.FrameHeight))
	}
	return isJPEG, nil
}

// tooSmall reports whether a w x h frame, in either orientation, is smaller
// than the capture size lim asks for (limits without a capture size, such
// as enrolment photos', accept any size).
func tooSmall(w, h int, lim Limits) bool {
	if lim.FrameWidth <= 0 || lim.FrameHeight <= 0 {
		return false
	}
	long, short := max(lim.FrameWidth, lim.FrameHeight), min(lim.FrameWidth, lim.FrameHeight)
	return max(w, h) < long || min(w, h) < short
}
