#!/usr/bin/env bash
# One script, two verbs (the README's two commands):
#   bash dev.sh run    set up .venv/ if needed, then start the app on the embedded model (offline); on the
#                      way, start training the task adapters in the background (SHOP_ASSISTANT_AUTOTRAIN=0: not)
#   bash dev.sh test   set up .venv/ if needed, then run the whole test suite
# Both are idempotent: a second run reuses .venv/ unless pyproject.toml, constraints.txt or the llama.cpp
# build flags (SHOP_ASSISTANT_LLAMA_CPU, below) changed. `bash dev.sh setup` redoes the first-start work.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=.venv
STAMP="$VENV/.installed"
LLAMA_CPP_VERSION=0.3.36
CACHE=${SHOP_ASSISTANT_CACHE:-$HOME/.cache/shop-assistant}
# Marks that the first-start work is done, per config file (a new shop's config prepares its own data).
prepared_stamp() {
  local cfg=${1:-default}
  echo "${SHOP_ASSISTANT_PREPARED:-data/.prepared-$(printf '%s' "$cfg" | sha256sum | cut -c1-12)}"
}

# The llama.cpp build is decided here, never by the build machine's -march=native: a native build on an
# AMX-capable Xeon repacks Q4_K/Q6_K/Q8_0 weights into AMX tiles and crashes on the first multi-token prompt.
#   auto (default)      avx512 when this CPU has the whole AVX-512 set below, else portable
#   portable            AVX2 + FMA + F16C + BMI2: runs on every x86-64 CPU from Haswell / Zen 1 up, no AMX
#   avx512              portable + AVX-512 (F, BW, VL, VBMI, VNNI, BF16): native speed there, still no AMX
#   native              whatever this CPU has (-march=native, AMX included): only for comparisons
# Measured side by side (bench/generation.py, Qwen2.5-0.5B, 2 cores): portable prompt 0.65x / generation 0.94x
# of native; avx512 = native.
AVX512_SET=(avx512f avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16)
llama_profile() {
  local profile=${SHOP_ASSISTANT_LLAMA_CPU:-auto} flag
  if [ "$profile" = auto ]; then
    profile=avx512
    if [ "$(uname -m)" != x86_64 ]; then profile=portable; fi
    for flag in "${AVX512_SET[@]}"; do grep -qw "$flag" /proc/cpuinfo 2>/dev/null || profile=portable; done
  fi
  echo "$profile"
}

llama_cmake_args() {
  local profile
  profile=$(llama_profile)
  local off="-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF"
  if [ "$(uname -m)" != x86_64 ] && [ "$profile" != native ]; then
    echo "-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF"; return
  fi
  case "$profile" in
    portable) echo "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF $off" ;;
    avx512) echo "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON $off" ;;
    native) echo "-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" ;;
    *) echo "SHOP_ASSISTANT_LLAMA_CPU must be auto, portable, avx512 or native, got '$profile'" >&2; return 2 ;;
  esac
}

check_cpu() {
  [ "$(uname -m)" = x86_64 ] || return 0
  local profile need=(avx2 fma f16c bmi2) flag
  profile=$(llama_profile)
  [ "$profile" = avx512 ] && need+=("${AVX512_SET[@]}")
  [ "$profile" = native ] && return 0
  for flag in "${need[@]}"; do
    if ! grep -qw "$flag" /proc/cpuinfo; then
      echo "error: this CPU lacks $flag, which the '$profile' llama.cpp build needs;" \
           "run again with SHOP_ASSISTANT_LLAMA_CPU=portable (or native)" >&2
      exit 1
    fi
  done
}

# pip caches a built wheel by the sdist alone, so a changed CMAKE_ARGS would silently get the old binary back.
# We bypass pip's cache and keep our own wheel folder keyed by the version and the exact flags.
llama_wheel_dir() {
  local key
  key=$(printf '%s %s' "$LLAMA_CPP_VERSION" "$(llama_cmake_args)" | sha256sum | cut -c1-16)
  echo "$CACHE/wheels/llama-cpp-python-$LLAMA_CPP_VERSION-$key"
}

# Prints the folder holding the wheel for the current flags, compiling it first when it is not there yet.
build_llama_wheel() {
  local flags dir
  flags=$(llama_cmake_args)
  dir=$(llama_wheel_dir)
  if ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "==> compiling llama-cpp-python $LLAMA_CPP_VERSION ($(llama_profile) build, ~5-15 min on 2 cores)" >&2
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    CMAKE_ARGS="$flags" "$VENV/bin/python" -m pip wheel --quiet --no-cache-dir --no-deps \
      --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$dir.tmp" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

install_llama_cpp() {
  local want have dir
  want="$LLAMA_CPP_VERSION $(llama_profile) $(llama_cmake_args)"
  have=$(cat "$VENV/.llama-cpp-build" 2>/dev/null || true)
  if [ "$have" = "$want" ] && "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
    return 0
  fi
  dir=$(build_llama_wheel)
  "$VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall "$dir"/llama_cpp_python-*.whl
  echo "$want" > "$VENV/.llama-cpp-build"
}

want_stamp() {
  { cat pyproject.toml constraints.txt 2>/dev/null; echo "llama.cpp $LLAMA_CPP_VERSION $(llama_cmake_args)"; } \
    | sha256sum | cut -d' ' -f1
}

setup_python() {
  check_cpu
  llama_cmake_args >/dev/null || exit 2
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(want_stamp)" ]; then
    echo "==> installing the pinned stack into $VENV (first time: ~20 min, llama-cpp-python compiles)"
    "$VENV/bin/python" -m pip install --quiet --upgrade "pip==26.0.1"
    # torch first, exactly pinned: a looser spec would pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    install_llama_cpp
    "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[dev]"
    want_stamp > "$STAMP"
  fi
}

# First start only: assemble the model, probe it in a child process, train the default classifiers and
# ingest the demo knowledge base, with progress, instead of making the first customer wait. A failure stops
# here with its reason: the app is never started on a model that cannot answer.
prepare_once() {
  local stamp
  stamp=$(prepared_stamp "${2:-}")
  [ -f "$stamp" ] && return 0
  if ! "$VENV/bin/python" -m assistant prepare "$@"; then
    echo "error: preparing the assistant failed (the reason is above); the app was not started." >&2
    echo "       fix it and run 'bash dev.sh run' again." >&2
    exit 1
  fi
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
}

# The task adapters train in the background while the app serves the bare base model: detached (setsid, so
# stopping the app does not stop it), lowest priority, one core left to the app, logging to its work folder.
# `python -m finetune autotrain --check` decides (autotrain.enabled, SHOP_ASSISTANT_AUTOTRAIN=0) and names the
# log; a job already running, or with nothing left to do, exits by itself.
start_autotrain() {
  local out log
  if ! out=$("$VENV/bin/python" -m finetune autotrain --check "$@" 2>&1); then
    echo "==> background training off: ${out##*$'\n'}" >&2
    return 0
  fi
  log=${out##*$'\n'}
  mkdir -p "$(dirname "$log")"
  local launch=()
  command -v setsid >/dev/null 2>&1 && launch=(setsid)
  "${launch[@]}" nice -n 19 "$VENV/bin/python" -m finetune autotrain "$@" </dev/null >>"$log" 2>&1 &
  echo "==> training the task adapters in the background (pid $!, log $log); progress: python -m finetune list" >&2
}

setup_system_test_deps() {
  # Browser tests drive Debian's chromium; the storage tests use a real PostgreSQL server.
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> apt-get install ${need[*]}"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
      echo "note: ${need[*]} missing and not root: the tests that need them will skip" >&2
    fi
  fi
}

case "${1:-}" in
  run)
    setup_python
    shift
    cfg=(); prev=""
    for a in "$@"; do [ "$prev" = "--config" ] && cfg=(--config "$a"); prev="$a"; done
    prepare_once "${cfg[@]}"
    start_autotrain "${cfg[@]}"
    exec "$VENV/bin/python" app.py "$@"
    ;;
  test)
    setup_python
    setup_system_test_deps
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  setup)
    setup_python
    shift
    rm -f "$(prepared_stamp "${2:-}")"
    prepare_once "$@"
    ;;
  llama-flags)
    # The build this machine gets: the profile on one line, then its CMake flags and its wheel folder.
    llama_profile; llama_cmake_args || exit 2; llama_wheel_dir
    ;;
  llama-wheel)
    # The wheel folder for SHOP_ASSISTANT_LLAMA_CPU (built when missing): bench/generation.py compares builds.
    [ -x "$VENV/bin/python" ] || { echo "run 'bash dev.sh setup' first" >&2; exit 1; }
    llama_cmake_args >/dev/null || exit 2
    build_llama_wheel
    ;;
  *)
    echo "usage: bash dev.sh run|test|setup|llama-wheel|llama-flags [args]" >&2
    echo "  SHOP_ASSISTANT_LLAMA_CPU=auto|portable|avx512|native picks the llama.cpp build (default auto)" >&2
    exit 2
    ;;
esac
