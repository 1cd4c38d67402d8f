from .image_batch import ImageBatch, Images

__all__ = ['ImageBatch', 'Images']
