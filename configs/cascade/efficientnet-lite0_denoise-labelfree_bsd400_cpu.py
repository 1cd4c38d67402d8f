# Label-free stage 2 for classification at CPU scale (the classification experiment of
# docs/results.md): the 1-hour stage-1 denoiser (denoise/three-scale_bsd400_sigma25_cpu-1h) in
# front of the frozen ImageNet EfficientNet-Lite0, trained on unlabelled BSD400 photos with
# L = MSE + lambda * KL(clean prediction || prediction on the denoised image), Gaussian sigma 25.
# Evaluated without labels on the 92 photos of CBSD68 + Kodak24 (none seen in training): top-1
# agreement with the classifier's prediction on the clean photo (CleanAgreement) and PSNR/SSIM
# of the denoised 224x224 classifier input.
#   python tools/convert_efficientnet_lite0.py checkpoints/efficientnet-lite0_in1k.pth
#   OMP_NUM_THREADS=1 python tools/train.py configs/cascade/efficientnet-lite0_denoise-labelfree_bsd400_cpu.py
_base_ = ['./efficientnet-lite0_denoise-labelfree_check.py']

denoise_root = 'data/denoise'
model = dict(predict_clean=True)

train_dataloader = dict(
    batch_size=4,
    dataset=dict(data_root=denoise_root, data_prefix=dict(img_path='BSD400')))
# the classifier's own evaluation crop; the noise is added to this 224x224 input
test_pipeline = {{_base_.test_pipeline}}
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(type='CleanImageFolder', data_root=denoise_root,
                 data_prefix=dict(img_path=folder), pipeline=test_pipeline, test_mode=True)
            for folder in ('CBSD68', 'Kodak24')
        ]))
test_dataloader = val_dataloader
val_evaluator = [dict(type='mmsemdenoise.CleanAgreement'), *_base_.denoise_metrics]
test_evaluator = val_evaluator

optim_wrapper = dict(type='AutocastOptimWrapper')
train_cfg = dict(max_iters=400)
