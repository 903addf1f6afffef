"""The integration's brand images (``custom_components/vigil/brand/``), drawn at their sizes.

Home Assistant (2026.3 and later) serves a custom integration's brand images from its
``brand`` folder, and HACS looks for them there. They follow the rules of Home Assistant's
brands repository: PNG with transparency, trimmed; icon 256x256 (``icon@2x``: 512x512);
logo landscape, its shortest side 128 to 256 px (``@2x``: 256 to 512), the largest preferred.

The artwork is the add-on's (``addon/icon.png``, 128x128, and ``addon/logo.png``): a navy
rounded square with an eye and a red recording dot, and beside it "Vigil" over "NETWORK
VIDEO RECORDER". Scaling those small bitmaps up would blur them, so the shapes are drawn
again here from their measured geometry (in the 128-unit grid of ``addon/icon.png``), four
times larger and filtered down; the words use DejaVu Sans. Regenerate with
``.venv/bin/python -m tests.addon.brand_art`` (test_brand.py checks the result).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]
BRAND = ROOT / "custom_components" / "vigil" / "brand"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

NAVY = (18, 32, 56, 255)
WHITE = (245, 247, 250, 255)
TEAL = (38, 166, 154, 255)
RED = (229, 57, 53, 255)
HIGHLIGHT = (255, 255, 255, 255)
SUPERSAMPLE = 4
GRID = 128  # addon/icon.png's pixels: the unit of the geometry below

ICON_SIZES = {"icon.png": 256, "icon@2x.png": 512}
LOGO_HEIGHTS = {"logo.png": 256, "logo@2x.png": 512}


def _disc(draw: ImageDraw.ImageDraw, unit: float, cx: float, cy: float, r: float, fill: tuple[int, ...]) -> None:
    draw.ellipse(((cx - r) * unit, (cy - r) * unit, (cx + r) * unit, (cy + r) * unit), fill=fill)


def _icon_canvas(size: int) -> Image.Image:
    """The icon at ``size`` x SUPERSAMPLE, not yet filtered down."""
    big = size * SUPERSAMPLE
    unit = big / GRID
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=28 * unit, fill=NAVY)
    # The eye: the lens between two circles of radius 51 whose arcs meet at x = 18 and 109.
    eye_x, eye_y, half_height, radius = 63.5, 66.0, 28.0, 51.0
    upper = Image.new("L", (big, big), 0)
    _disc(ImageDraw.Draw(upper), unit, eye_x, eye_y - half_height + radius, radius, (255,))
    lower = Image.new("L", (big, big), 0)
    _disc(ImageDraw.Draw(lower), unit, eye_x, eye_y + half_height - radius, radius, (255,))
    lens = ImageChops.darker(upper, lower)
    image.paste(Image.new("RGBA", (big, big), WHITE), (0, 0), lens)
    _disc(draw, unit, eye_x, eye_y, 21.2, TEAL)  # iris
    _disc(draw, unit, eye_x, eye_y, 10.2, NAVY)  # pupil
    _disc(draw, unit, 69.5, 60.2, 3.4, HIGHLIGHT)  # the pupil's highlight
    _disc(draw, unit, 101.8, 22.5, 7.9, RED)  # recording
    return image


def draw_icon(size: int) -> Image.Image:
    return _icon_canvas(size).resize((size, size), Image.Resampling.LANCZOS)


def draw_logo(height: int) -> Image.Image:
    """The icon, then "Vigil" over "NETWORK VIDEO RECORDER", trimmed to what is drawn."""
    big = height * SUPERSAMPLE
    title_font = ImageFont.truetype(str(FONT), round(big * 0.52))
    subtitle_font = ImageFont.truetype(str(FONT), round(big * 0.118))
    text_x = big * 1.17
    canvas = Image.new("RGBA", (big * 4, big), (0, 0, 0, 0))
    canvas.paste(_icon_canvas(height), (0, 0))
    draw = ImageDraw.Draw(canvas)
    # Baselines as in addon/logo.png: the title's at two thirds of the height, the subtitle's
    # near the bottom, below the title's descender.
    draw.text((text_x, big * 0.667), "Vigil", font=title_font, fill=NAVY, anchor="ls")
    draw.text((text_x, big * 0.905), "NETWORK VIDEO RECORDER", font=subtitle_font, fill=TEAL, anchor="ls")
    box = canvas.getchannel("A").getbbox()
    assert box is not None
    trimmed = canvas.crop(box)
    width = round(trimmed.width / SUPERSAMPLE)
    return trimmed.resize((width, round(trimmed.height / SUPERSAMPLE)), Image.Resampling.LANCZOS)


def main() -> None:
    BRAND.mkdir(parents=True, exist_ok=True)
    for name, size in ICON_SIZES.items():
        draw_icon(size).save(BRAND / name, optimize=True)
    for name, height in LOGO_HEIGHTS.items():
        draw_logo(height).save(BRAND / name, optimize=True)


if __name__ == "__main__":
    main()
