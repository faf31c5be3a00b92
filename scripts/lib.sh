# shellcheck shell=bash
# Shared helpers for scripts/demo and scripts/test. Source it; do not run it.
#
# Everything here is idempotent and non-interactive: packages are checked
# with dpkg before apt-get is called, and apt-get update runs at most once,
# only when something is missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/.build"
SHARED="${FACEIDP_SHARED_DIR:-$(cd "$ROOT/.." && pwd)/shared}"
GO_MIN_MINOR=26 # Go 1.26 or newer

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# jpeg_dev_package prints the libjpeg-turbo development package's name:
# Debian calls it libjpeg62-turbo-dev, Ubuntu libjpeg-turbo8-dev.
jpeg_dev_package() {
  local id=""
  if [ -r /etc/os-release ]; then id="$(. /etc/os-release && echo "${ID:-} ${ID_LIKE:-}")"; fi
  case " $id " in
    *" ubuntu "*) echo libjpeg-turbo8-dev ;;
    *) echo libjpeg62-turbo-dev ;;
  esac
}

# What building faceidp (go-face/dlib via cgo) needs, and OpenBLAS for speed.
build_packages() {
  echo g++ libdlib-dev libdlib-data libblas-dev liblapack-dev libopenblas0 "$(jpeg_dev_package)" ca-certificates
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

APT_UPDATED=""
apt_install() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq -o Acquire::Retries=3 </dev/null
    APT_UPDATED=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null >/dev/null
}

# require_go puts Go on PATH and checks its version.
require_go() {
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || die "Go 1.$GO_MIN_MINOR or newer is required (https://go.dev/dl/); it is not on PATH"
  local v minor
  v="$(go env GOVERSION)"          # e.g. go1.26.8
  minor="$(echo "$v" | sed -E 's/^go1\.([0-9]+).*/\1/')"
  case "$minor" in ''|*[!0-9]*) die "cannot read the Go version ($v)";; esac
  [ "$minor" -ge "$GO_MIN_MINOR" ] || die "Go 1.$GO_MIN_MINOR or newer is required, found $v"
}

# setup_cblas makes $CBLAS_DIR/libcblas.so point at the system BLAS
# (libblas.so.3, which the alternatives system points at OpenBLAS once
# libopenblas0 is installed). go-face links -lcblas and Debian ships no
# libcblas.so; the cblas symbols are in libblas. The directory is private to
# the build (CGO_LDFLAGS), never an ldconfig path. It lives outside the
# checkout, at one path per user, because CGO_LDFLAGS is part of go-face's
# build-cache key: a per-checkout path would recompile dlib's bindings (5-15
# minutes) in every clone and worktree.
CBLAS_DIR="${FACEIDP_CBLAS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faceidp/cblas}"
setup_cblas() {
  local multiarch blas
  multiarch="$(gcc -print-multiarch 2>/dev/null || true)"
  blas="/usr/lib/${multiarch:-x86_64-linux-gnu}/libblas.so.3"
  [ -e "$blas" ] || die "$blas not found (is libblas-dev / libopenblas0 installed?)"
  mkdir -p "$CBLAS_DIR"
  ln -sfn "$blas" "$CBLAS_DIR/libcblas.so"
  # Once only: a second -L (a shell that already has it) would change the
  # cache key too.
  case " ${CGO_LDFLAGS:-} " in
    *" -L$CBLAS_DIR "*) ;;
    *) export CGO_LDFLAGS="-L$CBLAS_DIR${CGO_LDFLAGS:+ $CGO_LDFLAGS}" ;;
  esac
}

# GO_FACE is the package whose cgo build (dlib's C++ headers, compiled with
# g++) dominates a first build.
GO_FACE="github.com/Kagami/go-face"

# go_stale PKG prints true when PKG (built with the current environment,
# CGO_LDFLAGS included) is not in Go's build cache. `go list` only hashes
# the inputs; it compiles nothing, so this costs a second or two.
go_stale() {
  (cd "$ROOT" && go list -f '{{.Stale}}' "$1" 2>/dev/null) || echo true
}

# fmt_elapsed SECONDS prints e.g. 4m05s.
fmt_elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# build_faceidp builds .build/bin/faceidp. A first build compiles go-face's
# cgo bindings against dlib, which takes 5 to 15 minutes on a 2-core
# machine, longer when it is busy (30 on one shared by several builds): that
# is said up front, and while it runs every package go build starts is
# printed with the elapsed time, plus a "still building" line every 30 s. A cached build says nothing more
# than that it is building.
build_faceidp() {
  local out="$BUILD/bin/faceidp" start=$SECONDS ticker rc=0
  mkdir -p "$BUILD/bin"
  if [ "$(go_stale "$GO_FACE")" = true ]; then
    log "first build: compiling dlib's face recognition bindings ($GO_FACE, C++)."
    log "this takes 5-15 minutes on a 2-core machine, longer when it is busy; later builds reuse Go's cache and take seconds"
    ( while sleep 30; do printf '    ... still building, %s elapsed\n' "$(fmt_elapsed $((SECONDS - start)))" >&2; done ) &
    ticker=$!
    # go build -v names each package as it starts building it.
    (
      set -o pipefail # the build's status, not the loop's
      (cd "$ROOT" && go build -v -o "$out" ./cmd/faceidp 2>&1) |
        while IFS= read -r line; do
          case "$line" in
            *" "* | "") printf '%s\n' "$line" >&2 ;; # compiler output: as is
            *) printf '    %s  %s\n' "$(fmt_elapsed $((SECONDS - start)))" "$line" >&2 ;;
          esac
        done
    ) || rc=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    [ "$rc" -eq 0 ] || die "go build failed (exit $rc); see the messages above"
    log "built faceidp in $(fmt_elapsed $((SECONDS - start)))"
  else
    log "building faceidp (dlib bindings cached)"
    (cd "$ROOT" && go build -o "$out" ./cmd/faceidp)
  fi
}

# assemble_models fills .build/models from $SHARED/models and Debian's
# 68-point landmark model, then adds the second embedder's files (the ONNX
# model and ONNX Runtime's library, see setup_onnxruntime and
# onnx_model_source), unless it is complete already.
assemble_models() {
  local dir="$BUILD/models"
  if ! "$BUILD/bin/faceidp" models check --dir "$dir" >/dev/null 2>&1; then
    if [ -d "$SHARED/models" ]; then
      log "assembling face models in $dir from $SHARED/models"
      "$BUILD/bin/faceidp" models assemble --dir "$dir" --from "$SHARED/models"
    else
      log "no $SHARED/models: fetching dlib's official models (needs internet)"
      "$BUILD/bin/faceidp" models fetch --dir "$dir"
    fi
  fi
  if ! "$BUILD/bin/faceidp" models check --dir "$dir" --embedders dlib+onnx >/dev/null 2>&1; then
    setup_onnxruntime
    local model
    model="$(onnx_model_source)"
    log "adding the ONNX face model and ONNX Runtime to $dir"
    "$BUILD/bin/faceidp" models assemble --dir "$dir" --onnx-model "$model" --onnxruntime "$ORT_LIBRARY" >/dev/null
  fi
}

# The second face embedder (face.embedders: dlib+onnx) needs ONNX Runtime's
# shared library and an ArcFace-style ONNX model. Debian packages neither;
# both come from npm registry packages, fetched with `npm pack` (which only
# downloads the tarball and runs none of the package's scripts), checked
# against the SHA-256 sums in ../shared/models/README.md, and reduced to the
# one file needed.
ORT_NPM_PACKAGE="onnxruntime-node@1.24.1"
ORT_NPM_SHA256="57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772"
ORT_MEMBER="bin/napi-v6/linux/x64/libonnxruntime.so.1"
ORT_SHA256="53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4"
ORT_LIBRARY="$BUILD/onnxruntime/libonnxruntime.so.1"
ONNX_MODEL_NPM_PACKAGE="faceplugin-face-recognition-js@0.0.1"
ONNX_MODEL_NPM_SHA256="7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba"
ONNX_MODEL_MEMBER="model/fr_feature.onnx"
ONNX_MODEL_SHA256="87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# npm_extract PACKAGE TARBALL_SHA256 MEMBER MEMBER_SHA256 OUT: unless OUT
# already has MEMBER_SHA256, `npm pack` PACKAGE into a temporary directory,
# check the tarball, extract MEMBER alone, check it and move it to OUT.
npm_extract() {
  local pkg="$1" tgz_sum="$2" member="$3" sum="$4" out="$5" tmp tgz
  if [ -f "$out" ] && [ "$(sha256_of "$out")" = "$sum" ]; then return 0; fi
  command -v npm >/dev/null 2>&1 || apt_install npm
  tmp="$(mktemp -d)"
  log "fetching $member from the npm package $pkg (npm pack; no package scripts run)"
  (cd "$tmp" && npm pack --ignore-scripts --silent "$pkg" >/dev/null) || { rm -rf "$tmp"; die "npm pack $pkg failed"; }
  tgz="$(ls "$tmp"/*.tgz)"
  if [ "$(sha256_of "$tgz")" != "$tgz_sum" ]; then
    rm -rf "$tmp"; die "npm package $pkg has sha256 $(sha256_of "$tgz"), want $tgz_sum; refusing it"
  fi
  tar -xzf "$tgz" -C "$tmp" --no-same-owner "package/$member" || { rm -rf "$tmp"; die "$pkg holds no $member"; }
  if [ "$(sha256_of "$tmp/package/$member")" != "$sum" ]; then
    rm -rf "$tmp"; die "$member from $pkg has sha256 $(sha256_of "$tmp/package/$member"), want $sum; refusing it"
  fi
  mkdir -p "$(dirname "$out")"
  chmod 0644 "$tmp/package/$member"
  mv -f "$tmp/package/$member" "$out"
  rm -rf "$tmp"
}

# setup_onnxruntime puts ONNX Runtime 1.24.1's libonnxruntime.so.1 (what
# github.com/yalue/onnxruntime_go v1.27.0 is built for) in .build/onnxruntime.
setup_onnxruntime() {
  npm_extract "$ORT_NPM_PACKAGE" "$ORT_NPM_SHA256" "$ORT_MEMBER" "$ORT_SHA256" "$ORT_LIBRARY"
}

# onnx_model_source prints the fr_feature.onnx to install: ../shared/models'
# copy, or else the one from its npm package (in .build/onnx).
onnx_model_source() {
  if [ -f "$SHARED/models/fr_feature.onnx" ]; then
    echo "$SHARED/models/fr_feature.onnx"
    return 0
  fi
  npm_extract "$ONNX_MODEL_NPM_PACKAGE" "$ONNX_MODEL_NPM_SHA256" "$ONNX_MODEL_MEMBER" "$ONNX_MODEL_SHA256" "$BUILD/onnx/fr_feature.onnx"
  echo "$BUILD/onnx/fr_feature.onnx"
}
