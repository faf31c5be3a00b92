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

# setup_cblas makes .build/cblas/libcblas.so point at the system BLAS
# (libblas.so.3, which the alternatives system points at OpenBLAS once
# libopenblas0 is installed). go-face links -lcblas and Debian ships no
# libcblas.so; the cblas symbols are in libblas. The directory is private to
# the build (CGO_LDFLAGS), never an ldconfig path.
setup_cblas() {
  local multiarch blas
  multiarch="$(gcc -print-multiarch 2>/dev/null || true)"
  blas="/usr/lib/${multiarch:-x86_64-linux-gnu}/libblas.so.3"
  [ -e "$blas" ] || die "$blas not found (is libblas-dev / libopenblas0 installed?)"
  mkdir -p "$BUILD/cblas"
  ln -sfn "$blas" "$BUILD/cblas/libcblas.so"
  export CGO_LDFLAGS="-L$BUILD/cblas${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
}

# build_faceidp builds .build/bin/faceidp.
build_faceidp() {
  log "building faceidp (the first build compiles dlib bindings: about a minute)"
  (cd "$ROOT" && go build -o "$BUILD/bin/faceidp" ./cmd/faceidp)
}

# assemble_models fills .build/models from $SHARED/models and Debian's
# 68-point landmark model, unless it is complete already.
assemble_models() {
  local dir="$BUILD/models"
  if "$BUILD/bin/faceidp" models check --dir "$dir" >/dev/null 2>&1; then return 0; fi
  if [ -d "$SHARED/models" ]; then
    log "assembling face models in $dir from $SHARED/models"
    "$BUILD/bin/faceidp" models assemble --dir "$dir" --from "$SHARED/models"
  else
    log "no $SHARED/models: fetching dlib's official models (needs internet)"
    "$BUILD/bin/faceidp" models fetch --dir "$dir"
  fi
}
