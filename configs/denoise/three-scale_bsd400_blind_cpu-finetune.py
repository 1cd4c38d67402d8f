# Blind stage 1, continued on a CPU (bfloat16 autocast where the CPU has native bfloat16, float32
# otherwise): a blind model (the shipped one, or any run of ./three-scale_bsd400_blind_cpu-2h.py)
# trained further with a fresh cosine from a lower peak (5e-4 -> 1e-5), the same data, noise (sigma
# ~ U[0, 75] per image), L1 loss and batch (16 patches of 64x64). The denoiser's weights only are
# loaded (load_from), no optimizer state. It validates every 500 iterations on Kodak24 at sigma 25,
# which is not the CBSD68 test set, so the curve does not select on the test set. The weights to
# start from are given on the command line (the shipped name changes when better weights replace
# it):
#   OMP_NUM_THREADS=1 python tools/train.py configs/denoise/three-scale_bsd400_blind_cpu-finetune.py \
#       --cfg-options load_from=PREVIOUS_WEIGHTS train_cfg.max_iters=N
_base_ = './three-scale_bsd400_blind_cpu-2h.py'
load_from = None
optim_wrapper = dict(optimizer=dict(lr=5e-4))
train_cfg = dict(max_iters=3000, val_interval=500)
val_dataloader = dict(dataset=dict(data_prefix=dict(img_path='Kodak24')))
test_dataloader = dict(dataset=dict(data_prefix=dict(img_path='CBSD68')))
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=2))
