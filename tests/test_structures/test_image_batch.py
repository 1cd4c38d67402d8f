"""ImageBatch: the one batch form inside the cascade (groups of one size)."""
import pytest
import torch

from mmsemdenoise.structures import ImageBatch


def _images(*shapes):
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, h, w, generator=g) for h, w in shapes]


def test_a_stacked_batch_is_one_group_and_comes_back_as_a_tensor():
    stacked = torch.stack(_images((4, 5), (4, 5), (4, 5)))
    batch = ImageBatch.of(stacked)
    assert len(batch) == 3 and len(batch.groups) == 1
    assert batch.groups[0] is stacked
    assert ImageBatch.of(batch) is batch  # already in the batch form
    assert batch.to_input_form() is stacked


def test_a_list_is_one_group_per_image_in_batch_order():
    images = _images((4, 5), (6, 2), (4, 5))
    batch = ImageBatch.of(images)
    assert len(batch) == 3 and [g.shape for g in batch.groups] == [
        (1, 3, 4, 5), (1, 3, 6, 2), (1, 3, 4, 5)]
    out = batch.to_input_form()
    assert isinstance(out, list) and all(torch.equal(a, b) for a, b in zip(out, images))
    assert all(torch.equal(a, b) for a, b in zip(batch.images(), images))


def test_map_keeps_the_form_and_split_cuts_per_image_values_by_group():
    batch = ImageBatch([torch.zeros(2, 3, 4, 4), torch.zeros(1, 3, 2, 2)], stacked=False)
    doubled = batch.map(lambda x: x + 2)
    assert [g.shape for g in doubled.groups] == [g.shape for g in batch.groups]
    assert not doubled.stacked and float(doubled.groups[1].max()) == 2
    assert batch.split(['a', 'b', 'c']) == [['a', 'b'], ['c']]
    level = torch.tensor([0.1, 0.2, 0.3])
    assert [t.tolist() for t in batch.split(level)] == [
        pytest.approx([0.1, 0.2]), pytest.approx([0.3])]


def test_image_mean_counts_every_image_the_same():
    batch = ImageBatch([torch.zeros(3, 3, 2, 2), torch.zeros(1, 3, 5, 5)], stacked=False)
    # group means 1.0 (3 images) and 5.0 (1 image): per image (1 + 1 + 1 + 5) / 4
    assert float(batch.image_mean([torch.tensor(1.0), torch.tensor(5.0)])) == 2.0
    one = ImageBatch.of(torch.zeros(2, 3, 2, 2))
    value = torch.tensor(0.25)
    assert one.image_mean([value]) is value  # one group: its own value, bit for bit
    with pytest.raises(ValueError, match='1 values for 2 groups'):
        batch.image_mean([value])


def test_equal_compares_pixels_and_grouping():
    images = _images((4, 5), (4, 5))
    assert ImageBatch.of(images).equal(ImageBatch.of([img.clone() for img in images]))
    assert not ImageBatch.of(images).equal(ImageBatch.of(torch.stack(images)))  # grouping
    assert not ImageBatch.of(images).equal(ImageBatch.of([images[0], images[1] + 1e-3]))


def test_bad_batches_are_refused_with_the_shape():
    with pytest.raises(ValueError, match=r'expected \(N, 3, H, W\) images, got shape \(3, 4, 5\)'):
        ImageBatch.of(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match='at least one image'):
        ImageBatch.of([])


def test_split_of_nothing_is_nothing_per_group():
    batch = ImageBatch([torch.zeros(2, 3, 4, 4), torch.zeros(1, 3, 2, 2)], stacked=False)
    assert batch.split(None) == [None, None]
