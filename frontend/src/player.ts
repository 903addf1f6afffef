// <vigil-player>: the camera live, or its recordings from any instant, with the wall-clock
// time of the frame on screen.
//
// Recordings play with hls.js from the signed playlist Home Assistant makes for the user
// (vigil/playback). The playlist's segments are dated and break at gaps, so the player
// crosses segment boundaries and gaps without stopping, and the clock (wallclock.ts) is read
// for each frame the browser presents (requestVideoFrameCallback), not guessed from a timer.
// Live is Home Assistant's own stream of the camera entity; a camera without one (or whose
// stream fails) shows the entity's still image, refreshed every few seconds.

import HlsLight from "hls.js/dist/hls.light.mjs";
import type Hls from "hls.js";
import type { ErrorData, LevelLoadedData } from "hls.js";
import { css, html, LitElement, nothing, type PropertyValues } from "lit";
import { fetchLiveStream, type Playback } from "./api";
import { CAMERA_SUPPORT_STREAM, fireEvent, type HomeAssistant } from "./ha";
import { formatClock } from "./time";
import { datedSpan, mediaTimeAt, segmentAt, wallAt, type DatedSegment } from "./wallclock";

export type PlayerMode = "idle" | "live" | "still" | "playback";

/** A still is refreshed this often when there is no live stream. */
const STILL_REFRESH_MS = 5000;
/** Live video that shows no frame within this long falls back to the still image. */
const LIVE_TIMEOUT_MS = 15_000;

export interface WallClockDetail {
  ms: number;
}

export interface FrameDetail {
  /** Milliseconds from the user's request (a click) to the first frame of the footage asked for. */
  latencyMs: number;
  wallMs: number | null;
}

export interface PlayStateDetail {
  paused: boolean;
}

export interface PlayerErrorDetail {
  code: "no_footage" | "network" | "media" | "unsupported";
  message: string;
}

interface PendingFrame {
  requestedAt: number;
  mediaTime: number;
}

export class VigilPlayer extends LitElement {
  declare hass: HomeAssistant | undefined;
  declare entityId: string | undefined;
  declare zone: string;
  declare mode: PlayerMode;
  declare paused: boolean;
  declare private _wallMs: number | null;
  declare private _loading: boolean;
  declare private _message: string | null;
  declare private _stillUrl: string | null;

  static override properties = {
    hass: { attribute: false },
    entityId: { attribute: false },
    zone: { attribute: false },
    mode: { reflect: true },
    paused: { type: Boolean, reflect: true },
    _wallMs: { state: true },
    _loading: { state: true },
    _message: { state: true },
    _stillUrl: { state: true },
  };

  private _hls: Hls | null = null;
  private _segments: DatedSegment[] = [];
  private _pending: PendingFrame | null = null;
  /** A seek into a segment not loaded yet: its place is known exactly once it is, then the seek is redone. */
  private _refine: { wallMs: number; segment: DatedSegment } | null = null;
  private _frameCallback: number | null = null;
  private _stillTimer: number | null = null;
  private _liveTimer: number | null = null;
  private _generation = 0;

  constructor() {
    super();
    this.zone = "UTC";
    this.mode = "idle";
    this.paused = false;
    this._wallMs = null;
    this._loading = false;
    this._message = null;
    this._stillUrl = null;
  }

  /** The wall-clock time (UTC ms) of the frame on screen, or null. */
  get frameWallMs(): number | null {
    return this._wallMs;
  }

  get video(): HTMLVideoElement | null {
    return this.renderRoot.querySelector("video");
  }

  /** The span of footage the loaded playlist covers, or null. */
  get loadedSpan(): { start: number; end: number } | null {
    return this.mode === "playback" ? datedSpan(this._segments) : null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._stop();
  }

  /** Home Assistant's live stream of the camera, or its still image if it has none. */
  async playLive(): Promise<void> {
    const generation = this._reset("live");
    const hass = this.hass;
    const entityId = this.entityId;
    if (hass === undefined || entityId === undefined) {
      return;
    }
    const state = hass.states[entityId];
    const canStream = ((state?.attributes.supported_features ?? 0) & CAMERA_SUPPORT_STREAM) !== 0;
    this._showStill();
    if (!canStream || !HlsLight.isSupported()) {
      this.mode = "still";
      return;
    }
    this._loading = true;
    let url: string;
    try {
      url = (await fetchLiveStream(hass, entityId)).url;
    } catch {
      if (generation === this._generation) {
        this.mode = "still";
        this._loading = false;
      }
      return;
    }
    if (generation !== this._generation) {
      return;
    }
    await this.updateComplete;
    const video = this.video;
    if (video === null) {
      return;
    }
    const hls = new HlsLight({ backBufferLength: 60, lowLatencyMode: true, maxLiveSyncPlaybackRate: 2 });
    this._hls = hls;
    hls.on(HlsLight.Events.ERROR, (_event, data: ErrorData) => {
      if (data.fatal && generation === this._generation) {
        this._liveFailed();
      }
    });
    hls.loadSource(hass.hassUrl(url));
    hls.attachMedia(video);
    this._liveTimer = window.setTimeout(() => {
      if (generation === this._generation && this._wallMs === null) {
        this._liveFailed();
      }
    }, LIVE_TIMEOUT_MS);
    this._watchFrames(video);
    void video.play().catch(() => undefined);
  }

  /**
   * Shows ``playback`` (a signed playlist) from the frame recorded at ``wallMs`` (in a gap,
   * from where the footage resumes), playing unless ``autoplay`` is false (the user had paused
   * to look at frames). ``requestedAt`` (performance.now()) times the first frame.
   */
  async playRecording(playback: Playback, wallMs: number, requestedAt = performance.now(), autoplay = true): Promise<void> {
    const generation = this._reset("playback");
    const hass = this.hass;
    if (hass === undefined) {
      return;
    }
    this._loading = true;
    await this.updateComplete;
    const video = this.video;
    if (video === null || generation !== this._generation) {
      return;
    }
    if (!HlsLight.isSupported()) {
      this._fail({ code: "unsupported", message: "This browser cannot play recordings (no Media Source Extensions)." });
      return;
    }
    // Loading starts once the playlist is known: at the segment that holds the instant asked for.
    const hls = new HlsLight({ autoStartLoad: false, maxBufferLength: 20, backBufferLength: 30, enableWorker: true });
    this._hls = hls;
    let started = false;
    hls.on(HlsLight.Events.LEVEL_LOADED, (_event, data: LevelLoadedData) => {
      this._segments = data.details.fragments;
      if (started || generation !== this._generation) {
        return;
      }
      started = true;
      const target = mediaTimeAt(this._segments, wallMs);
      if (target === null) {
        // Past the last indexed segment: the newest seconds are still being written.
        this._loading = false;
        fireEvent<WallClockDetail>(this, "vigil-after-end", { ms: wallMs });
        return;
      }
      const seconds = target.seconds;
      this._pending = { requestedAt, mediaTime: seconds };
      this._refineLater(wallMs);
      hls.startLoad(seconds);
      if (autoplay) {
        void video.play().catch(() => undefined);
      } else {
        // Paused (the user is looking at frames): once the first fragment is in, seek to the
        // instant within it, so the browser presents that frame and its clock.
        hls.once(HlsLight.Events.FRAG_BUFFERED, () => {
          if (generation === this._generation && video.paused) {
            video.currentTime = seconds;
          }
        });
      }
    });
    hls.on(HlsLight.Events.LEVEL_UPDATED, (_event, data) => {
      this._segments = data.details.fragments;
    });
    hls.on(HlsLight.Events.FRAG_BUFFERED, (_event, data) => {
      const refine = this._refine;
      if (refine !== null && data.frag === refine.segment && generation === this._generation) {
        this._refine = null;
        const exact = mediaTimeAt(this._segments, refine.wallMs);
        if (exact !== null && Math.abs(video.currentTime - exact.seconds) > 0.001) {
          if (this._pending !== null) {
            this._pending = { ...this._pending, mediaTime: exact.seconds };
          }
          video.currentTime = exact.seconds;
        }
      }
    });
    hls.on(HlsLight.Events.ERROR, (_event, data: ErrorData) => this._hlsError(hls, data, generation));
    hls.loadSource(hass.hassUrl(playback.url));
    hls.attachMedia(video);
    this._watchFrames(video);
  }

  /** Shows the frame recorded at ``wallMs`` if the loaded playlist holds it (playing on, or staying paused); false if not. */
  seekWall(wallMs: number, requestedAt = performance.now()): boolean {
    const span = this.loadedSpan;
    const video = this.video;
    if (span === null || video === null || wallMs < span.start || wallMs >= span.end) {
      return false;
    }
    const target = mediaTimeAt(this._segments, wallMs);
    if (target === null) {
      return false;
    }
    this._pending = { requestedAt, mediaTime: target.seconds };
    this._refineLater(wallMs);
    video.currentTime = target.seconds;
    return true;
  }

  /** Stops whatever plays (the card leaves it idle while the page is hidden). */
  stop(): void {
    this._reset("idle");
  }

  play(): void {
    void this.video?.play().catch(() => undefined);
  }

  pause(): void {
    this.video?.pause();
  }

  togglePlay(): void {
    const video = this.video;
    if (video !== null && video.paused) {
      this.play();
    } else {
      this.pause();
    }
  }

  // --- internals -------------------------------------------------------------------------------

  /** Stops whatever plays and starts a new generation (late answers of the old one are dropped). */
  private _reset(mode: PlayerMode): number {
    this._stop();
    this.mode = mode;
    this._message = null;
    this._wallMs = null;
    this._segments = [];
    this._pending = null;
    this._refine = null;
    this._generation += 1;
    return this._generation;
  }

  /** Seeks again to ``wallMs`` when its segment is buffered, unless it is already (its place is then exact). */
  private _refineLater(wallMs: number): void {
    const segment = segmentAt(this._segments, wallMs);
    const video = this.video;
    const buffered =
      segment !== undefined &&
      video !== null &&
      Array.from({ length: video.buffered.length }, (_, index) => index).some(
        (index) => video.buffered.start(index) <= segment.start + 0.05 && segment.start + segment.duration - 0.05 <= video.buffered.end(index),
      );
    this._refine = segment !== undefined && !buffered ? { wallMs, segment } : null;
  }

  private _stop(): void {
    if (this._hls !== null) {
      this._hls.destroy();
      this._hls = null;
    }
    const video = this.video;
    if (video !== null && this._frameCallback !== null) {
      video.cancelVideoFrameCallback(this._frameCallback);
    }
    this._frameCallback = null;
    if (video !== null) {
      video.removeAttribute("src");
      video.load();
    }
    for (const timer of [this._stillTimer, this._liveTimer]) {
      if (timer !== null) {
        window.clearTimeout(timer);
        window.clearInterval(timer);
      }
    }
    this._stillTimer = null;
    this._liveTimer = null;
    this._loading = false;
  }

  /** Reads the wall clock of every frame the browser presents. */
  private _watchFrames(video: HTMLVideoElement): void {
    const generation = this._generation;
    const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
      if (generation !== this._generation) {
        return;
      }
      this._frameCallback = video.requestVideoFrameCallback(onFrame);
      this._onFrame(metadata.mediaTime);
    };
    this._frameCallback = video.requestVideoFrameCallback(onFrame);
  }

  private _onFrame(mediaTime: number): void {
    let wall: number | null;
    if (this.mode === "playback") {
      wall = wallAt(this._segments, mediaTime);
    } else {
      wall = this._hls?.playingDate?.getTime() ?? Date.now();
      if (this._liveTimer !== null) {
        window.clearTimeout(this._liveTimer);
        this._liveTimer = null;
      }
      if (this.mode === "still") {
        return;
      }
    }
    this._loading = false;
    this._wallMs = wall;
    if (wall !== null) {
      fireEvent<WallClockDetail>(this, "vigil-wallclock", { ms: wall });
    }
    const pending = this._pending;
    if (pending !== null && Math.abs(mediaTime - pending.mediaTime) < 0.5) {
      this._pending = null;
      fireEvent<FrameDetail>(this, "vigil-frame", { latencyMs: performance.now() - pending.requestedAt, wallMs: wall });
    }
  }

  private _hlsError(hls: Hls, data: ErrorData, generation: number): void {
    if (!data.fatal || generation !== this._generation) {
      return;
    }
    if (data.type === HlsLight.ErrorTypes.NETWORK_ERROR) {
      if (data.details === HlsLight.ErrorDetails.MANIFEST_LOAD_ERROR && data.response?.code === 404) {
        this._fail({ code: "no_footage", message: "No footage from this instant on." });
        return;
      }
      this._fail({ code: "network", message: `Cannot load the recording (${data.details}).` });
      return;
    }
    if (data.type === HlsLight.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
      return;
    }
    this._fail({ code: "media", message: `Cannot play the recording (${data.details}).` });
  }

  private _fail(detail: PlayerErrorDetail): void {
    this._loading = false;
    this._message = detail.message;
    fireEvent<PlayerErrorDetail>(this, "vigil-error", detail);
  }

  private _liveFailed(): void {
    if (this._hls !== null) {
      this._hls.destroy();
      this._hls = null;
    }
    this.mode = "still";
    this._loading = false;
    this._showStill();
  }

  /** The camera entity's picture (Home Assistant's camera proxy), refreshed while shown. */
  private _showStill(): void {
    const refresh = (): void => {
      const picture = this.entityId ? this.hass?.states[this.entityId]?.attributes.entity_picture : undefined;
      if (picture === undefined || this.hass === undefined) {
        this._stillUrl = null;
        return;
      }
      const separator = picture.includes("?") ? "&" : "?";
      const width = Math.max(320, Math.round(this.clientWidth * (window.devicePixelRatio || 1)));
      this._stillUrl = this.hass.hassUrl(`${picture}${separator}width=${width}&t=${Date.now()}`);
      if (this.mode === "still") {
        this._wallMs = Date.now();
      }
    };
    refresh();
    if (this._stillTimer !== null) {
      window.clearInterval(this._stillTimer);
    }
    this._stillTimer = window.setInterval(() => {
      if (this.mode === "still" || (this.mode === "live" && this._wallMs === null)) {
        refresh();
      }
    }, STILL_REFRESH_MS);
  }

  private _onPlayState(): void {
    const video = this.video;
    this.paused = video === null ? true : video.paused;
    fireEvent<PlayStateDetail>(this, "vigil-playstate", { paused: this.paused });
  }

  private _onEnded(): void {
    if (this.mode === "playback") {
      fireEvent(this, "vigil-ended", { ms: this._wallMs });
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("entityId") && changed.get("entityId") !== undefined && this.mode === "live") {
      void this.playLive();
    }
  }

  protected override render() {
    const showVideo = this.mode === "live" || this.mode === "playback";
    const showStill = this.mode === "still" || (this.mode === "live" && this._wallMs === null);
    const clock = this._wallMs;
    // LIVE once live frames arrive (while connecting, the still and a spinner show).
    const badge =
      this.mode === "live" ? (clock !== null ? "LIVE" : "") : this.mode === "still" ? "STILL" : this.mode === "playback" ? "PLAYBACK" : "";
    return html`
      <div class="frame">
        ${showStill && this._stillUrl ? html`<img class="still" src=${this._stillUrl} alt="" />` : nothing}
        <video
          class=${showVideo && !(showStill && this.mode === "live") ? "" : "hidden"}
          muted
          playsinline
          .muted=${true}
          @play=${this._onPlayState}
          @pause=${this._onPlayState}
          @ended=${this._onEnded}
        ></video>
        ${badge ? html`<span class="badge ${this.mode}">${badge}</span>` : nothing}
        ${clock !== null
          ? html`<span class="clock" data-wall-ms=${String(Math.round(clock))}
              >${formatClock(clock, this.zone, this.mode === "playback" && this.paused ? "millis" : "seconds")}</span
            >`
          : nothing}
        ${this._loading ? html`<span class="spinner" role="progressbar" aria-label="Loading"></span>` : nothing}
        ${this._message ? html`<span class="message">${this._message}</span>` : nothing}
      </div>
    `;
  }

  static override styles = css`
    :host {
      display: block;
    }
    .frame {
      position: relative;
      aspect-ratio: 16 / 9;
      background: #000;
      overflow: hidden;
      border-radius: var(--vigil-player-radius, 0);
    }
    video,
    .still {
      position: absolute;
      inset: 0;
      width: 100%;
      height: 100%;
      object-fit: contain;
    }
    .hidden {
      visibility: hidden;
    }
    .badge,
    .clock {
      position: absolute;
      top: 8px;
      padding: 2px 8px;
      border-radius: 4px;
      font: 500 13px/20px var(--ha-font-family-body, Roboto, sans-serif);
      color: #fff;
      background: rgba(0, 0, 0, 0.55);
      font-variant-numeric: tabular-nums;
      pointer-events: none;
    }
    .clock {
      left: 8px;
    }
    .badge {
      right: 8px;
      letter-spacing: 0.06em;
    }
    .badge.live {
      background: var(--error-color, #db4437);
    }
    .message {
      position: absolute;
      left: 50%;
      top: 50%;
      transform: translate(-50%, -50%);
      max-width: 80%;
      padding: 8px 12px;
      border-radius: 6px;
      background: rgba(0, 0, 0, 0.7);
      color: #fff;
      text-align: center;
      font: 14px/20px var(--ha-font-family-body, Roboto, sans-serif);
    }
    .spinner {
      position: absolute;
      left: calc(50% - 16px);
      top: calc(50% - 16px);
      width: 32px;
      height: 32px;
      border: 3px solid rgba(255, 255, 255, 0.3);
      border-top-color: #fff;
      border-radius: 50%;
      animation: spin 0.9s linear infinite;
    }
    @keyframes spin {
      to {
        transform: rotate(360deg);
      }
    }
  `;
}

if (!customElements.get("vigil-player")) {
  customElements.define("vigil-player", VigilPlayer);
}

declare global {
  interface HTMLElementTagNameMap {
    "vigil-player": VigilPlayer;
  }
}
