// C interface of landmarks.cc: dlib's HOG face detector and 68-point shape
// predictor without the descriptor network, for the frames of a challenge
// that need landmarks only (see landmarks.go).
#ifndef FACEAUTH_LANDMARKS_H
#define FACEAUTH_LANDMARKS_H

#ifdef __cplusplus
extern "C" {
#endif

#define FACEAUTH_LM_MAX_FACES 8
#define FACEAUTH_LM_POINTS 68

typedef struct faceauth_lm_model faceauth_lm_model;
typedef struct faceauth_lm_detector faceauth_lm_detector;

typedef struct {
	// faces is the number of faces found (it may exceed
	// FACEAUTH_LM_MAX_FACES; only that many are described).
	int faces;
	// rects: left, top, right, bottom per face; points: x, y per point per
	// face. Faces are sorted like go-face sorts them (dlib rectangle order).
	long rects[FACEAUTH_LM_MAX_FACES * 4];
	long points[FACEAUTH_LM_MAX_FACES * FACEAUTH_LM_POINTS * 2];
	// parts is the landmark count of the shape predictor.
	int parts;
	// err is a malloc'd message (free it) or NULL.
	char* err;
} faceauth_lm_result;

// faceauth_lm_model_load loads the shape predictor; NULL with *err set
// (malloc'd) on failure. The model is read-only and shared by detectors.
faceauth_lm_model* faceauth_lm_model_load(const char* path, char** err);
void faceauth_lm_model_free(faceauth_lm_model* m);

// A detector is used by one goroutine at a time (dlib's scanner keeps
// scratch state). NULL when it cannot be allocated.
faceauth_lm_detector* faceauth_lm_detector_new(const faceauth_lm_model* m);
void faceauth_lm_detector_free(faceauth_lm_detector* d);

// faceauth_lm_detect decodes a JPEG (libjpeg, as go-face does), finds the
// faces and their landmarks.
void faceauth_lm_detect(faceauth_lm_detector* d, const unsigned char* jpeg, long len, faceauth_lm_result* out);

#ifdef __cplusplus
}
#endif
#endif
