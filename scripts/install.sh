#!/usr/bin/env bash
# Installs what building and testing Cirrus needs, idempotently. Safe to run again.
#
#   - a Rust toolchain >= the workspace rust-version, with rustfmt and clippy;
#   - a C and C++ compiler (the fuzz target builds libFuzzer);
#   - python3 (benchmarks and the demo's generated data);
#   - the Python virtualenv .venv (python3, which is 3.11 on this machine kind) with
#     moto_server (the AWS emulator the AWS tests run against), cfn-lint (the CloudFormation
#     linter the stack tests run, deploy/tests/stack_lint.rs) and cirrus-geo 0.15.4, the
#     newest cirrus-geo that installs on Python 3.11 (tests/state_interop.rs);
#   - when a Python >= 3.12 is found (PATH or pyenv), .venv-cirrus-geo2 with cirrus-geo 2.x,
#     which the interop test then checks as well;
#   - Node.js and npm, and asl-validator in .tools/asl-validator (tests/asl_validator.rs
#     checks every state machine the project ships with it);
#   - GDAL: libgdal-dev (the HSI tasks link libgdal), gdal-bin (gdalwarp and gdal_translate,
#     the activation benchmark's peer), and python3-gdal with python3-numpy (the tests'
#     independent numpy computations and the hsi-index benchmark's peer), for the system
#     python3.
#
# Set CIRRUS_SKIP_APT=1 to never call apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install] %s\n' "$*" >&2; }

moto_version="5.2.5"       # >= 5.2.5: 5.2.1 breaks Step Functions executions after the first
cirrus_geo_v0="0.15.4"     # newest cirrus-geo for Python < 3.12
cirrus_geo_v2="2.0.0"      # needs Python >= 3.12
asl_validator_version="4.0.0"
cfn_lint_version="1.58.0"

need_rust="1.94.1"
apt_packages=()

if ! command -v cc >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1; then
  apt_packages+=(build-essential)
fi
if ! command -v python3 >/dev/null 2>&1; then
  apt_packages+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_packages+=(python3-venv)
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  apt_packages+=(pkg-config)
fi
if ! command -v node >/dev/null 2>&1; then
  apt_packages+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  apt_packages+=(npm)
fi

if ! pkg-config --exists gdal 2>/dev/null; then
  apt_packages+=(libgdal-dev)
fi
if ! command -v gdalwarp >/dev/null 2>&1 || ! command -v gdal_translate >/dev/null 2>&1; then
  apt_packages+=(gdal-bin)
fi
# The tests' numpy peer runs on Debian's python3 (CIRRUS_PYTHON overrides), which is where
# python3-gdal and python3-numpy install, even when another python3 (pyenv) comes first on PATH.
gdal_python=${CIRRUS_PYTHON:-/usr/bin/python3}
if ! "$gdal_python" -c 'from osgeo import gdal' >/dev/null 2>&1; then
  apt_packages+=(python3-gdal)
fi
if ! "$gdal_python" -c 'import numpy' >/dev/null 2>&1; then
  apt_packages+=(python3-numpy)
fi

if ((${#apt_packages[@]})); then
  if [[ "${CIRRUS_SKIP_APT:-0}" == 1 ]]; then
    log "missing Debian packages: ${apt_packages[*]} (CIRRUS_SKIP_APT=1, not installing)"
  else
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    log "installing Debian packages: ${apt_packages[*]}"
    $sudo apt-get update -qq
    # One package at a time: on Debian 12, asking for libgdal-dev, gdal-bin, python3-gdal and
    # python3-numpy in one call was refused ("held broken packages") where each alone installs.
    for package in "${apt_packages[@]}"; do
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package"
    done
  fi
fi

if [[ -d "$HOME/.cargo/bin" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  log "error: no Rust toolchain. Install Rust >= $need_rust with rustup (https://rustup.rs), then run this again."
  exit 1
fi
have_rust=$(rustc --version | awk '{print $2}')
if [[ "$(printf '%s\n%s\n' "$need_rust" "$have_rust" | sort -V | head -n1)" != "$need_rust" ]]; then
  log "error: rustc $have_rust is older than the required $need_rust; update it (rustup update stable)."
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      log "adding rustup component $component"
      rustup component add "$component"
    else
      log "error: cargo $component is missing and rustup is not available to add it."
      exit 1
    fi
  fi
done
log "ok: rustc $have_rust, $(cargo fmt --version), $(cargo clippy --version)"

# venv_has PYTHON PACKAGE==VERSION...: whether the venv's PYTHON has exactly these versions.
venv_has() {
  local python=$1
  shift
  [[ -x "$python" ]] || return 1
  "$python" - "$@" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, wanted = spec.split("==")
    name = name.split("[")[0]
    if version(name) != wanted:
        sys.exit(1)
PY
}

# make_venv DIR BASE_PYTHON PACKAGE==VERSION...: creates (or repairs) the venv DIR with
# exactly these packages; does nothing when they are there. pip is upgraded first: the
# one that venv bundles cannot resolve cirrus-geo 2.x's dependencies.
make_venv() {
  local dir=$1 base=$2
  shift 2
  if venv_has "$dir/bin/python" "$@"; then
    log "ok: $dir has $*"
    return
  fi
  log "creating $dir with $* ($("$base" --version 2>&1))"
  "$base" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  venv_has "$dir/bin/python" "$@" || { log "error: $dir does not have $* after pip install"; exit 1; }
}

make_venv .venv python3 "moto[server]==$moto_version" "cirrus-geo==$cirrus_geo_v0" "cfn-lint==$cfn_lint_version"
[[ -x .venv/bin/moto_server ]] || { log "error: .venv/bin/moto_server is missing"; exit 1; }
[[ -x .venv/bin/cfn-lint ]] || { log "error: .venv/bin/cfn-lint is missing"; exit 1; }

# A Python >= 3.12 for cirrus-geo 2.x: on PATH, or installed by pyenv.
python_312=""
candidates=(python3.13 python3.12)
if command -v pyenv >/dev/null 2>&1; then
  for dir in "$(pyenv root)"/versions/3.1[2-9]*; do
    [[ -x "$dir/bin/python3" ]] && candidates+=("$dir/bin/python3")
  done
fi
for candidate in "${candidates[@]}"; do
  if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
    python_312=$candidate
    break
  fi
done
if [[ -n "$python_312" ]]; then
  make_venv .venv-cirrus-geo2 "$python_312" "cirrus-geo==$cirrus_geo_v2"
else
  log "note: no Python >= 3.12 found; the interop test checks cirrus-geo $cirrus_geo_v0 only"
fi

# asl-validator, the npm package that checks ASL definitions the way the AWS console does.
asl_dir=.tools/asl-validator
asl_installed() {
  [[ -f "$asl_dir/node_modules/asl-validator/package.json" ]] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "./$asl_dir/node_modules/asl-validator/package.json" "$asl_validator_version" >/dev/null 2>&1
}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "error: node and npm are missing (install the Debian packages nodejs and npm)"
  exit 1
elif asl_installed; then
  log "ok: $asl_dir has asl-validator $asl_validator_version"
else
  log "installing asl-validator $asl_validator_version in $asl_dir"
  mkdir -p "$asl_dir"
  npm install --prefix "$asl_dir" --no-audit --no-fund --silent "asl-validator@$asl_validator_version"
  asl_installed || { log "error: $asl_dir does not have asl-validator $asl_validator_version after npm install"; exit 1; }
fi
