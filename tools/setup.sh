#!/usr/bin/env bash
# Sets up mmsemdenoise on a CPU machine and (unless --no-demo) runs the demo.
#
# 1. Builds the OpenMMLab stack in a virtual environment OUTSIDE the clone, keyed by a hash of the
#    stack below, and reuses it when the stack has not changed (pip keeps no cache here, and full
#    mmcv compiles from source for ~11 min on 2 cores). A half-built environment is rebuilt.
# 2. Installs this checkout into it (non-editable: mmengine resolves `mmsemdenoise::` configs and
#    `mim train` finds tools/ only in an installed package's `.mim` folder).
# 3. Links it as ./.venv so that `.venv/bin/python ...` works from the repository root.
#
# GPU users: do not use this script; see README.md ("Install on a GPU machine").
# Environment: MMSEMDENOISE_VENV overrides where the environment lives; PYTHON picks the interpreter.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
run_demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) run_demo=0 ;;
    *) echo "usage: bash tools/setup.sh [--no-demo]" >&2; exit 2 ;;
  esac
done

# The stack. Changing any line here builds a new environment.
stack_rev=1
torch_pkgs="torch==2.13.0 torchvision==0.28.0"
build_pkgs="setuptools<81 wheel"
mmcv_pkg="mmcv==2.1.0"
mm_pkgs="mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0 ftfy regex"

key=$(printf '%s\n' "$stack_rev" "$torch_pkgs" "$build_pkgs" "$mmcv_pkg" "$mm_pkgs" \
      "$("$python" -c 'import sys; print(sys.version)')" "$(uname -m)" | sha256sum | cut -c1-12)
venv=${MMSEMDENOISE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mmsemdenoise/venv-$key}
pip="$venv/bin/pip"
log() { echo "[setup $(date +%H:%M:%S)] $*"; }

if [ -f "$venv/.stack-ready" ]; then
  log "reusing environment $venv"
else
  log "building environment $venv (cold: ~15 min on 2 cores, mostly the mmcv compile)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # PyPI's torch/torchvision pair. The machine's pip config and PIP_FIND_LINKS point at a local
  # CPU-only torch wheel that no torchvision release pairs with, so both are bypassed here.
  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$pip" install $torch_pkgs
  "$venv/bin/python" -c "import torch, torchvision; torchvision.ops.nms(torch.rand(2, 4), torch.rand(2), 0.5)"
  # torch pulls a setuptools >= 81, which has no pkg_resources (needed by mmcv's setup.py and mmengine).
  "$pip" install $build_pkgs
  # Full mmcv with its C++ ops, compiled against the torch above (build isolation would hide it).
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$pip" install --no-build-isolation "$mmcv_pkg"
  "$venv/bin/python" -c "import mmcv.ops"  # fails if the build silently skipped the ops
  "$pip" install $mm_pkgs
  "$venv/bin/python" -c "import mmcv.ops, mmseg.models, mmpretrain.models"
  touch "$venv/.stack-ready"
  log "environment ready"
fi

# The package itself (always reinstalled: it is this checkout).
"$pip" install --no-build-isolation "$repo[tests,deploy]"
rm -rf "$repo/build" "$repo"/*.egg-info  # build leftovers would shadow the install's metadata
# mmengine finds `mmsemdenoise::` configs in the package's .mim folder; link it in the checkout
# too (as mmpretrain does for develop installs), for code run with the checkout on sys.path.
mkdir -p "$repo/mmsemdenoise/.mim"
for item in configs tools model-index.yml; do ln -sfn "../../$item" "$repo/mmsemdenoise/.mim/$item"; done
ln -sfn "$venv" "$repo/.venv"
log "installed mmsemdenoise into $venv (linked as .venv)"

# The configs read data from ./data (the OpenMMLab convention). Link the shared data sets there
# when ../shared is beside the clone; never replace something the user put in data/.
shared="$repo/../shared/data"
mkdir -p "$repo/data"
for pair in "denoise:$shared/denoise" "CamVid:$shared/segment/CamVid" "weights:$shared/weights"; do
  name=${pair%%:*} target=${pair#*:}
  if [ -d "$target" ] && [ ! -e "$repo/data/$name" ]; then
    ln -s "$(cd "$target" && pwd)" "$repo/data/$name"
    log "linked data/$name -> $target"
  fi
done

if [ "$run_demo" = 1 ]; then
  cd "$repo"
  "$venv/bin/python" tools/demo.py
fi
