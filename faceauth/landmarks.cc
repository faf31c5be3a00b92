// dlib face detection and landmarks without the descriptor network: the
// same detector, shape predictor and JPEG decoder go-face uses, so the two
// agree on every frame.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <dlib/image_loader/jpeg_loader.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/serialize.h>

#include "landmarks.h"

struct faceauth_lm_model {
	dlib::shape_predictor sp;
};

struct faceauth_lm_detector {
	const faceauth_lm_model* model;
	dlib::frontal_face_detector detector;
};

static char* copy_message(const char* prefix, const char* what) {
	std::string s = std::string(prefix) + what;
	char* out = (char*)malloc(s.size() + 1);
	if (out != NULL) memcpy(out, s.c_str(), s.size() + 1);
	return out;
}

faceauth_lm_model* faceauth_lm_model_load(const char* path, char** err) {
	*err = NULL;
	try {
		faceauth_lm_model* m = new faceauth_lm_model;
		try {
			dlib::deserialize(path) >> m->sp;
		} catch (...) {
			delete m;
			throw;
		}
		return m;
	} catch (std::exception& e) {
		*err = copy_message("load shape predictor: ", e.what());
	}
	return NULL;
}

void faceauth_lm_model_free(faceauth_lm_model* m) { delete m; }

faceauth_lm_detector* faceauth_lm_detector_new(const faceauth_lm_model* m) {
	try {
		faceauth_lm_detector* d = new faceauth_lm_detector;
		d->model = m;
		d->detector = dlib::get_frontal_face_detector();
		return d;
	} catch (std::exception&) {
		return NULL;
	}
}

void faceauth_lm_detector_free(faceauth_lm_detector* d) { delete d; }

void faceauth_lm_detect(faceauth_lm_detector* d, const unsigned char* jpeg, long len, faceauth_lm_result* out) {
	memset(out, 0, sizeof(*out));
	try {
		dlib::matrix<dlib::rgb_pixel> img;
		dlib::jpeg_loader loader(jpeg, (size_t)len);
		if (!loader.is_rgb()) {
			out->err = copy_message("decode: ", "not a 3-channel JPEG");
			return;
		}
		loader.get_image(img);
		std::vector<dlib::rectangle> rects = d->detector(img);
		std::sort(rects.begin(), rects.end());
		out->faces = (int)rects.size();
		out->parts = (int)d->model->sp.num_parts();
		if (out->parts > FACEAUTH_LM_POINTS) {
			out->err = copy_message("shape predictor: ", "more than 68 landmarks");
			return;
		}
		size_t n = std::min(rects.size(), (size_t)FACEAUTH_LM_MAX_FACES);
		for (size_t i = 0; i < n; i++) {
			const dlib::rectangle& r = rects[i];
			long* dr = out->rects + i * 4;
			dr[0] = r.left();
			dr[1] = r.top();
			dr[2] = r.right();
			dr[3] = r.bottom();
			dlib::full_object_detection shape = d->model->sp(img, r);
			long* dp = out->points + i * FACEAUTH_LM_POINTS * 2;
			for (unsigned long k = 0; k < shape.num_parts(); k++) {
				dp[2 * k] = shape.part(k).x();
				dp[2 * k + 1] = shape.part(k).y();
			}
		}
	} catch (std::exception& e) {
		out->err = copy_message("", e.what());
	} catch (...) {
		out->err = copy_message("", "unknown error in face detection");
	}
}
