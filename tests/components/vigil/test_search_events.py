"""vigil.search_events against an engine that detects objects: found by label, zone, score, camera and time.

One engine (``object_scene.py``) for the module: ``porch`` has one event labelled ``person``
(in the ``steps`` zone), ``yard`` one motion event of a moving box without labels (in ``path``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.media_source import async_resolve_media
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import DOMAIN
from tests.components.vigil.conftest import TOKEN, SetupEntry, entity_id
from tests.components.vigil.media_support import JPEG
from tests.components.vigil.object_scene import PATH, PORCH, STEPS, YARD, ObjectScene, start_object_engine


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectScene]:
    running = start_object_engine(tmp_path_factory.mktemp("search-events"))
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
async def entry(hass: HomeAssistant, scene: ObjectScene, setup_entry: SetupEntry) -> MockConfigEntry:
    assert await async_setup_component(hass, "media_source", {})
    return await setup_entry(scene.rig)


async def _search(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(DOMAIN, "search_events", data, blocking=True, return_response=True)
    assert isinstance(response, dict)
    return response


async def _found(hass: HomeAssistant, **data: Any) -> list[str]:
    return [event["id"] for event in (await _search(hass, **data))["events"]]


def _local(ms: int, hass: HomeAssistant) -> str:
    """A wall-clock time in Home Assistant's zone, as a person types it (no offset)."""
    zone = dt_util.get_time_zone(hass.config.time_zone)
    return dt_util.utc_from_timestamp(ms / 1000).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


async def test_the_person_event_is_found_by_label_and_described(
    hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    person = scene.person_event
    answer = await _search(hass, labels=["person"])
    assert [event["id"] for event in answer["events"]] == [person["id"]]
    assert (answer["count"], answer["truncated"]) == (1, False)
    (found,) = answer["events"]
    start = dt_util.utc_from_timestamp(person["start_ms"] / 1000)
    end = dt_util.utc_from_timestamp(person["end_ms"] / 1000)
    assert found == {
        "id": person["id"],
        "camera_id": PORCH,
        "camera": "Porch",
        "kind": "motion",
        "labels": ["person"],
        "groups": ["person"],
        "zones": [STEPS],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "running": False,
        "length": round((person["end_ms"] - person["start_ms"]) / 1000, 1),
        "top_score": round(person["top_score"], 3),
        "objects": 1,
        "clip": f"media-source://vigil/{entry.entry_id}/event/{person['id']}",
        "snapshot": f"media-source://vigil/{entry.entry_id}/event/{person['id']}/snapshot",
    }
    assert start.tzinfo is not None
    assert found["start"].endswith("+00:00")
    # Data, never a link or the engine's token.
    text = json.dumps(answer)
    assert "authSig" not in text
    assert TOKEN not in text
    assert "http" not in text


async def test_its_media_content_ids_play(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    (found,) = (await _search(hass, labels=["person"]))["events"]
    client = await hass_client_no_auth()
    snapshot = await async_resolve_media(hass, found["snapshot"], None)
    assert snapshot.mime_type == "image/jpeg"
    response = await client.get(snapshot.url)
    assert response.status == 200
    assert (await response.read()).startswith(JPEG)
    clip = await async_resolve_media(hass, found["clip"], None)
    assert clip.mime_type == "video/mp4"
    response = await client.get(clip.url)
    assert response.status == 200
    assert response.content_type == "video/mp4"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"labels": ["vehicle"]}, []),
        ({"labels": ["animal", "car"]}, []),
        ({"labels": ["Person"]}, ["person"]),
        ({"labels": ["vehicle", "person"]}, ["person"]),
        ({"zones": [STEPS]}, ["person"]),
        ({"zones": [PATH]}, ["box"]),
        ({"zones": [STEPS, PATH]}, ["person", "box"]),
        ({"labels": ["person"], "zones": [PATH]}, []),
        ({}, ["person", "box"]),
        ({"min_score": 0.5}, ["person"]),
        ({"min_score": 0.999}, []),
        ({"camera_id": [YARD]}, ["box"]),
        ({"camera_id": YARD, "labels": ["person"]}, []),
    ],
)
async def test_found_by_label_zone_score_and_camera_id(
    hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry, query: dict[str, Any], expected: list[str]
) -> None:
    ids = {"person": scene.person_event["id"], "box": scene.box_event["id"]}
    found = await _found(hass, **query)
    assert set(found) == {ids[name] for name in expected}
    assert len(found) == len(expected)


async def test_a_minimum_score_above_its_score_excludes_it(
    hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    score = scene.person_event["top_score"]
    assert await _found(hass, labels=["person"], min_score=round(score - 0.01, 3)) == [scene.person_event["id"]]
    assert await _found(hass, labels=["person"], min_score=round(score + 0.01, 3)) == []


async def test_cameras_by_entity_and_by_device(hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry) -> None:
    porch = entity_id(hass, scene.rig, "camera", "camera", PORCH)
    assert await _found(hass, entity_id=porch) == [scene.person_event["id"]]
    devices = dr.async_get(hass)
    yard = devices.async_get_device_by_identifier((DOMAIN, f"{scene.rig.instance_id}-{YARD}"), entry.entry_id)
    assert yard is not None
    assert await _found(hass, device_id=yard.id) == [scene.box_event["id"]]
    assert await _found(hass, device_id=yard.id, labels=["person"]) == []
    # The engine's device is all its cameras.
    engine = devices.async_get_device_by_identifier((DOMAIN, scene.rig.instance_id), entry.entry_id)
    assert engine is not None
    assert len(await _found(hass, device_id=engine.id)) == 2


async def test_cameras_by_area(hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry) -> None:
    """An area with the porch camera's device finds its events; an area without a Vigil camera is a mistake."""
    areas = ar.async_get(hass)
    front = areas.async_create("Front of the house")
    empty = areas.async_create("Attic")
    devices = dr.async_get(hass)
    porch = devices.async_get_device_by_identifier((DOMAIN, f"{scene.rig.instance_id}-{PORCH}"), entry.entry_id)
    assert porch is not None
    devices.async_update_device(porch.id, area_id=front.id)
    assert await _found(hass, area_id=front.id) == [scene.person_event["id"]]
    with pytest.raises(ServiceValidationError) as caught:
        await _search(hass, area_id=empty.id)
    assert caught.value.translation_key == "unknown_camera"
    assert caught.value.translation_placeholders == {"camera": empty.id}


async def test_a_device_of_another_integration_is_no_camera(
    hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    lamp = dr.async_get(hass).async_get_or_create(config_entry_id=other.entry_id, identifiers={("demo", "lamp")})
    with pytest.raises(ServiceValidationError) as caught:
        await _search(hass, device_id=lamp.id)
    assert caught.value.translation_placeholders == {"camera": lamp.id}


async def test_labels_are_spelled_as_people_write_them(
    hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry
) -> None:
    """Case, spaces, underscores and repeats do not matter; an empty label is no label."""
    assert await _found(hass, labels=[" PERSON ", "person", "", "traffic_light"]) == [scene.person_event["id"]]


async def test_a_time_range_in_local_time(hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry) -> None:
    person = scene.person_event
    around = {"start": _local(person["start_ms"] - 60_000, hass), "end": _local(person["end_ms"] + 60_000, hass)}
    assert await _found(hass, labels=["person"], **around) == [person["id"]]
    before = {"start": _local(person["start_ms"] - 3_600_000, hass), "end": _local(person["start_ms"] - 60_000, hass)}
    assert await _found(hass, labels=["person"], **before) == []
    # With an offset: the same instant in UTC.
    utc_end = dt_util.utc_from_timestamp(person["start_ms"] / 1000) - timedelta(minutes=1)
    assert await _found(hass, labels=["person"], end=utc_end.isoformat()) == []


async def test_the_limit_keeps_the_newest(hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry) -> None:
    newest = max((scene.person_event, scene.box_event), key=lambda event: (event["start_ms"], event["id"]))
    answer = await _search(hass, limit=1)
    assert [event["id"] for event in answer["events"]] == [newest["id"]]
    assert answer["truncated"] is True


@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        ({"camera_id": ["nope"]}, "unknown_camera", {"camera": "nope"}),
        ({"entity_id": "camera.nothing_here"}, "unknown_camera", {"camera": "camera.nothing_here"}),
        ({"min_score": 1.5}, "score_out_of_range", {"min_score": "1.5"}),
        ({"min_score": -0.1}, "score_out_of_range", {"min_score": "-0.1"}),
        ({"limit": 0}, "limit_out_of_range", {"limit": "0", "max": "500"}),
        ({"limit": 501}, "limit_out_of_range", {"limit": "501", "max": "500"}),
        ({"labels": ["unicorn"]}, "unknown_label", {"label": "unicorn", "groups": "person, vehicle, animal"}),
        (
            {"start": "2026-01-05 12:00:00", "end": "2026-01-05 11:00:00"},
            "end_before_start",
            {"start": "2026-01-05 12:00:00", "end": "2026-01-05 11:00:00"},
        ),
    ],
)
async def test_mistakes_are_clear_translated_errors(
    hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any], key: str, placeholders: dict[str, str]
) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await _search(hass, **data)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == key
    assert caught.value.translation_placeholders == placeholders
    # The translated message names what was wrong.
    assert str(caught.value)


async def test_usable_from_a_script(hass: HomeAssistant, scene: ObjectScene, entry: MockConfigEntry) -> None:
    """The README's Assist script: the action's answer is the script's, templates and all."""
    porch = entity_id(hass, scene.rig, "camera", "camera", PORCH)
    sequence = [
        {
            "action": "vigil.search_events",
            "target": {"entity_id": porch},
            "data": {"labels": ["person"], "start": "{{ today_at('00:00') }}", "min_score": 0.6, "limit": 10},
            "response_variable": "found",
        },
        {"stop": "Done", "response_variable": "found"},
    ]
    config = {"script": {"people_at_the_door": {"description": "Who was seen", "sequence": sequence}}}
    assert await async_setup_component(hass, "script", config)
    answer = await hass.services.async_call("script", "people_at_the_door", {}, blocking=True, return_response=True)
    assert isinstance(answer, dict)
    events = answer["events"]
    assert isinstance(events, list)
    assert [event["id"] for event in events if isinstance(event, dict)] == [scene.person_event["id"]]
