"""The integration's brand images: the files HACS and Home Assistant's brands rules ask for,
and a real Home Assistant serving them from ``custom_components/vigil/brand/``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from PIL import Image

import custom_components.vigil  # noqa: F401 - imported before any hass fixture (see the HA dev notes)
from tests.addon.brand_art import BRAND
from tests.addon.conftest import ADDON, ROOT

ICONS = {"icon.png": 256, "icon@2x.png": 512}
# Home Assistant's brands repository: the logo's shortest side is 128-256 px (hDPI 256-512).
LOGOS = {"logo.png": (128, 256), "logo@2x.png": (256, 512)}


def _open(name: str) -> Image.Image:
    image = Image.open(BRAND / name)
    assert image.format == "PNG", name
    assert image.mode == "RGBA", f"{name}: needs an alpha channel"
    return image


def _transparent_and_trimmed(image: Image.Image) -> None:
    alpha = np.asarray(image.getchannel("A"))
    assert alpha.min() == 0, "a transparent background"
    assert image.getchannel("A").getbbox() == (0, 0, *image.size), "trimmed: nothing drawn touches no edge"


@pytest.mark.parametrize(("name", "size"), ICONS.items())
def test_icons(name: str, size: int) -> None:
    image = _open(name)
    assert image.size == (size, size)
    _transparent_and_trimmed(image)
    # The add-on's icon, drawn again: at the add-on icon's size they look the same.
    addon_icon = np.asarray(Image.open(ADDON / "icon.png").convert("RGBA"), dtype=float)
    scaled = np.asarray(image.resize((128, 128), Image.Resampling.LANCZOS), dtype=float)
    assert np.abs(addon_icon - scaled).mean() < 8


@pytest.mark.parametrize(("name", "shortest"), LOGOS.items())
def test_logos(name: str, shortest: tuple[int, int]) -> None:
    image = _open(name)
    width, height = image.size
    assert width > height, "landscape"
    assert shortest[0] <= height <= shortest[1]
    assert height == shortest[1], "the largest size the rules allow"
    _transparent_and_trimmed(image)


def test_hidpi_logo_is_the_logo_twice_as_large() -> None:
    logo, hidpi = _open("logo.png"), _open("logo@2x.png")
    assert abs(hidpi.width - 2 * logo.width) <= 1
    assert hidpi.height == 2 * logo.height


def test_quality_scale_brands_is_done() -> None:
    rules = yaml.safe_load((ROOT / "custom_components" / "vigil" / "quality_scale.yaml").read_text(encoding="utf-8"))
    brands: Any = rules["rules"]["brands"]
    assert (brands["status"] if isinstance(brands, dict) else brands) == "done"


@pytest.mark.parametrize("name", [*ICONS, *LOGOS])
async def test_home_assistant_serves_the_brand_images(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    hass_client: Callable[[], Awaitable[Any]],
    name: str,
) -> None:
    """Home Assistant's brands integration (2026.3+) serves a custom integration's own files
    before it asks its CDN (which this test cannot reach: a missing file fails here)."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    response = await client.get(f"/api/brands/integration/vigil/{name}")
    assert response.status == 200
    assert response.content_type == "image/png"
    assert await response.read() == (BRAND / name).read_bytes()
