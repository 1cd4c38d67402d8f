# Label-free stage 2: as fastscnn_denoise_camvid_cpu.py, but the task term is the KL divergence
# between the frozen Fast-SCNN's outputs on the denoised and on the clean image: no annotation
# is used, so any folder of clean road images would do.
_base_ = ['./fastscnn_denoise_camvid_cpu.py']
model = dict(task_target='clean_prediction', distill_temperature=1.0,
             loss=dict(task_weight=1.0))
