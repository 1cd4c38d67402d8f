# As efficientnet-lite1_denoise_cbsd68-kodak24_eval.py, in front of EfficientNet-Lite2 (260x260).
#   python tools/convert_efficientnet_lite.py configs/task_models/efficientnet-lite2_in1k.py \
#       checkpoints/efficientnet-lite2_3rdparty_in1k.pth
_base_ = ['./efficientnet-lite1_denoise_cbsd68-kodak24_eval.py']

model = dict(task_model=dict(backbone=dict(arch='l2')),
             task_checkpoint='checkpoints/efficientnet-lite2_3rdparty_in1k.pth')
# Lite1's pipeline with Lite2's crop; each dataset of the ConcatDataset takes it
test_pipeline = [dict(step, crop_size=260) if 'crop_size' in step else step
                 for step in _base_.test_pipeline]
val_dataloader = dict(dataset=dict(datasets=[
    dict(dataset, pipeline=test_pipeline) for dataset in _base_.val_dataloader.dataset.datasets]))
test_dataloader = val_dataloader
