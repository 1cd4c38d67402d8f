#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG N [train.py options]
# N processes with torchrun: one per GPU (NCCL), or, on a machine without CUDA, N CPU processes
# (gloo; mmsemdenoise/utils/dist.py). NNODES, NODE_RANK, MASTER_ADDR, PORT for several machines;
# PYTHON for another interpreter than `python`.
CONFIG=$1
GPUS=$2  # processes per node
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
