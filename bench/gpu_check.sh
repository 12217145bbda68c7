#!/usr/bin/env bash
# The GPU checks in one go, for a CUDA machine: the `gpu`-marked tests, then the GPU bench (bench/gpu.py), which
# stores its figures in bench/results.json and bench/RESULTS.md. Logs and copies of both go to $OUT.
#
# With our install (the embedded models present):  bash bench/gpu_check.sh
# On a bare GPU machine, with only a tokenizer folder at hand, the tests train on a random-weight SmolLM2 shape
# and the bench on random-weight Qwen2.5-0.5B (the background job) and Qwen2.5-7B shapes (memory and speed only):
#   GPU_SMOLLM2_TOKENIZER=DIR BENCH_GPU_TOKENIZER=DIR bash bench/gpu_check.sh
set -uo pipefail
OUT=${OUT:-bench/out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
$PY -c "import torch, transformers, peft, bitsandbytes as b; print('torch', torch.__version__, torch.cuda.get_device_name(0),
'| transformers', transformers.__version__, '| peft', peft.__version__, '| bitsandbytes', b.__version__)" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

if [ -n "${GPU_SMOLLM2_TOKENIZER:-}" ] && [ -z "${SHOP_ASSISTANT_GPU_BASE:-}" ]; then
  export SHOP_ASSISTANT_GPU_BASE=${TMPDIR:-/tmp}/smollm2-135m-random
  $PY bench/gpu.py random-base --shape smollm2-135m --tokenizer "$GPU_SMOLLM2_TOKENIZER" \
    --output "$SHOP_ASSISTANT_GPU_BASE" >/dev/null || exit 1
fi
t0=$SECONDS
timeout "${GPU_TESTS_TIMEOUT:-300}" $PY -m pytest -m gpu -q -p no:cacheprovider \
  tests/finetune/test_qlora_gpu.py tests/finetune/test_training.py tests/finetune/test_autotrain.py \
  tests/assistant/llm/test_transformers_backend.py \
  2>&1 | tee "$OUT/gpu_tests.log"
tests_rc=$?
echo "gpu tests: rc=$tests_rc in $((SECONDS - t0)) s"
t0=$SECONDS
timeout "${GPU_BENCH_TIMEOUT:-420}" $PY -m bench --only gpu 2>&1 | grep -v "it/s\]" | tee "$OUT/gpu_bench.log"
echo "gpu bench: rc=$? in $((SECONDS - t0)) s"
cp bench/results.json bench/RESULTS.md "$OUT/" 2>/dev/null
exit $tests_rc
