# faceidp: OpenID Connect provider with a face second factor.
#
#   docker build -t faceidp .
#   docker run --rm -v faceidp-models:/models faceidp models fetch --dir /models  # or mount an assembled dir
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
ENV FACEIDP_DATA_DIR=/var/lib/faceidp \
    FACEIDP_FACE_MODELS_DIR=/models \
    FACEIDP_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/faceidp", "/models"]
EXPOSE 8080
USER faceidp
ENTRYPOINT ["faceidp"]
CMD ["serve"]
