# faceidp: OpenID Connect provider with a face second factor.
#
#   docker build -t faceidp .
#   Fill the models volume once (serve refuses an incomplete one), from local files
#   (--copy: links would point into /src, which only that container sees):
#   docker run --rm -v faceidp-models:/models -v /path/to/shared/models:/src:ro faceidp \
#     models assemble --copy --dir /models --from /src
#   or from dlib's downloads (needs internet):
#   docker run --rm -v faceidp-models:/models faceidp models fetch --dir /models
#   (face.embedders: dlib+onnx: add the ONNX model you chose to /models, e.g.
#    faceidp models assemble --dir /models --onnx-model fr_feature.onnx; ONNX
#    Runtime's library is in the image)
#   docker run -p 8080:8080 -v faceidp-data:/var/lib/faceidp -v faceidp-models:/models \
#     -e FACEIDP_ISSUER=https://id.example.com -e FACEIDP_DATABASE_URL=postgres://... \
#     -e FACEIDP_SECRETS_... faceidp serve
#
# go-face and faceauth's landmarker compile dlib code with -march=native:
# run the image on the CPU family it was built on.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ libdlib-dev libblas-dev liblapack-dev libjpeg62-turbo-dev libopenblas0 \
 && rm -rf /var/lib/apt/lists/*
# go-face links -lcblas; Debian has no libcblas.so, the symbols are in the
# BLAS alternative (OpenBLAS once libopenblas0 is installed). A private
# directory, not an ldconfig path.
RUN mkdir -p /opt/cblas \
 && ln -s "/usr/lib/$(gcc -print-multiarch)/libblas.so.3" /opt/cblas/libcblas.so
ENV CGO_ENABLED=1 CGO_LDFLAGS=-L/opt/cblas
WORKDIR /src
# ONNX Runtime's shared library for face.embedders: dlib+onnx, fetched as
# the scripts do: `npm pack` of onnxruntime-node (no package scripts run),
# tarball and library checked against their SHA-256. The ONNX model itself
# is not put in the image (see the README on its provenance): the operator
# adds the model of their choice to the /models volume.
COPY scripts/lib.sh scripts/lib.sh
RUN bash -c 'source scripts/lib.sh && setup_onnxruntime' \
 && install -D -m 0644 .build/onnxruntime/libonnxruntime.so.1 /out/lib/libonnxruntime.so.1
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/faceidp ./cmd/faceidp

FROM debian:bookworm-slim
# libdlib-data holds the 68-point landmark model (iBUG 300-W training data:
# non-commercial use only; see README).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libdlib19.1 libopenblas0 libjpeg62-turbo liblapack3 libdlib-data ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /var/lib/faceidp --shell /usr/sbin/nologin faceidp \
 && mkdir -p /var/lib/faceidp /models \
 && chown faceidp:faceidp /var/lib/faceidp /models \
 && chmod 0700 /var/lib/faceidp
COPY --from=build /out/faceidp /usr/local/bin/faceidp
COPY --from=build /out/lib/libonnxruntime.so.1 /usr/local/lib/faceidp/libonnxruntime.so.1
ENV FACEIDP_DATA_DIR=/var/lib/faceidp \
    FACEIDP_FACE_MODELS_DIR=/models \
    FACEIDP_FACE_ONNX_RUNTIME_LIBRARY=/usr/local/lib/faceidp/libonnxruntime.so.1 \
    FACEIDP_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/faceidp", "/models"]
EXPOSE 8080
USER faceidp
ENTRYPOINT ["faceidp"]
CMD ["serve"]
