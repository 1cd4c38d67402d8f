# Stage-1 schedule, full protocol (GPU): Adam 1e-3, cosine to 1e-6 over the whole run, 100k
# iterations, CBSD68 validation every 5000. The cosine's length is the train loop's max_iters
# (mmengine sets a scheduler's `end` to it when unset), so a leaf changes only train_cfg.max_iters.
# FiniteCheckOptimWrapper: a NaN/Inf loss term stops training (iteration and term named)
optim_wrapper = dict(type='FiniteCheckOptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=100000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
