# mypy: ignore-errors
"""A deterministic RTSP test camera built on Debian's gst-rtsp-server.

Runs under the system Python (``/usr/bin/python3``) with PyGObject, never under the
project's virtualenv, so it must only import the standard library and ``gi``.

Every client connection gets its own pipeline (non-shared media factory), so the
scene time of a stream is 0 at the first frame that client receives.  The scene is a
static SMPTE pattern with a solid box composited on top.  The box position is driven
by GstController control sources keyed on the stream time of the compositor output,
so it only moves inside the ``--motion`` windows.  ``--lights-on T`` makes the whole
frame step from dim to normal brightness at scene time T.

``--person START-END`` adds a person (a rectangle cut from a photograph, ``--person-image``
and ``--person-crop``) that stands outside the frame until START, walks in from the left
edge until END and then stands still, feet on the floor line, left of the frame's centre.
Its position is driven by control sources like the box's; the photograph is decoded once
(``imagefreeze``), so the picture itself never changes: only where it is.

Mounts: /h264 (H.264 + AAC), /h265 (H.265 + AAC), /h264-noaudio, /sub (640x360 H.264).

It prints two lines to stdout: ``INIT <seconds>`` once GStreamer is initialised (on a cold
start that includes rebuilding its plugin registry, which can take many seconds on a loaded
machine), then ``READY <port>`` once the server listens (well under a second later). The
controller bounds the two phases separately, so a cold start is not mistaken for a broken
camera and a broken camera still fails fast.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import gi

gi.require_versions({"Gst": "1.0", "GstController": "1.0", "GstRtsp": "1.0", "GstRtspServer": "1.0"})

from gi.repository import GLib, Gst, GstController, GstRtsp, GstRtspServer  # noqa: E402

PROG = "rtsp_server"
REFERENCE_WIDTH = 1280
REFERENCE_HEIGHT = 720
SUB_WIDTH = 640
SUB_HEIGHT = 360
ROLE = "camera-user"
# Brightness of the scene before --lights-on (videobalance brightness, -1..1).
DIM_BRIGHTNESS = -0.35
# The person's height as a share of the frame's, and where (share of the width) it stands.
PERSON_HEIGHT = 0.45
PERSON_STANDS_AT = 0.4

# Which Debian package provides which element, for clear error messages.
ELEMENT_PACKAGES = {
    "videotestsrc": "gstreamer1.0-plugins-base",
    "audiotestsrc": "gstreamer1.0-plugins-base",
    "compositor": "gstreamer1.0-plugins-base",
    "videoconvert": "gstreamer1.0-plugins-base",
    "audioconvert": "gstreamer1.0-plugins-base",
    "audioresample": "gstreamer1.0-plugins-base",
    "videobalance": "gstreamer1.0-plugins-good",
    "filesrc": "gstreamer1.0 (core)",
    "jpegdec": "gstreamer1.0-plugins-good",
    "videocrop": "gstreamer1.0-plugins-good",
    "videoscale": "gstreamer1.0-plugins-base",
    "imagefreeze": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "rtph265pay": "gstreamer1.0-plugins-good",
    "rtpmp4gpay": "gstreamer1.0-plugins-good",
    "x264enc": "gstreamer1.0-plugins-ugly",
    "x265enc": "gstreamer1.0-plugins-bad",
    "avenc_aac": "gstreamer1.0-libav",
    "voaacenc": "gstreamer1.0-plugins-bad",
    "queue": "gstreamer1.0 (core)",
}


def log(message: str) -> None:
    print(f"{PROG}[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def parse_windows(text: str) -> list[tuple[float, float]]:
    """Parse ``"20-35,50-60"`` into ``[(20.0, 35.0), (50.0, 60.0)]``."""
    windows: list[tuple[float, float]] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        start_text, sep, end_text = part.partition("-")
        if not sep:
            raise argparse.ArgumentTypeError(f"motion window {part!r} is not START-END")
        try:
            start, end = float(start_text), float(end_text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"motion window {part!r}: {err}") from None
        if start < 0 or end <= start:
            raise argparse.ArgumentTypeError(f"motion window {part!r} must have 0 <= START < END")
        windows.append((start, end))
    windows.sort()
    for (_, end), (start, _) in itertools.pairwise(windows):
        if start < end:
            raise argparse.ArgumentTypeError(f"motion windows overlap: {text!r}")
    return windows


def parse_crop(text: str) -> tuple[int, int, int, int]:
    """Parse ``"left,top,right,bottom"`` (pixels of the photograph)."""
    try:
        left, top, right, bottom = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"crop {text!r} is not LEFT,TOP,RIGHT,BOTTOM") from None
    if left < 0 or top < 0 or right <= left or bottom <= top:
        raise argparse.ArgumentTypeError(f"crop {text!r} must have 0 <= LEFT < RIGHT and 0 <= TOP < BOTTOM")
    return left, top, right, bottom


def parse_walk(text: str) -> tuple[float, float]:
    windows = parse_windows(text)
    if len(windows) != 1:
        raise argparse.ArgumentTypeError(f"person walk {text!r} is one START-END window")
    return windows[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port, 0 = pick a free one")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--keyint", type=float, default=2.0, help="keyframe interval, seconds")
    parser.add_argument("--motion", type=parse_windows, default=[], help='e.g. "20-35,50-60"')
    parser.add_argument("--lights-on", type=float, default=None, metavar="T")
    parser.add_argument("--person", type=parse_walk, default=None, metavar="START-END", help="walks in, then stands")
    parser.add_argument("--person-image", type=Path, default=None, help="JPEG photograph of the person")
    parser.add_argument("--person-crop", type=parse_crop, default=None, help="LEFT,TOP,RIGHT,BOTTOM in the photo")
    parser.add_argument("--auth", choices=("none", "basic", "digest"), default="none")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--bitrate", type=int, default=2000, help="main stream kbit/s")
    parser.add_argument(
        "--watch-stdin",
        action="store_true",
        help="exit when stdin reaches end of file (the controlling process died)",
    )
    args = parser.parse_args(argv)
    if args.width < 16 or args.height < 16 or args.width % 2 or args.height % 2:
        parser.error("--width/--height must be even and at least 16")
    if not 0 < args.fps <= 120:
        parser.error("--fps must be in (0, 120]")
    if args.keyint <= 0:
        parser.error("--keyint must be positive")
    if args.bitrate <= 0:
        parser.error("--bitrate must be positive")
    if args.lights_on is not None and args.lights_on < 0:
        parser.error("--lights-on must be >= 0")
    if args.person is not None and (args.person_image is None or args.person_crop is None):
        parser.error("--person needs --person-image and --person-crop")
    if args.person_image is not None and not args.person_image.is_file():
        parser.error(f"--person-image {args.person_image}: no such file")
    if args.person is not None:
        width, height = jpeg_size(args.person_image)
        if args.person_crop[2] > width or args.person_crop[3] > height:
            parser.error(f"--person-crop {args.person_crop} is outside the {width}x{height} photograph")
    return args


# --------------------------------------------------------------------------- scene


@dataclass(frozen=True)
class Scene:
    """Geometry and timing of one rendition of the scene (main stream or substream)."""

    width: int
    height: int
    fps: Fraction
    keyint_frames: int
    bitrate: int
    motion: tuple[tuple[float, float], ...]
    lights_on: float | None
    person: Person | None = None

    @property
    def box_width(self) -> int:
        return max(8, round(self.width * 160 / REFERENCE_WIDTH) // 2 * 2)

    @property
    def box_height(self) -> int:
        return max(8, round(self.height * 120 / REFERENCE_HEIGHT) // 2 * 2)

    def x_points(self) -> list[tuple[float, int]]:
        # Rest at 10 % of the width, sweep between 0 and the right edge at half the
        # frame width per second (about 43 px per frame at 1280 px / 15 fps).
        return motion_points(
            self.motion,
            rest=round(self.width * 0.1),
            low=0,
            high=self.width - self.box_width,
            speed=self.width * 0.5,
        )

    def y_points(self) -> list[tuple[float, int]]:
        return motion_points(
            self.motion,
            rest=round(self.height * 0.4),
            low=round(self.height * 0.15),
            high=round(self.height * 0.75) - self.box_height,
            speed=self.height * 0.2,
        )


@dataclass(frozen=True)
class Person:
    """The person of the scene: a photograph's rectangle, walking in and then standing still."""

    image: Path
    crop: tuple[int, int, int, int]  # left, top, right, bottom in the photograph's pixels
    walk: tuple[float, float]  # scene seconds: outside the frame before, standing after

    def size(self, scene: Scene) -> tuple[int, int]:
        """Width and height in the scene: 45 % of the frame's height, the photograph's aspect kept."""
        left, top, right, bottom = self.crop
        height = max(8, round(scene.height * PERSON_HEIGHT) // 2 * 2)
        width = max(4, round(height * (right - left) / (bottom - top)) // 2 * 2)
        return width, height

    def points(self, scene: Scene) -> tuple[list[tuple[float, int]], int]:
        """Control points of xpos (just outside the left edge, then walking to its place) and the
        fixed ypos (feet at 90 % of the frame's height)."""
        width, height = self.size(scene)
        start, end = self.walk
        outside, standing = -width, round(scene.width * PERSON_STANDS_AT) - width // 2
        return [(0.0, outside), (start, outside), (end, standing)], round(scene.height * 0.9) - height


def jpeg_size(path: Path) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame marker (no image library here)."""
    data = path.read_bytes()
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            break
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + length
    raise ValueError(f"{path}: no JPEG start-of-frame marker")


def motion_points(
    windows: tuple[tuple[float, float], ...], *, rest: int, low: int, high: int, speed: float
) -> list[tuple[float, int]]:
    """Control points (seconds, position) of a triangle wave that only runs in windows.

    Between control points the position is interpolated linearly; after the last one it
    holds.  Outside the windows consecutive points have equal positions, so the box
    stands perfectly still there.
    """
    high = max(high, low + 1)
    points: list[tuple[float, int]] = [(0.0, rest)]
    pos = float(rest)
    direction = 1.0
    for start, end in windows:
        points.append((start, round(pos)))
        t = start
        while t < end:
            target = high if direction > 0 else low
            duration = abs(target - pos) / speed
            if duration <= 0:
                direction = -direction
                continue
            if t + duration >= end:
                pos += direction * speed * (end - t)
                t = end
            else:
                pos = float(target)
                t += duration
                direction = -direction
            points.append((t, round(pos)))
    return points


def seconds_to_ns(seconds: float) -> int:
    return round(seconds * Gst.SECOND)


def video_branch(scene: Scene, *, codec: str) -> str:
    fps = f"{scene.fps.numerator}/{scene.fps.denominator}"
    raw = f"video/x-raw,format=I420,framerate={fps}"
    lights = "videobalance name=lights ! " if scene.lights_on is not None else ""
    if codec == "h264":
        encoder = (
            f"x264enc name=enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max={scene.keyint_frames} bitrate={scene.bitrate} "
            f'option-string="scenecut=0:sliced-threads=0" ! video/x-h264,profile=main ! '
            f"rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    elif codec == "h265":
        encoder = (
            f"x265enc name=enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max={scene.keyint_frames} bitrate={scene.bitrate} "
            f'option-string="scenecut=0:open-gop=0:info=0" ! '
            f"rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    else:  # pragma: no cover - programming error
        raise ValueError(codec)
    person = ""
    if scene.person is not None:
        width, height = scene.person.size(scene)
        left, top, right, bottom = scene.person.crop
        photo_width, photo_height = jpeg_size(scene.person.image)
        person = (
            f'filesrc location="{scene.person.image}" ! jpegdec ! videoconvert ! '
            f"videocrop left={left} top={top} right={photo_width - right} bottom={photo_height - bottom} ! "
            f"videoscale add-borders=false ! "
            f"video/x-raw,width={width},height={height} ! imagefreeze is-live=true ! videoconvert ! "
            f"{raw},width={width},height={height} ! scene.sink_2 "
        )
    return (
        f"videotestsrc is-live=true pattern=smpte75 ! "
        f"{raw},width={scene.width},height={scene.height} ! scene.sink_0 "
        f"videotestsrc is-live=true pattern=solid-color foreground-color=0xffffffff ! "
        f"{raw},width={scene.box_width},height={scene.box_height} ! scene.sink_1 "
        f"{person}"
        f"compositor name=scene background=black ! "
        f"{raw},width={scene.width},height={scene.height} ! {lights}"
        f"queue max-size-buffers=2 max-size-bytes=0 max-size-time=0 ! {encoder}"
    )


def audio_branch(aac_encoder: str) -> str:
    return (
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.1 samplesperbuffer=1024 ! "
        "audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! "
        f"{aac_encoder} bitrate=64000 ! queue ! rtpmp4gpay name=pay1 pt=97"
    )


def attach_controls(pipeline: Gst.Bin, scene: Scene) -> None:
    compositor = pipeline.get_by_name("scene")
    box_pad = compositor.get_static_pad("sink_1")
    for prop, points in (("xpos", scene.x_points()), ("ypos", scene.y_points())):
        source = GstController.InterpolationControlSource()
        source.set_property("mode", GstController.InterpolationMode.LINEAR)
        for seconds, value in points:
            source.set(seconds_to_ns(seconds), float(value))
        box_pad.add_control_binding(GstController.DirectControlBinding.new_absolute(box_pad, prop, source))
        box_pad.set_property(prop, points[0][1])
    if scene.person is not None:
        person_pad = compositor.get_static_pad("sink_2")
        x_points, y = scene.person.points(scene)
        source = GstController.InterpolationControlSource()
        source.set_property("mode", GstController.InterpolationMode.LINEAR)
        for seconds, value in x_points:
            source.set(seconds_to_ns(seconds), float(value))
        person_pad.add_control_binding(GstController.DirectControlBinding.new_absolute(person_pad, "xpos", source))
        person_pad.set_property("xpos", x_points[0][1])
        person_pad.set_property("ypos", y)
    if scene.lights_on is not None:
        balance = pipeline.get_by_name("lights")
        source = GstController.InterpolationControlSource()
        source.set_property("mode", GstController.InterpolationMode.NONE)  # a step
        source.set(0, DIM_BRIGHTNESS)
        source.set(seconds_to_ns(scene.lights_on), 0.0)
        balance.add_control_binding(GstController.DirectControlBinding.new_absolute(balance, "brightness", source))
        balance.set_property("brightness", DIM_BRIGHTNESS)


# --------------------------------------------------------------------------- server


class SceneFactory(GstRtspServer.RTSPMediaFactory):
    """Non-shared factory: every client builds a fresh pipeline starting at time 0."""

    def __init__(self, mount: str, scene: Scene, launch: str) -> None:
        super().__init__()
        self.mount = mount
        self.scene = scene
        self.set_launch(launch)
        self.set_shared(False)
        self.set_eos_shutdown(False)
        self.set_stop_on_disconnect(True)
        self.connect("media-configure", self._on_media_configure)

    def _on_media_configure(self, _factory, media) -> None:
        pipeline = media.get_element()
        attach_controls(pipeline, self.scene)
        log(f"client media for {self.mount} configured")
        media.connect("unprepared", lambda _media: log(f"client media for {self.mount} closed"))

        def on_new_state(_media, state) -> None:
            log(f"media {self.mount} state {Gst.Element.state_get_name(state)}")

        media.connect("new-state", on_new_state)
        # The media owns the bus watch; sync messages still reach us for diagnostics.
        bus = pipeline.get_bus()
        if bus is not None:
            bus.enable_sync_message_emission()
            bus.connect("sync-message::error", self._on_error)
            bus.connect("sync-message::warning", self._on_error)

    def _on_error(self, _bus, message) -> None:
        if message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            kind = "error"
        else:
            err, debug = message.parse_warning()
            kind = "warning"
        log(f"pipeline {kind} on {self.mount} from {message.src.get_name()}: {err.message}")
        if debug:
            log(f"  debug: {debug}")


def pick_aac_encoder() -> str | None:
    for name in ("avenc_aac", "voaacenc"):
        if Gst.ElementFactory.find(name) is not None:
            return name
    return None


def check_elements(names: list[str]) -> list[str]:
    problems = []
    for name in names:
        if Gst.ElementFactory.find(name) is None:
            package = ELEMENT_PACKAGES.get(name, "a GStreamer plugin package")
            problems.append(f"GStreamer element {name!r} is missing (install {package})")
    return problems


def validate_launch(mount: str, launch: str) -> str | None:
    """Build the pipeline once so syntax errors and missing elements show at startup."""
    try:
        pipeline = Gst.parse_launch(launch)
    except GLib.Error as err:
        return f"cannot build the pipeline for {mount}: {err.message}\n  launch: {launch}"
    pipeline.set_state(Gst.State.NULL)
    return None


def build_mounts(args: argparse.Namespace) -> tuple[dict[str, SceneFactory], list[str]]:
    fps = Fraction(args.fps).limit_denominator(1001)
    keyint_frames = max(1, round(args.fps * args.keyint))
    motion = tuple(args.motion)
    person = Person(args.person_image, args.person_crop, args.person) if args.person is not None else None
    main = Scene(args.width, args.height, fps, keyint_frames, args.bitrate, motion, args.lights_on, person)
    sub = Scene(
        SUB_WIDTH,
        SUB_HEIGHT,
        fps,
        keyint_frames,
        max(64, args.bitrate // 4),
        motion,
        args.lights_on,
        person,
    )
    aac = pick_aac_encoder()
    problems = check_elements(
        [
            "videotestsrc",
            "audiotestsrc",
            "compositor",
            "videobalance",
            "queue",
            "audioconvert",
            "audioresample",
            "x264enc",
            "x265enc",
            "rtph264pay",
            "rtph265pay",
            "rtpmp4gpay",
            *(("filesrc", "jpegdec", "videocrop", "videoscale", "imagefreeze") if person is not None else ()),
        ]
    )
    if aac is None:
        problems.append("no AAC encoder: install gstreamer1.0-libav (avenc_aac)")
    if problems:
        return {}, problems
    launches = {
        "/h264": (main, f"( {video_branch(main, codec='h264')} {audio_branch(aac)} )"),
        "/h265": (main, f"( {video_branch(main, codec='h265')} {audio_branch(aac)} )"),
        "/h264-noaudio": (main, f"( {video_branch(main, codec='h264')} )"),
        "/sub": (sub, f"( {video_branch(sub, codec='h264')} )"),
    }
    factories = {}
    for mount, (scene, launch) in launches.items():
        problem = validate_launch(mount, launch)
        if problem:
            problems.append(problem)
            continue
        factories[mount] = SceneFactory(mount, scene, launch)
    return factories, problems


def configure_auth(server: GstRtspServer.RTSPServer, factories: dict[str, SceneFactory], args) -> None:
    if args.auth == "none":
        return
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    if args.auth == "basic":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
    else:
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(args.user, args.password, token)
    server.set_auth(auth)
    for factory in factories.values():
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(permissions)


def registry_files() -> list[Path]:
    """Where GStreamer keeps its plugin registry: GST_REGISTRY(_1_0), or the user's cache."""
    for name in ("GST_REGISTRY_1_0", "GST_REGISTRY"):
        if os.environ.get(name):
            return [Path(os.environ[name])]
    return sorted(Path(GLib.get_user_cache_dir(), "gstreamer-1.0").glob("registry.*.bin"))


def init_gstreamer() -> float:
    """``Gst.init``, timed; says on stderr when it (re)built the plugin registry: a cold start."""

    def stamps() -> dict[Path, float]:
        return {path: path.stat().st_mtime for path in registry_files() if path.exists()}

    before = stamps()
    started = time.monotonic()
    Gst.init(None)
    seconds = time.monotonic() - started
    if stamps() != before:
        log(f"GStreamer built its plugin registry in {seconds:.1f} s (a cold start)")
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    init_seconds = init_gstreamer()
    sys.stdout.write(f"INIT {init_seconds:.3f}\n")
    sys.stdout.flush()
    factories, problems = build_mounts(args)
    if problems:
        for problem in problems:
            log(f"error: {problem}")
        return 2

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for path, factory in factories.items():
        mounts.add_factory(path, factory)
    configure_auth(server, factories, args)

    source_id = server.attach(None)
    if source_id == 0:
        log(f"error: cannot listen on 127.0.0.1:{args.port} (port in use?)")
        return 3
    port = server.get_bound_port()

    loop = GLib.MainLoop()

    def quit_loop(signame: str) -> bool:
        log(f"{signame} received, shutting down")
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, quit_loop, "SIGTERM")
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, quit_loop, "SIGINT")
    if args.watch_stdin:

        def on_stdin(fd: int, _condition) -> bool:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if data:
                return GLib.SOURCE_CONTINUE
            log("stdin closed (controller gone), shutting down")
            loop.quit()
            return GLib.SOURCE_REMOVE

        GLib.unix_fd_add_full(
            GLib.PRIORITY_DEFAULT,
            sys.stdin.fileno(),
            GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
            on_stdin,
        )

    log(
        f"serving {', '.join(factories)} on rtsp://127.0.0.1:{port} "
        f"({args.width}x{args.height}@{args.fps:g} keyint={args.keyint:g}s "
        f"motion={args.motion or 'none'} lights_on={args.lights_on} person={args.person} auth={args.auth})"
    )
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    loop.run()

    # Tear down client pipelines before leaving; skip interpreter finalisation, which
    # can hang or crash while GStreamer streaming threads are still around.
    server.client_filter(lambda _server, client, *_: GstRtspServer.RTSPFilterResult.REMOVE)
    GLib.source_remove(source_id)
    log("stopped")
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
