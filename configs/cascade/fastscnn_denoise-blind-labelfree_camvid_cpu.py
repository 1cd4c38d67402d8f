# Stage 2 over a noise range without labels (model zoo II, (b)): as
# fastscnn_denoise-blind_camvid_cpu.py, but the task term is the KL divergence between the frozen
# Fast-SCNN's outputs on the denoised and on the clean image (no annotation is used).
_base_ = ['./fastscnn_denoise-blind_camvid_cpu.py']
model = dict(task_target='clean_prediction', distill_temperature=1.0,
             loss=dict(task_weight=1.0))
