# Stage 2 on the noise corruptions (model zoo II, (c)): as fastscnn_denoise-blind_camvid_cpu.py
# (joint loss with the CamVid labels, from the shipped blind denoiser), but each training image
# draws one of the four noise corruptions of the common-corruption benchmarks (Gaussian, shot,
# impulse, speckle) and a severity 1-5: the corruption benchmark's noise, seen in training.
# Validation stays at Gaussian sigma 30, as (a)'s.
_base_ = ['./fastscnn_denoise-blind_camvid_cpu.py']
model = dict(noise=dict(
    _delete_=True,
    type='MixedNoise',
    noises=[dict(type='CorruptionNoise', corruption=c, severity=(1, 5))
            for c in ('gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise')]))
