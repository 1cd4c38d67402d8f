"""Does bfloat16 autocast change what a cascade computes? float32 vs bfloat16 on the same weights.

Two comparisons on real CamVid images, with the cascade config's models and noise:

* **evaluation**: the same cascade (the shipped denoiser ``mmsemdenoise://three-scale_blind_bsd400``
  and the task model) predicts the first ``--images`` validation images (the config's val
  pipeline, its seeded test noise) in float32 and under bfloat16 autocast: PSNR of each dtype,
  their difference per image, the share of pixels whose task class agrees, mIoU of each dtype;
* **training**: the gradient of the joint loss for the denoiser's weights on ``--batches``
  training batches (the config's batch size), float32 vs bfloat16 with the same noise, next to
  float32 vs float32 with another noise draw on the same images (the noise of SGD itself). If
  bfloat16 moves the gradient far less than a new noise draw does, training under
  ``AutocastOptimWrapper`` follows the float32 run within the noise of training.

What it cannot show: the PSNR and task metric of a run *trained* in bfloat16 (that needs both
trainings). Without ``--task-checkpoint`` the task model has random weights (batch-norm
statistics set from the images), so its mIoU means nothing; its agreement between the dtypes is
a pessimistic proxy (a random network's class margins are small, so rounding flips more pixels)::

    OMP_NUM_THREADS=1 python benchmarks/cascade_bfloat16.py
        [--config configs/cascade/fastscnn_denoise_camvid_cpu.py] [--camvid data/CamVid]
        [--images 8] [--batches 2] [--task-checkpoint work_dirs/fastscnn_camvid-180x240_cpu]
"""
import argparse
import copy
import statistics
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.evaluation import IoUMetric

from mmsemdenoise import register_all_modules
from mmsemdenoise.evaluation.functional import psnr
from mmsemdenoise.evaluation.metrics import preprocess
from mmsemdenoise.registry import DATASETS, MODELS
from mmsemdenoise.utils.device import cpu_has_native_bfloat16

DENOISER = 'mmsemdenoise://three-scale_blind_bsd400'


def calibrate_batch_norm(task: torch.nn.Module, inputs: torch.Tensor) -> None:
    """Set a random-init task model's batch-norm statistics from images (cumulative average
    over one pass): with the initial ones every input gets the same answer."""
    for module in task.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    task.train()
    with torch.no_grad():
        task(inputs, mode='tensor')
    task.eval()


def dataset(cfg: Config, split: str, root: str, n: int):
    """The config's train or val dataset below ``root``, its first ``n`` images."""
    ds_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    ds_cfg.update(data_root=root, indices=n, verify='off')
    return DATASETS.build(ds_cfg)


def evaluate(cascade: torch.nn.Module, samples: list, num_classes: int) -> Dict[str, list]:
    """Predict each image in float32 and in bfloat16: PSNR, predicted classes, IoU counts."""
    out = {d: dict(psnr=[], pred=[], iou=[]) for d in ('float32', 'bfloat16')}
    for sample in samples:
        for dtype, record in out.items():
            data = cascade.data_preprocessor(pseudo_collate([copy.deepcopy(sample)]), False)
            with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16,
                                                 enabled=dtype == 'bfloat16'):
                result = cascade(**data, mode='predict')[0]
            record['psnr'].append(float(psnr(preprocess(result.pred_img[None]),
                                             preprocess(result.gt_img[None]))[0]))
            pred = result.pred_sem_seg.data[0]
            record['pred'].append(pred)
            record['iou'].append(IoUMetric.intersect_and_union(
                pred, result.gt_sem_seg.data[0].to(pred), num_classes, 255))
    return out


def miou(counts: list) -> float:
    """mIoU (%) over the classes present, from ``intersect_and_union`` results."""
    inter = sum(c[0] for c in counts)
    union = sum(c[1] for c in counts)
    present = union > 0
    return float((inter[present] / union[present]).mean() * 100)


def denoiser_grads(cascade: torch.nn.Module, data: dict, seed: int, bfloat16: bool
                   ) -> Dict[str, torch.Tensor]:
    """Gradients for the denoiser's weights, flattened (noise from ``seed``): of the joint loss
    (``total``), of its reconstruction term (``rec``) and of its task terms (``task``)."""
    data = cascade.data_preprocessor(copy.deepcopy(data), True)
    torch.manual_seed(seed)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bfloat16):
        losses = cascade(**data, mode='loss')
    rec = losses['loss_rec']
    task = sum(v for k, v in losses.items() if k.startswith('loss_task'))
    params = list(cascade.denoiser.parameters())
    out = {}
    for name, loss in (('rec', rec), ('task', task)):
        out[name] = torch.cat([g.flatten() for g in
                               torch.autograd.grad(loss, params, retain_graph=True)])
    out['total'] = out['rec'] + out['task']
    return out


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def rel_error(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float((a - ref).norm() / ref.norm())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/cascade/fastscnn_denoise_camvid_cpu.py')
    parser.add_argument('--camvid', default='data/CamVid')
    parser.add_argument('--images', type=int, default=8, help='validation images')
    parser.add_argument('--batches', type=int, default=2, help='training batches')
    parser.add_argument('--task-checkpoint', help='trained task weights (default: random)')
    parser.add_argument('--threads', type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    model_cfg = copy.deepcopy(cfg.model)
    # the task model under autocast here; `task32` below keeps it in float32
    model_cfg.update(denoiser_checkpoint=DENOISER, task_checkpoint=args.task_checkpoint,
                     task_float32=False)
    torch.manual_seed(0)
    cascade = MODELS.build(model_cfg)
    cascade.init_weights()
    val = dataset(cfg, 'val', args.camvid, args.images)
    samples = [val[i] for i in range(len(val))]
    if not args.task_checkpoint:
        batch = cascade.task_model.data_preprocessor(pseudo_collate(copy.deepcopy(samples)))
        calibrate_batch_norm(cascade.task_model, batch['inputs'])
    cascade.eval()
    num_classes = cascade.task_model.decode_head.num_classes
    ev = evaluate(cascade, samples, num_classes)

    print(f'{args.config}; denoiser {DENOISER}; task weights: '
          f'{args.task_checkpoint or "random (BN statistics from the images)"}; '
          f'{torch.get_num_threads()} thread(s); native bfloat16: {cpu_has_native_bfloat16()}')
    print(f'\nEvaluation, {len(samples)} CamVid val images (config pipeline and test noise):\n')
    print('| | float32 | bfloat16 autocast |\n|---|---|---|')
    p32, p16 = ev['float32']['psnr'], ev['bfloat16']['psnr']
    print(f'| PSNR (dB), mean | {statistics.mean(p32):.4f} | {statistics.mean(p16):.4f} |')
    print(f'| mIoU (%) | {miou(ev["float32"]["iou"]):.3f} | {miou(ev["bfloat16"]["iou"]):.3f} |')
    diffs = [b - a for a, b in zip(p32, p16)]
    agree = [float((a == b).float().mean()) for a, b in
             zip(ev['float32']['pred'], ev['bfloat16']['pred'])]
    print(f'\n| bfloat16 - float32 | value |\n|---|---|')
    print(f'| PSNR difference (dB), mean | {statistics.mean(diffs):+.4f} |')
    print(f'| PSNR difference (dB), largest magnitude | {max(diffs, key=abs):+.4f} |')
    print(f'| task pixels with the same class, mean | {100 * statistics.mean(agree):.2f} % |')
    print(f'| task pixels with the same class, worst image | {100 * min(agree):.2f} % |')

    train = dataset(cfg, 'train', args.camvid, args.batches * cfg.train_dataloader.batch_size)
    size = cfg.train_dataloader.batch_size
    # the same weights with the frozen task model kept in float32 under autocast
    task32 = MODELS.build(dict(copy.deepcopy(model_cfg), task_float32=True))
    task32.load_state_dict(cascade.state_dict())
    cascade.train()
    task32.train()
    rows: List[dict] = []
    torch.manual_seed(1)  # the train pipeline's random resize, crop, flip, photometric
    for b in range(args.batches):
        data = pseudo_collate([train[i] for i in range(b * size, (b + 1) * size)])
        g32 = denoiser_grads(cascade, data, seed=10 + b, bfloat16=False)
        g16 = denoiser_grads(cascade, data, seed=10 + b, bfloat16=True)
        g16_t32 = denoiser_grads(task32, data, seed=10 + b, bfloat16=True)
        g32_other = denoiser_grads(cascade, data, seed=100 + b, bfloat16=False)
        for term in ('total', 'rec', 'task'):
            ref = g32[term]
            rows.append(dict(batch=b, term=term, norm=float(ref.norm()),
                             bf16=(cosine(g16[term], ref), rel_error(g16[term], ref)),
                             t32=(cosine(g16_t32[term], ref), rel_error(g16_t32[term], ref)),
                             noise=(cosine(g32_other[term], ref), rel_error(g32_other[term], ref))))
    print(f'\nTraining: gradient for the denoiser\'s weights against float32, {args.batches} '
          f'batches of {size} (config train pipeline); cos / relative error ||g - g32|| / ||g32||'
          '\n')
    print('| batch | term | norm fp32 | bfloat16 | bfloat16, task_float32 | '
          'float32, another noise draw |\n|---|---|---|---|---|---|')
    for r in rows:
        cells = ' | '.join(f'{r[k][0]:.4f} / {r[k][1]:.3f}' for k in ('bf16', 't32', 'noise'))
        print(f'| {r["batch"]} | {r["term"]} | {r["norm"]:.3g} | {cells} |')
    return dict(psnr_diff=diffs, agreement=agree, grads=rows)


if __name__ == '__main__':
    main()
