# Model zoo II, (d) at the 1000 iterations: the 500-iteration label-free run
# (./efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu.py, whose cosine ends at 1e-6, the
# shipped three-scale_lite0-labelfree_bsd400) continued for 500 more iterations with a second
# cosine from lr 1e-4: 1000 iterations x batch 4 in all (65 + 58 min on one AVX2 thread in
# float32). Measured on the 92-photo agreement set it equals the 500-iteration model within one
# photo at every sigma (docs/results.md), so it is not shipped. Run after the 500-iteration file:
#   OMP_NUM_THREADS=1 python tools/train.py configs/cascade/efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu.py
#   OMP_NUM_THREADS=1 python tools/train.py configs/cascade/efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu-1000it.py
_base_ = ['./efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu.py']

model = dict(denoiser_checkpoint='work_dirs/efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu/iter_500.pth')
train_cfg = dict(max_iters=500, val_interval=250)
