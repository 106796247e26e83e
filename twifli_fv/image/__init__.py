"""Image layer: read segmented images, map labels to phases, orient them, generate composites."""

from twifli_fv.image.phases import Phase, parse_label_map
from twifli_fv.image.segmented import SegmentedImage, load_image

__all__ = ["Phase", "SegmentedImage", "load_image", "parse_label_map"]
