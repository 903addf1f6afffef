"""The media browser's People, Vehicles and Animals folders against an engine that detects objects.

One engine (``object_scene.py``) for the module: ``porch`` sees a person walk in (a motion
event labelled ``person``), ``yard`` a moving box (a motion event without labels). The person's
event is under People (per camera and across cameras), never under Vehicles or Animals; the
box's event is under Events only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import async_browse_media, async_resolve_media
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import DOMAIN
from custom_components.vigil.timeline import local_day
from tests.components.vigil.conftest import SetupEntry
from tests.components.vigil.media_support import JPEG
from tests.components.vigil.object_scene import PORCH, STEPS, YARD, ObjectScene, start_object_engine

ROOT = f"media-source://{DOMAIN}"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectScene]:
    running = start_object_engine(tmp_path_factory.mktemp("media-objects"))
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
async def entry(hass: HomeAssistant, scene: ObjectScene, setup_entry: SetupEntry) -> MockConfigEntry:
    assert await async_setup_component(hass, "media_source", {})
    return await setup_entry(scene.rig)


async def _children(hass: HomeAssistant, identifier: str) -> list[Any]:
    node = await async_browse_media(hass, f"{ROOT}/{identifier}" if identifier else ROOT)
    return list(node.children or [])


def _titles(children: list[Any]) -> list[str]:
    return [child.title for child in children]


def _day(hass: HomeAssistant, event: dict[str, Any]) -> str:
    zone = dt_util.get_time_zone(hass.config.time_zone)
    assert zone is not None
    return local_day(dt_util.utc_from_timestamp(event["start_ms"] / 1000), zone).isoformat()


def _event_ids(children: list[Any]) -> set[str]:
    return {child.media_content_id.rsplit("/", 1)[-1] for child in children}


async def test_the_person_event_is_under_people_with_its_label_zone_and_crop(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    event = scene.person_event
    day = _day(hass, event)
    camera = f"{entry.entry_id}/camera/{PORCH}"
    # The camera's folders: its People next to its Events; no Vehicles or Animals (none seen).
    assert _titles(await _children(hass, camera)) == ["Events", "People", "Recordings"]

    days = await _children(hass, f"{camera}/label/person")
    assert [child.media_content_id for child in days] == [f"{ROOT}/{camera}/label/person/{day}"]
    node = await async_browse_media(hass, days[0].media_content_id)
    assert node.title.startswith("Porch · People · ")
    (item,) = node.children or []
    assert item.media_content_id == f"{ROOT}/{entry.entry_id}/event/{event['id']}"
    assert item.can_play
    zone = dt_util.get_time_zone(hass.config.time_zone)
    start = dt_util.utc_from_timestamp(event["start_ms"] / 1000).astimezone(zone)
    # Time, label, zone, length: the tile keeps the time, the rest is in the title.
    assert item.title.startswith(f"{start:%H:%M:%S} · person · {STEPS} · ")
    assert item.title.endswith(" s")

    # Its thumbnail is the engine's crop of the person: upright, unlike the 16:9 frame.
    client = await hass_client_no_auth()
    response = await client.get(item.thumbnail)
    assert response.status == 200
    body = await response.read()
    assert body.startswith(JPEG)
    width, height = Image.open(io.BytesIO(body)).size
    assert height > width, (width, height)

    played = await async_resolve_media(hass, item.media_content_id, None)
    assert played.mime_type == "video/mp4"


async def test_vehicles_and_animals_hold_nothing_and_the_box_is_only_an_event(
    hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    for camera_id in (PORCH, YARD):
        camera = f"{entry.entry_id}/camera/{camera_id}"
        assert await _children(hass, f"{camera}/label/vehicle") == []
        assert await _children(hass, f"{camera}/label/animal") == []
    yard = f"{entry.entry_id}/camera/{YARD}"
    assert _titles(await _children(hass, yard)) == ["Events", "Recordings"]
    assert await _children(hass, f"{yard}/label/person") == []
    box = scene.box_event
    events = await _children(hass, f"{yard}/events/{_day(hass, box)}")
    assert box["id"] in _event_ids(events)
    (item,) = (child for child in events if child.media_content_id.endswith(box["id"]))
    # No label: time, zone, length.
    assert " · path · " in item.title
    assert "person" not in item.title
    # The person's event is among the porch's Events too, labelled.
    porch_events = await _children(hass, f"{entry.entry_id}/camera/{PORCH}/events/{_day(hass, scene.person_event)}")
    (person,) = (child for child in porch_events if child.media_content_id.endswith(scene.person_event["id"]))
    assert " · person · " in person.title


async def test_people_across_cameras(hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry) -> None:
    # One engine: its folders are the root's, People among them (Vehicles and Animals have nothing).
    top = _titles(await _children(hass, ""))
    assert top == ["Porch", "Yard", "People", "Clips", "Snapshots"]
    day = _day(hass, scene.person_event)
    days = await _children(hass, f"{entry.entry_id}/label/person")
    assert [child.media_content_id for child in days] == [f"{ROOT}/{entry.entry_id}/label/person/{day}"]
    assert days[0].thumbnail is not None
    node = await async_browse_media(hass, days[0].media_content_id)
    assert node.title.startswith("People · ")
    children = list(node.children or [])
    assert _event_ids(children) == {scene.person_event["id"]}
    # Across cameras, each event says its camera.
    assert " · Porch · person · " in children[0].title
    assert await _children(hass, f"{entry.entry_id}/label/vehicle") == []


@pytest.mark.parametrize(
    "identifier",
    ["label/unicorn", "label/person/yesterday", f"camera/{PORCH}/label/cars", "camera/nope/label/person"],
)
async def test_unknown_label_folders_are_browse_errors(
    hass: HomeAssistant, entry: MockConfigEntry, identifier: str
) -> None:
    with pytest.raises(BrowseError):
        await async_browse_media(hass, f"{ROOT}/{entry.entry_id}/{identifier}")
