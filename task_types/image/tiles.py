"""Deep-zoom tiles for large images: a pyramid made with Pillow when the item is created, so the page
fetches and draws only the tiles visible at the current zoom instead of decoding and scaling the whole image
every frame (a 40-megapixel photo is 160 MB decoded; drawing it scaled costs more than a frame).

Level 0 is the full resolution, each next level half the size, the last one fits in one tile. Tiles are
JPEG (quality 85) of TILE pixels, stored beside the image as ``<image key>.dz/<level>/<col>_<row>.jpg``,
each an asset of the image's campaign so the page gets signed URLs for them like for the image. The item
payload carries only the pyramid's shape (``tiles``: tile size and level count), never a storage key.
Images up to MIN_PIXELS (4K and below) keep the single-image path.
"""
from __future__ import annotations

import io
import math

TILE = 512
MIN_PIXELS = 12_000_000
QUALITY = 85


def wants_tiles(width: int, height: int) -> bool:
    return width * height > MIN_PIXELS


def level_count(width: int, height: int) -> int:
    """Levels from full size down to the first that fits in one tile."""
    return max(1, math.ceil(math.log2(max(width, height) / TILE)) + 1)


def level_size(width: int, height: int, level: int) -> tuple[int, int]:
    return max(1, math.ceil(width / 2**level)), max(1, math.ceil(height / 2**level))


def tile_key(image_key: str, level: int, col: int, row: int) -> str:
    return f"{image_key}.dz/{level}/{col}_{row}.jpg"


def tile_names(image_key: str, width: int, height: int) -> dict[str, str]:
    """``{"tile:<level>:<col>:<row>": storage key}`` for every tile of the pyramid (TaskType.media_keys)."""
    out = {}
    for level in range(level_count(width, height)):
        w, h = level_size(width, height, level)
        for col in range(math.ceil(w / TILE)):
            for row in range(math.ceil(h / TILE)):
                out[f"tile:{level}:{col}:{row}"] = tile_key(image_key, level, col, row)
    return out


def build_pyramid(image_key: str) -> dict | None:
    """Make and store the tiles of a stored image once (idempotent); returns the payload's ``tiles`` shape,
    or None for an image small enough to draw whole."""
    from django.core.files.storage import default_storage
    from PIL import Image

    from assets.models import MediaAsset
    from assets.services import store_media

    image = MediaAsset.objects.filter(key=image_key, kind=MediaAsset.Kind.IMAGE).first()
    if image is None or not wants_tiles(int(image.info.get("width") or 0), int(image.info.get("height") or 0)):
        return None
    width, height = int(image.info["width"]), int(image.info["height"])
    shape = {"size": TILE, "levels": level_count(width, height)}
    names = tile_names(image_key, width, height)
    have = set(MediaAsset.objects.filter(key__in=names.values()).values_list("key", flat=True))
    if len(have) == len(names):
        return shape
    with default_storage.open(image_key, "rb") as fh:
        picture = Image.open(fh)
        picture.load()
    stored = []
    try:
        for level, col, row, data, (w, h) in pyramid(picture, skip=lambda lv, c, r: tile_key(image_key, lv, c, r) in have):
            stored.append(store_media(key=tile_key(image_key, level, col, row), data=data, kind="image",
                                      content_type="image/jpeg", info={"width": w, "height": h},
                                      campaign=image.campaign, uploaded_by=image.uploaded_by))
    except BaseException:
        for asset in stored:
            asset.delete()
        raise
    return shape


def pyramid(picture, skip=None):
    """(level, col, row, JPEG bytes, (w, h)) for every tile of a Pillow image, level 0 first; each level is
    the previous one halved (Image.reduce: a box filter, fast on 40 MP)."""
    level_image = picture.convert("RGB")
    for level in range(level_count(*picture.size)):
        if level:
            level_image = level_image.reduce(2)
        w, h = level_image.size
        for col in range(math.ceil(w / TILE)):
            for row in range(math.ceil(h / TILE)):
                if skip and skip(level, col, row):
                    continue
                box = (col * TILE, row * TILE, min(w, (col + 1) * TILE), min(h, (row + 1) * TILE))
                buf = io.BytesIO()
                level_image.crop(box).save(buf, format="JPEG", quality=QUALITY)
                yield level, col, row, buf.getvalue(), (box[2] - box[0], box[3] - box[1])


def delete_pyramid(image_key: str) -> None:
    """Remove an image's tiles (an import refused after its images were stored)."""
    from assets.models import MediaAsset

    for asset in MediaAsset.objects.filter(key__startswith=f"{image_key}.dz/"):
        asset.delete()
