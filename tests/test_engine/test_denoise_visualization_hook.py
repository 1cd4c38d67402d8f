"""DenoiseVisualizationHook: noisy | denoised | clean (| prediction | labels) at each validation.

Real Runners on the shipped configs, tiny generated data: the CamVid cascade (real Fast-SCNN, our
3-scale denoiser with 8 base channels) trains two iterations with a validation after each, and
the stage-1 config validates photos of two shapes. The grids are read back from the files the
Runner's ``LocalVisBackend`` wrote and compared with what the validation loop itself produced.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS, init_default_scope
from mmengine.runner import Runner

from mmsemdenoise.analysis import tile_grid
from mmsemdenoise.analysis.sweep_report import CAPTION_HEIGHT
from mmsemdenoise.engine import DenoiseVisualizationHook

CASCADE = 'configs/cascade/fastscnn_denoise_camvid_cpu.py'
STAGE1 = 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
H, W = 48, 64  # make_camvid's image size


@HOOKS.register_module(force=True)
class RecordValNoisy(Hook):
    """Keeps the noisy input of every validated image (file name -> uint8 RGB), per validation."""
    seen = []

    def before_val_epoch(self, runner) -> None:
        RecordValNoisy.seen.append({})

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for sample in outputs:
            noisy = sample.noisy_img.float().clamp(0, 255).round().byte()
            RecordValNoisy.seen[-1][Path(sample.img_path).name] = \
                noisy.permute(1, 2, 0).cpu().numpy()


def _hooks(cfg: Config) -> list:
    return [h.type for h in cfg.custom_hooks]


def _no_workers(loader) -> None:
    loader.update(num_workers=0, persistent_workers=False)


def _own_visualizer(cfg: Config, tmp_path: Path) -> None:
    """A visualizer of this test's own: the runtimes name theirs 'visualizer', and mmengine gives
    a later Runner of the same process the instance of that name, writing to the first's folder."""
    cfg.visualizer.name = f'visualizer_{tmp_path.name}'


def _grids(work_dir: Path, name: str = 'val_denoise') -> dict:
    """step -> grid (RGB) of every ``<name>_<step>.png`` the LocalVisBackend wrote."""
    files = sorted(work_dir.glob(f'*/vis_data/vis_image/{name}_*.png'))
    return {int(f.stem.rsplit('_', 1)[1]): cv2.imread(str(f))[..., ::-1] for f in files}


@pytest.mark.slow
def test_cascade_grid_at_each_validation(tmp_path, repo_root, make_camvid, save_task_checkpoint):
    data = make_camvid(tmp_path / 'CamVid', n_train=2, n_val=3, size=(H, W))
    init_default_scope('mmsemdenoise')
    cfg = Config.fromfile(str(repo_root / CASCADE))
    assert _hooks(cfg)[-1] == 'mmsemdenoise.DenoiseVisualizationHook'  # enabled by the config
    cfg.work_dir = str(tmp_path / 'work')
    _own_visualizer(cfg, tmp_path)
    cfg.model.update(denoiser_checkpoint=None,
                     task_checkpoint=save_task_checkpoint(CASCADE, tmp_path / 'task.pth'))
    cfg.model.denoiser = dict(type='ThreeScaleDenoiser', base_channels=8)  # no checkpoint
    cfg.train_dataloader.update(batch_size=1)
    cfg.train_dataloader.dataset.pipeline = [dict(type='LoadImageFromFile'),
                                             dict(type='mmseg.LoadAnnotations'),
                                             dict(type='mmseg.PackSegInputs')]
    cfg.val_dataloader.dataset.pipeline[1].scale = (W, H)  # the images as they are
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = str(data)
        _no_workers(loader)
    cfg.train_cfg.update(max_iters=2, val_interval=1)
    cfg.custom_hooks = [*cfg.custom_hooks[:-1],
                        dict(type='mmsemdenoise.DenoiseVisualizationHook', num_images=2),
                        dict(type='RecordValNoisy')]
    RecordValNoisy.seen = []
    runner = Runner.from_cfg(cfg)
    runner.train()

    grids = _grids(tmp_path / 'work')
    assert sorted(grids) == [1, 2]  # one grid per validation, named by the iteration
    # 2 images (of 3) x [noisy | denoised | clean | prediction | labels], tiles at image size
    for grid in grids.values():
        assert grid.shape == (2 * H, 5 * W, 3)
    tiles = {step: [[grid[r * H:(r + 1) * H, c * W:(c + 1) * W] for c in range(5)]
                    for r in range(2)] for step, grid in grids.items()}
    palette = np.array([*runner.val_dataloader.dataset.metainfo['palette'], [0, 0, 0]], np.uint8)
    for row, name in enumerate(['val_000.png', 'val_001.png']):  # the first images, in order
        noisy, denoised, clean, _, labels = tiles[1][row]
        image = cv2.imread(str(data / 'val' / name))[..., ::-1]
        mask = cv2.imread(str(data / 'valannot' / name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(clean, image)
        assert np.array_equal(labels, palette[mask])  # 11 = unlabelled -> black
        assert np.abs(noisy.astype(int) - clean).mean() > 10  # sigma 25
        assert not np.array_equal(denoised, noisy)
        # the noisy tile is the cascade's noisy input of that image in each validation loop,
        # so both validations show the same noisy images
        for step, seen in zip((1, 2), RecordValNoisy.seen):
            assert np.array_equal(tiles[step][row][0], seen[name]), (step, name)
    assert not np.array_equal(tiles[1][0][0], tiles[1][1][0])
    assert len(RecordValNoisy.seen) == 2 and len(RecordValNoisy.seen[0]) == 3


def _photos(folder: Path, shapes) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, shape in enumerate(shapes):
        cv2.imwrite(str(folder / f'{i}.png'), rng.integers(0, 256, (*shape, 3), np.uint8))
    return folder


def _stage1(repo_root: Path, tmp_path: Path, shapes) -> Config:
    photos = _photos(tmp_path / 'photos' / 'val', shapes)
    cfg = Config.fromfile(str(repo_root / STAGE1))
    assert _hooks(cfg)[-1] == 'mmsemdenoise.DenoiseVisualizationHook'  # default_runtime's
    cfg.work_dir = str(tmp_path / 'work')
    _own_visualizer(cfg, tmp_path)
    cfg.model.denoiser.base_channels = 8
    cfg.val_dataloader.dataset.update(data_root=str(photos.parent),
                                      data_prefix=dict(img_path='val'))
    _no_workers(cfg.val_dataloader)
    return cfg


def test_stage1_grid_pads_images_of_other_shapes(tmp_path, repo_root):
    init_default_scope('mmsemdenoise')
    cfg = _stage1(repo_root, tmp_path, [(24, 32), (32, 24), (24, 32)])
    cfg.custom_hooks[-1].update(num_images=2, name='examples')
    # a validation-only run needs no training data (the hook once built the train loop for
    # runner.iter, and failed on a machine without BSD400)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'no-training-data')
    Runner.from_cfg(cfg).val()
    grids = _grids(tmp_path / 'work', 'examples')
    assert list(grids) == [0]  # no training iteration yet
    grid = grids[0]
    # no task model: noisy | denoised | clean; the portrait row padded with black to 3 x 32
    assert grid.shape == (24 + 32, 3 * 32, 3)
    image = cv2.imread(str(tmp_path / 'photos' / 'val' / '1.png'))[..., ::-1]
    assert np.array_equal(grid[24:, 48:72], image)  # row 2, clean tile (24 wide)
    assert not grid[24:, 72:].any()


def test_tensorboard_backend_gets_the_grid(tmp_path, repo_root):
    pytest.importorskip('tensorboard', reason='tensorboard is not installed in this environment')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    init_default_scope('mmsemdenoise')
    cfg = _stage1(repo_root, tmp_path, [(24, 32)])
    cfg.visualizer.vis_backends = [dict(type='TensorboardVisBackend')]
    Runner.from_cfg(cfg).val()
    events = list((tmp_path / 'work').glob('*/vis_data/events.out.tfevents.*'))
    assert events, 'no event file'
    accumulator = EventAccumulator(str(events[0].parent), size_guidance={'images': 0})
    accumulator.Reload()
    assert 'val_denoise' in accumulator.Tags()['images']
    image = accumulator.Images('val_denoise')[0]
    assert (image.step, image.width, image.height) == (0, 3 * 32, 24)


DEMO = 'configs/demo/efficientnet-lite0_denoise-labelfree_demo-data.py'


@HOOKS.register_module(force=True)
class RecordValLabels(Hook):
    """Keeps (predicted, annotated) class of every validated image, by file name."""
    seen = {}

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for sample in outputs:
            RecordValLabels.seen[Path(sample.img_path).name] = (int(sample.pred_label),
                                                                int(sample.gt_label))


def test_classifier_grid_captions_the_predicted_class(tmp_path, repo_root, save_task_checkpoint):
    """The demo's label-free EfficientNet cascade (``predict_clean``) on 2 bundled photos."""
    init_default_scope('mmsemdenoise')
    cfg = Config.fromfile(str(repo_root / DEMO))
    cfg.work_dir = str(tmp_path / 'work')
    _own_visualizer(cfg, tmp_path)
    cfg.model.update(denoiser_checkpoint=None,
                     task_checkpoint=save_task_checkpoint(DEMO, tmp_path / 'task.pth'))
    cfg.model.denoiser = dict(type='ThreeScaleDenoiser', base_channels=8)  # no checkpoint
    cfg.val_dataloader.dataset.update(data_root=str(repo_root / 'mmsemdenoise/demo_data'),
                                      indices=2)
    _no_workers(cfg.val_dataloader)
    cfg.custom_hooks.append(dict(type='RecordValLabels'))
    RecordValLabels.seen = {}
    runner = Runner.from_cfg(cfg)
    runner.val()
    grid = _grids(tmp_path / 'work')[0]
    assert grid.shape == (2 * (224 + CAPTION_HEIGHT), 3 * 224, 3)
    names = [Path(runner.val_dataloader.dataset.get_data_info(i)['img_path']).name
             for i in range(2)]
    for row, name in enumerate(names):
        band = grid[row * (224 + CAPTION_HEIGHT) + 224:(row + 1) * (224 + CAPTION_HEIGHT)]
        pred, gt = RecordValLabels.seen[name]
        text, other = (1, 0) if pred == gt else (0, 1)  # green when right, else red
        assert band[..., text].max() > 100 and band[..., other].max() == 0, (name, pred, gt)


def test_tile_grid_captions_classes():
    rng = np.random.default_rng(0)
    tiles = {k: rng.integers(0, 256, (8, 10, 3), np.uint8) for k in ('noisy', 'image', 'clean')}
    metainfo = dict(classes=['cat', 'dog'])
    examples = [dict(tiles, pred_mask=None, gt_mask=None, pred_label=p, gt_label=g)
                for p, g in ((0, 0), (1, 0))]
    grid = tile_grid(examples, metainfo)
    assert grid.shape == (2 * (8 + CAPTION_HEIGHT), 30, 3)
    assert np.array_equal(grid[:8, :10], tiles['noisy'])
    assert np.array_equal(grid[:8, 20:], tiles['clean'])
    right, wrong = grid[8:8 + CAPTION_HEIGHT], grid[-CAPTION_HEIGHT:]
    assert right[..., 1].max() > 100 and right[..., 0].max() == 0  # green text
    assert wrong[..., 0].max() > 100 and wrong[..., 1].max() == 0  # red text
    with pytest.raises(ValueError, match=r"without \['noisy'\]"):
        tile_grid([dict(examples[0], noisy=None)], metainfo)
    with pytest.raises(ValueError, match='num_images must be an int >= 1, got 0'):
        DenoiseVisualizationHook(num_images=0)
