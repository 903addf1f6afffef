"""One ONVIF camera: device information, media profiles, stream and snapshot URIs, PTZ.

Everything here is a request to the camera through ``onvif-zeep-async``; every failure
leaves as an :class:`OnvifError` whose text names the camera's address, never a password.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from onvif import ONVIFCamera  # type: ignore[import-untyped]

from .errors import OnvifError, classify

# A camera that answers at all answers within seconds; a stuck one must not hold a camera's
# start (or an API command) for the client's default 90 s.
REQUEST_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    manufacturer: str | None
    model: str | None
    firmware_version: str | None
    serial_number: str | None
    hardware_id: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "firmware_version": self.firmware_version,
            "serial_number": self.serial_number,
            "hardware_id": self.hardware_id,
        }


@dataclass(frozen=True, slots=True)
class Profile:
    token: str
    name: str | None
    width: int
    height: int
    encoding: str | None
    ptz: bool  # the profile has a PTZ configuration

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class Preset:
    token: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Resolved:
    """What the engine needs to record an ONVIF camera."""

    info: DeviceInfo
    main: Profile
    sub: Profile | None
    main_uri: str
    sub_uri: str | None
    snapshot_uri: str | None
    has_ptz: bool
    has_events: bool


def pick_profiles(
    profiles: list[Profile], main_token: str | None, sub_token: str | None
) -> tuple[Profile, Profile | None]:
    """The main stream (largest, or ``main_token``) and the substream (smallest other, or ``sub_token``)."""
    video = [profile for profile in profiles if profile.pixels > 0] or profiles
    if not video:
        raise OnvifError("no_media", "the camera has no media profile to stream")
    by_token = {profile.token: profile for profile in profiles}
    for token, what in ((main_token, "main_profile"), (sub_token, "sub_profile")):
        if token is not None and token not in by_token:
            known = ", ".join(sorted(by_token)) or "none"
            raise OnvifError("no_media", f"{what} {token!r} is not one of the camera's profiles ({known})")
    main = by_token[main_token] if main_token else max(video, key=lambda p: p.pixels)
    if sub_token:
        return main, by_token[sub_token]
    smaller = [profile for profile in video if profile.pixels < main.pixels]
    return main, min(smaller, key=lambda p: p.pixels) if smaller else None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _profile(raw: Any) -> Profile:
    encoder = getattr(raw, "VideoEncoderConfiguration", None)
    resolution = getattr(encoder, "Resolution", None) if encoder is not None else None
    width = int(getattr(resolution, "Width", 0) or 0)
    height = int(getattr(resolution, "Height", 0) or 0)
    return Profile(
        token=str(raw.token),
        name=_text(getattr(raw, "Name", None)),
        width=width,
        height=height,
        encoding=_text(getattr(encoder, "Encoding", None)) if encoder is not None else None,
        ptz=getattr(raw, "PTZConfiguration", None) is not None,
    )


class OnvifDevice:
    """A session with one camera (call :meth:`close` when done)."""

    def __init__(self, host: str, port: int, username: str | None, password: str | None) -> None:
        self.host = host
        self.port = port
        self.where = f"{host}:{port}"
        # no_cache: zeep would otherwise keep a WSDL cache database in the home folder.
        self.camera = ONVIFCamera(host, port, username or "", password or "", no_cache=True, adjust_time=True)
        self._ptz_token: str | None = None

    async def _call(self, what: Any) -> Any:
        try:
            return await asyncio.wait_for(what, REQUEST_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - the client raises many types; all become OnvifError
            raise classify(err, self.where) from None

    async def resolve(self, main_token: str | None = None, sub_token: str | None = None) -> Resolved:
        """Connect, read the device and its profiles, and find the stream and snapshot URIs."""
        await self._call(self.camera.update_xaddrs())
        devicemgmt = await self._call(self.camera.create_devicemgmt_service())
        raw_info = await self._call(devicemgmt.GetDeviceInformation())
        info = DeviceInfo(
            manufacturer=_text(getattr(raw_info, "Manufacturer", None)),
            model=_text(getattr(raw_info, "Model", None)),
            firmware_version=_text(getattr(raw_info, "FirmwareVersion", None)),
            serial_number=_text(getattr(raw_info, "SerialNumber", None)),
            hardware_id=_text(getattr(raw_info, "HardwareId", None)),
        )
        media = await self._call(self.camera.create_media_service())
        profiles = [_profile(raw) for raw in await self._call(media.GetProfiles()) or []]
        main, sub = pick_profiles(profiles, main_token, sub_token)
        main_uri = await self._stream_uri(media, main.token)
        sub_uri = await self._stream_uri(media, sub.token) if sub is not None else None
        snapshot_uri = await self._call(self.camera.get_snapshot_uri(main.token))
        xaddrs = {namespace.lower() for namespace in self.camera.xaddrs}
        has_ptz = any("ptz" in namespace for namespace in xaddrs)
        # PTZ requests name a profile with a PTZ configuration: the main one if it has one.
        ptz_profile = main if main.ptz else next((p for p in profiles if p.ptz), main)
        self._ptz_token = ptz_profile.token if has_ptz else None
        return Resolved(
            info=info,
            main=main,
            sub=sub,
            main_uri=main_uri,
            sub_uri=sub_uri,
            snapshot_uri=_text(snapshot_uri),
            has_ptz=has_ptz,
            has_events=any("events" in namespace for namespace in xaddrs),
        )

    async def _stream_uri(self, media: Any, token: str) -> str:
        request = media.create_type("GetStreamUri")
        request.ProfileToken = token
        request.StreamSetup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        answer = await self._call(media.GetStreamUri(request))
        uri = _text(getattr(answer, "Uri", None))
        if uri is None or not uri.lower().startswith(("rtsp://", "rtsps://")):
            raise OnvifError("no_media", f"the camera at {self.where} gave no RTSP URI for profile {token!r}")
        return uri

    # --- PTZ (velocities and translations are in the generic -1..1 spaces) ---
    async def _ptz(self) -> tuple[Any, str]:
        if self._ptz_token is None:
            raise OnvifError("not_supported", f"the camera at {self.where} has no PTZ")
        return await self._call(self.camera.create_ptz_service()), self._ptz_token

    async def continuous_move(self, pan: float, tilt: float, zoom: float) -> None:
        ptz, token = await self._ptz()
        velocity: dict[str, Any] = {"PanTilt": {"x": pan, "y": tilt}, "Zoom": {"x": zoom}}
        await self._call(ptz.ContinuousMove({"ProfileToken": token, "Velocity": velocity}))

    async def stop(self) -> None:
        ptz, token = await self._ptz()
        await self._call(ptz.Stop({"ProfileToken": token, "PanTilt": True, "Zoom": True}))

    async def relative_zoom(self, zoom: float) -> None:
        ptz, token = await self._ptz()
        await self._call(ptz.RelativeMove({"ProfileToken": token, "Translation": {"Zoom": {"x": zoom}}}))

    async def goto_preset(self, preset: str) -> None:
        ptz, token = await self._ptz()
        await self._call(ptz.GotoPreset({"ProfileToken": token, "PresetToken": preset}))

    async def presets(self) -> list[Preset]:
        ptz, token = await self._ptz()
        answer = await self._call(ptz.GetPresets({"ProfileToken": token}))
        return [Preset(str(raw.token), _text(getattr(raw, "Name", None))) for raw in answer or []]

    async def close(self) -> None:
        try:
            await self.camera.close()
        except Exception:  # noqa: BLE001 - closing sockets of a session that is over; nothing to report
            return
