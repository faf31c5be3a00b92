// libjpeg-turbo decoding to YCbCr planes and encoding from RGBA. Errors
// and warnings (corrupt data that libjpeg would otherwise paper over) end
// the call through longjmp with the library's own message; nothing here
// calls exit().
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "jpegio.h"

// maxScans bounds the scans of a progressive JPEG, whose cost grows with
// their number however small the image (libjpeg-turbo's own tools use the
// same limit).
#define MAX_SCANS 500

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
} err_mgr;

static void on_error(j_common_ptr c) {
	err_mgr* e = (err_mgr*)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// on_message turns warnings (level -1) into errors and drops trace output.
static void on_message(j_common_ptr c, int level) {
	if (level < 0) on_error(c);
}

static void on_progress(j_common_ptr c) {
	if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > MAX_SCANS) {
		err_mgr* e = (err_mgr*)c->err;
		snprintf(e->msg, sizeof e->msg, "more than %d scans", MAX_SCANS);
		longjmp(e->jump, 1);
	}
}

static char* dup_message(const char* s) {
	size_t n = strlen(s) + 1;
	char* out = (char*)malloc(n);
	if (out != NULL) memcpy(out, s, n);
	return out;
}

static void init_errors(err_mgr* e, struct jpeg_common_struct* c) {
	c->err = jpeg_std_error(&e->pub);
	e->pub.error_exit = on_error;
	e->pub.emit_message = on_message;
	e->msg[0] = 0;
}

// layout fills info from a decompressor that has read its header.
static void layout(j_decompress_ptr d, faceauth_jpeg_info* info) {
	memset(info, 0, sizeof(*info));
	info->width = (int)d->image_width;
	info->height = (int)d->image_height;
	if (d->num_components != 3 || d->jpeg_color_space != JCS_YCbCr) return;
	jpeg_component_info* c = d->comp_info;
	if (c[1].h_samp_factor != 1 || c[1].v_samp_factor != 1 || c[2].h_samp_factor != 1 || c[2].v_samp_factor != 1) return;
	int h = c[0].h_samp_factor, v = c[0].v_samp_factor;
	if (!((h == 1 || h == 2 || h == 4) && (v == 1 || v == 2))) return;
	int imcu_rows = (int)((d->image_height + (unsigned)(v * DCTSIZE) - 1) / (unsigned)(v * DCTSIZE));
	info->ycbcr = 1;
	info->h_samp = h;
	info->v_samp = v;
	info->y_stride = (int)c[0].width_in_blocks * DCTSIZE;
	info->c_stride = (int)c[1].width_in_blocks * DCTSIZE;
	info->y_rows = imcu_rows * v * DCTSIZE;
	info->c_rows = imcu_rows * DCTSIZE;
}

char* faceauth_jpeg_probe(const unsigned char* data, long len, faceauth_jpeg_info* info) {
	struct jpeg_decompress_struct d;
	err_mgr e;
	init_errors(&e, (struct jpeg_common_struct*)&d);
	if (setjmp(e.jump)) {
		jpeg_destroy_decompress(&d);
		return dup_message(e.msg);
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, data, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	layout(&d, info);
	jpeg_destroy_decompress(&d);
	return NULL;
}

char* faceauth_jpeg_decode_ycbcr(const unsigned char* data, long len, unsigned char* y, unsigned char* cb, unsigned char* cr) {
	struct jpeg_decompress_struct d;
	struct jpeg_progress_mgr progress;
	err_mgr e;
	JSAMPROW rows[3][4 * DCTSIZE];
	init_errors(&e, (struct jpeg_common_struct*)&d);
	if (setjmp(e.jump)) {
		jpeg_destroy_decompress(&d);
		return dup_message(e.msg);
	}
	jpeg_create_decompress(&d);
	progress.progress_monitor = on_progress;
	d.progress = &progress;
	jpeg_mem_src(&d, data, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	faceauth_jpeg_info info;
	layout(&d, &info);
	if (!info.ycbcr) {
		jpeg_destroy_decompress(&d);
		return dup_message("not a YCbCr JPEG with 1x1 chroma");
	}
	d.raw_data_out = TRUE;
	d.out_color_space = JCS_YCbCr;
	jpeg_start_decompress(&d);
	int lines = info.v_samp * DCTSIZE; // luma rows per iMCU row
	JSAMPARRAY planes[3] = {rows[0], rows[1], rows[2]};
	for (int r = 0; r < info.y_rows; r += lines) {
		int cr0 = r / info.v_samp;
		for (int k = 0; k < lines; k++) rows[0][k] = y + (size_t)(r + k) * info.y_stride;
		for (int k = 0; k < DCTSIZE; k++) {
			rows[1][k] = cb + (size_t)(cr0 + k) * info.c_stride;
			rows[2][k] = cr + (size_t)(cr0 + k) * info.c_stride;
		}
		if (jpeg_read_raw_data(&d, planes, (JDIMENSION)lines) == 0) {
			jpeg_destroy_decompress(&d);
			return dup_message("decoder stalled");
		}
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	return NULL;
}

char* faceauth_jpeg_encode_rgbx(const unsigned char* pix, int width, int height, int stride, int quality,
                                unsigned char** out, unsigned long* out_len) {
	struct jpeg_compress_struct c;
	err_mgr e;
	*out = NULL;
	*out_len = 0;
	init_errors(&e, (struct jpeg_common_struct*)&c);
	if (setjmp(e.jump)) {
		jpeg_destroy_compress(&c);
		free(*out);
		*out = NULL;
		*out_len = 0;
		return dup_message(e.msg);
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, out, out_len);
	c.image_width = (JDIMENSION)width;
	c.image_height = (JDIMENSION)height;
	c.input_components = 4;
	c.in_color_space = JCS_EXT_RGBX;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(pix + (size_t)c.next_scanline * stride);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return NULL;
}
