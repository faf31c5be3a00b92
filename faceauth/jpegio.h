// JPEG decoding to YCbCr planes and encoding from RGBA pixels with
// libjpeg-turbo (the SIMD libjpeg dlib and go-face already link).
#ifndef FACEAUTH_JPEGIO_H
#define FACEAUTH_JPEGIO_H

#ifdef __cplusplus
extern "C" {
#endif

// faceauth_jpeg_info is what faceauth_jpeg_probe reads from a header.
typedef struct {
	int width, height;
	// ycbcr is set when the image is 3-component YCbCr with both chroma
	// components at sampling factor 1x1 and luma at one of the factors
	// Go's image.YCbCr can hold; the other fields below are then valid.
	int ycbcr;
	int h_samp, v_samp; // luma's sampling factors
	// y_stride and c_stride are the widths of the buffers the decoder
	// writes (whole DCT blocks); y_rows and c_rows are how many rows it
	// writes, past the image's own height into the buffer's padding.
	int y_stride, c_stride, y_rows, c_rows;
} faceauth_jpeg_info;

// faceauth_jpeg_probe reads the header of data. It returns NULL or a
// malloc'd message.
char* faceauth_jpeg_probe(const unsigned char* data, long len, faceauth_jpeg_info* info);

// faceauth_jpeg_decode_ycbcr decodes data into the planes, laid out as
// faceauth_jpeg_probe said (y: y_stride x y_rows, cb and cr: c_stride x
// c_rows). Corrupt data is an error, never a repaired image. It returns
// NULL or a malloc'd message.
char* faceauth_jpeg_decode_ycbcr(const unsigned char* data, long len, unsigned char* y, unsigned char* cb, unsigned char* cr);

// faceauth_jpeg_encode_rgbx encodes an RGBA (alpha ignored) image as a
// baseline 4:2:0 JPEG at quality into a malloc'd buffer (*out, *out_len;
// the caller frees it). It returns NULL or a malloc'd message.
char* faceauth_jpeg_encode_rgbx(const unsigned char* pix, int width, int height, int stride, int quality,
                                unsigned char** out, unsigned long* out_len);

#ifdef __cplusplus
}
#endif

#endif
