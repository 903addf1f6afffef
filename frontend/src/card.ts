// <vigil-timeline-card>: review a Vigil camera's footage in Home Assistant.
//
// The camera live, and below it the local day (Home Assistant's time zone) as a timeline:
// footage, gaps with their reasons, events by what they saw (a person, a vehicle, an animal) or
// by kind, with a filter of the day's categories. Click or drag the timeline to play from
// that instant; the player shows the wall-clock time of the frame on screen and plays on
// across segments and gaps. Previous/next event, back to live, the day's events with their
// thumbnails (each plays from its pre-capture), and a selected range exported with
// vigil.export_clip and downloaded. Everything goes through Home Assistant as the logged-in
// user (api.ts); the engine is never contacted from the browser.

import { html, LitElement, nothing } from "lit";
import {
  exportClip,
  fetchPlayback,
  fetchTimeline,
  resolveMedia,
  type DayTimeline,
  type Playback,
  type TimelineEvent,
} from "./api";
import { cardStyles } from "./card-styles";
import type { PlayEventDetail } from "./event-list";
import "./event-list";
import { errorMessage, vigilCameras, type HomeAssistant, type LovelaceCardConfig } from "./ha";
import {
  icon,
  mdiChevronLeft,
  mdiChevronRight,
  mdiClose,
  mdiDownload,
  mdiMagnifyMinusOutline,
  mdiMagnifyPlusOutline,
  mdiPause,
  mdiPlay,
  mdiSelectCompare,
  mdiSkipNext,
  mdiSkipPrevious,
  mdiVideo,
} from "./icons";
import { categoryStyle, dayCategories, eventTitle, isShown } from "./markers";
import type { FrameDetail, PlayerErrorDetail, PlayStateDetail, VigilPlayer, WallClockDetail } from "./player";
import "./player";
import { formatClock, formatDay, formatDuration } from "./time";
import type { HoverDetail, SeekDetail } from "./timeline-bar";
import "./timeline-bar";
import {
  daySpan,
  eventPlayStart,
  footageFrom,
  nextEvent,
  previousEvent,
  viewAround,
  ZOOM_SPANS,
  zoomAround,
  type Span,
} from "./timeline-model";

export const CARD_TYPE = "vigil-timeline-card";

export type DefaultView = "live" | "last_event";

export interface VigilCardConfig extends LovelaceCardConfig {
  entity?: string;
  title?: string;
  default_view?: DefaultView;
  show_events?: boolean;
  /** Hours the timeline shows at first (24: the whole day). */
  timeline_hours?: number;
}

/** What the card measured (for `scripts/bench review`; cheap enough to keep always). */
export interface CardMetrics {
  /** performance.now() when the card was first attached to the page. */
  connectedAt: number | null;
  /** From attached to the first render with the day's timeline, ms. */
  firstRenderMs: number | null;
  /** Round trips of vigil/timeline, ms. */
  timelineMs: number[];
  /** From a click (or an event chosen) to the first frame of the footage asked for, ms. */
  seekToFrameMs: number[];
  /** The wall-clock time of that first frame, for the last one. */
  lastSeekFrameWallMs: number | null;
}

type ExportState =
  | { state: "idle" }
  | { state: "running"; span: Span }
  | { state: "done"; span: Span; url: string; name: string; size: number }
  | { state: "error"; message: string };

/** Footage a playback covers: a little before the instant asked for, so small steps back need no new playlist. */
const PLAYBACK_BEFORE_MS = 5 * 60_000;
const PLAYBACK_LENGTH_MS = 60 * 60_000;
/** Today's timeline is fetched again this often (new footage and events). */
const REFRESH_MS = 30_000;
/** Signed links are renewed when they have less than this left. */
const RENEW_LINKS_MS = 5 * 60_000;
/** The playhead is passed to the timeline at most this often (the clock itself updates per frame). */
const PLAYHEAD_EVERY_MS = 200;
/** Near the end of today's footage, playback hands over to live. */
const LIVE_EDGE_MS = 30_000;
/** Live video stops this long after the page is hidden (as Home Assistant's own player does), and resumes when shown. */
const HIDDEN_STOP_MS = 60_000;

export class VigilTimelineCard extends LitElement {
  declare hass: HomeAssistant | undefined;
  declare private _config: VigilCardConfig | undefined;
  declare private _day: DayTimeline | undefined;
  declare private _dayError: string | null;
  declare private _date: string | undefined;
  declare private _view: Span | undefined;
  declare private _mode: "live" | "playback";
  declare private _playhead: number | null;
  declare private _paused: boolean;
  declare private _selecting: boolean;
  declare private _selection: Span | null;
  declare private _export: ExportState;
  declare private _hover: HoverDetail | null;
  declare private _message: string | null;
  /** The filter's categories switched off (person, vehicle, animal, motion...): their events are hidden. */
  declare private _hidden: ReadonlySet<string>;

  static override properties = {
    hass: { attribute: false },
    _config: { state: true },
    _day: { state: true },
    _dayError: { state: true },
    _date: { state: true },
    _view: { state: true },
    _mode: { state: true },
    _playhead: { state: true },
    _paused: { state: true },
    _selecting: { state: true },
    _selection: { state: true },
    _export: { state: true },
    _hover: { state: true },
    _message: { state: true },
    _hidden: { state: true },
  };

  readonly metrics: CardMetrics = {
    connectedAt: null,
    firstRenderMs: null,
    timelineMs: [],
    seekToFrameMs: [],
    lastSeekFrameWallMs: null,
  };

  private _playback: Playback | undefined;
  private _shown: { source: DayTimeline; hidden: ReadonlySet<string>; day: DayTimeline } | undefined;
  private _loadGeneration = 0;
  private _seekGeneration = 0;
  private _refreshTimer: number | null = null;
  private _lastPlayheadAt = 0;
  private _started = false;
  private _liveRequested = false;
  private _hiddenTimer: number | null = null;
  private _stoppedWhileHidden = false;
  private readonly _onVisibility = (): void => {
    if (document.hidden) {
      if (this._mode === "live" && this._hiddenTimer === null) {
        this._hiddenTimer = window.setTimeout(() => {
          this._hiddenTimer = null;
          this._stoppedWhileHidden = true;
          this._player?.stop();
        }, HIDDEN_STOP_MS);
      }
      return;
    }
    if (this._hiddenTimer !== null) {
      window.clearTimeout(this._hiddenTimer);
      this._hiddenTimer = null;
    }
    if (this._stoppedWhileHidden) {
      this._stoppedWhileHidden = false;
      void this._goLive();
    }
  };

  constructor() {
    super();
    this._dayError = null;
    this._mode = "live";
    this._playhead = null;
    this._paused = false;
    this._selecting = false;
    this._selection = null;
    this._export = { state: "idle" };
    this._hover = null;
    this._message = null;
    this._hidden = new Set();
  }

  // --- Lovelace card API --------------------------------------------------------------------------

  static getConfigElement(): HTMLElement {
    return document.createElement("vigil-timeline-card-editor");
  }

  static getStubConfig(hass: HomeAssistant): VigilCardConfig {
    const [first] = vigilCameras(hass);
    return { type: `custom:${CARD_TYPE}`, ...(first ? { entity: first } : {}) };
  }

  setConfig(config: VigilCardConfig): void {
    if (config.entity !== undefined && (typeof config.entity !== "string" || !config.entity.startsWith("camera."))) {
      throw new Error("entity: a Vigil camera entity (camera.*)");
    }
    if (config.timeline_hours !== undefined && !(Number(config.timeline_hours) > 0)) {
      throw new Error("timeline_hours: a number of hours");
    }
    const entityChanged = this._config?.entity !== config.entity;
    this._config = { default_view: "live", show_events: true, ...config };
    if (entityChanged && this._started) {
      this._restart();
    }
  }

  getCardSize(): number {
    return this._config?.show_events === false ? 7 : 10;
  }

  getGridOptions(): Record<string, number | string> {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  // --- life cycle ---------------------------------------------------------------------------------

  private get _entity(): string | undefined {
    return this._config?.entity;
  }

  private get _player(): VigilPlayer | null {
    return this.renderRoot.querySelector("vigil-player");
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.metrics.connectedAt ??= performance.now();
    this._refreshTimer = window.setInterval(() => this._refreshIfDue(), REFRESH_MS / 3);
    document.addEventListener("visibilitychange", this._onVisibility);
    if (this._started) {
      // Back on the page (another view, another tab of the dashboard): the player was stopped
      // when the card left it; the card comes back live, as it opened.
      void this.updateComplete.then(() => this._goLive());
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener("visibilitychange", this._onVisibility);
    if (this._hiddenTimer !== null) {
      window.clearTimeout(this._hiddenTimer);
      this._hiddenTimer = null;
    }
    if (this._refreshTimer !== null) {
      window.clearInterval(this._refreshTimer);
      this._refreshTimer = null;
    }
  }

  protected override willUpdate(): void {
    if (!this._started && this.hass !== undefined && this._entity !== undefined) {
      this._started = true;
      void this._load(undefined);
    }
  }

  protected override updated(): void {
    if (!this._liveRequested && this._mode === "live" && this._config?.default_view !== "last_event" && this._player !== null) {
      void this._goLive();
    }
    if (this._day !== undefined && this.metrics.firstRenderMs === null && this.metrics.connectedAt !== null) {
      this.metrics.firstRenderMs = performance.now() - this.metrics.connectedAt;
    }
  }

  private _restart(): void {
    this._day = undefined;
    this._playback = undefined;
    this._date = undefined;
    this._view = undefined;
    this._selection = null;
    this._export = { state: "idle" };
    this._liveRequested = false;
    this._mode = "live";
    void this._load(undefined);
  }

  // --- the day ------------------------------------------------------------------------------------

  private async _load(date: string | undefined): Promise<void> {
    const hass = this.hass;
    const entity = this._entity;
    if (hass === undefined || entity === undefined) {
      return;
    }
    const generation = ++this._loadGeneration;
    const started = performance.now();
    try {
      const day = await fetchTimeline(hass, entity, date);
      if (generation !== this._loadGeneration) {
        return;
      }
      this.metrics.timelineMs.push(performance.now() - started);
      const previous = this._day;
      this._day = day;
      this._dayError = null;
      this._date = date;
      if (previous === undefined || previous.date !== day.date || this._view === undefined) {
        this._view = this._initialView(day, previous);
      }
      if (previous === undefined && this._config?.default_view === "last_event") {
        const newest = [...day.events].sort((a, b) => b.start_ms - a.start_ms)[0];
        if (newest !== undefined) {
          void this._playEvent(newest, performance.now());
        } else {
          void this._goLive();
        }
      }
    } catch (error) {
      if (generation === this._loadGeneration) {
        this._dayError = errorMessage(error);
      }
    }
  }

  private _initialView(day: DayTimeline, previous: DayTimeline | undefined): Span {
    const whole = daySpan(day);
    let length = this._configuredSpan();
    if (previous !== undefined && this._view !== undefined) {
      // Another day at the same zoom; a whole day stays a whole day (23, 24 or 25 hours).
      length = this._view.end - this._view.start;
      if (length >= previous.end_ms - previous.start_ms - 1) {
        return whole;
      }
    }
    if (length >= whole.end - whole.start) {
      return whole;
    }
    const centre = this._playhead ?? Math.min(day.now_ms, day.end_ms);
    return viewAround(centre, length, whole);
  }

  private _configuredSpan(): number {
    const hours = Number(this._config?.timeline_hours ?? 24);
    return Math.max(ZOOM_SPANS[ZOOM_SPANS.length - 1] ?? 120_000, hours * 3_600_000);
  }

  private _refreshIfDue(): void {
    const day = this._day;
    if (day === undefined || document.hidden) {
      return;
    }
    const linksExpiring = day.links_expire_ms - Date.now() < RENEW_LINKS_MS;
    const today = day.date === day.today && Date.now() - day.now_ms >= REFRESH_MS;
    if (linksExpiring || today) {
      void this._load(this._date);
    }
  }

  private _showDate(date: string | undefined): void {
    const day = this._day;
    if (day !== undefined && (date === undefined || date >= day.today)) {
      date = undefined; // today (it moves at midnight)
    }
    this._hover = null;
    void this._load(date);
  }

  // --- playing ------------------------------------------------------------------------------------

  private async _goLive(): Promise<void> {
    this._liveRequested = true;
    this._seekGeneration += 1;
    this._mode = "live";
    this._playback = undefined;
    this._playhead = null;
    this._message = null;
    await this.updateComplete;
    const player = this._player;
    if (player !== null) {
      await player.playLive();
    }
  }

  /** Plays from the frame recorded at ``ms`` (in a gap: where footage resumes). */
  private async _seek(ms: number, requestedAt: number): Promise<void> {
    const hass = this.hass;
    const entity = this._entity;
    const day = this._day;
    const player = this._player;
    if (hass === undefined || entity === undefined || day === undefined || player === null) {
      return;
    }
    const generation = ++this._seekGeneration;
    let target = footageFrom(day.recorded, ms);
    if (target === undefined && day.date === day.today && ms < Date.now()) {
      // Today's bar is a few seconds old (it is fetched again every half minute): footage may
      // be there already. The player asks; what is not indexed yet plays live.
      target = ms;
    }
    if (target === undefined) {
      if (day.date === day.today) {
        await this._goLive();
      } else {
        this._message = `No footage after ${formatClock(ms, day.time_zone)} on this day.`;
      }
      return;
    }
    this._message = null;
    // Coming from live, play; in playback, a paused player stays paused (the user is looking at frames).
    const autoplay = this._mode !== "playback" || !this._paused;
    this._mode = "playback";
    this._playhead = target;
    this._followPlayhead(target);
    const playback = this._playback;
    if (playback !== undefined && target >= playback.start_ms && target < playback.end_ms && player.seekWall(target, requestedAt)) {
      return;
    }
    try {
      const start = target - PLAYBACK_BEFORE_MS;
      const next = await fetchPlayback(hass, entity, start, start + PLAYBACK_LENGTH_MS);
      if (generation !== this._seekGeneration) {
        return;
      }
      this._playback = next;
      await player.playRecording(next, target, requestedAt, autoplay);
    } catch (error) {
      if (generation === this._seekGeneration) {
        this._message = errorMessage(error);
      }
    }
  }

  private async _playEvent(event: TimelineEvent, requestedAt: number): Promise<void> {
    await this._seek(eventPlayStart(event), requestedAt);
  }

  private _stepEvent(direction: 1 | -1): void {
    const day = this._day;
    if (day === undefined) {
      return;
    }
    const reference = this._mode === "playback" && this._playhead !== null ? this._playhead : Date.now();
    const events = this._shownDay(day).events;
    const found = direction > 0 ? nextEvent(events, reference) : previousEvent(events, reference);
    if (found === undefined) {
      this._message = direction > 0 ? "No later event on this day." : "No earlier event on this day.";
      return;
    }
    void this._playEvent(found, performance.now());
  }

  private _followPlayhead(ms: number): void {
    const day = this._day;
    const view = this._view;
    if (day === undefined || view === undefined) {
      return;
    }
    const margin = (view.end - view.start) * 0.05;
    if (ms < view.start + margin || ms > view.end - margin) {
      this._view = viewAround(ms, view.end - view.start, daySpan(day));
    }
  }

  private _onWallClock(event: CustomEvent<WallClockDetail>): void {
    if (this._mode !== "playback") {
      return;
    }
    const now = performance.now();
    if (now - this._lastPlayheadAt < PLAYHEAD_EVERY_MS && !(this._player?.paused ?? false)) {
      return;
    }
    this._lastPlayheadAt = now;
    const ms = event.detail.ms;
    this._playhead = ms;
    this._followPlayhead(ms);
    const day = this._day;
    if (day !== undefined && ms >= day.end_ms && day.next_date !== null && this._loadGeneration > 0) {
      this._showDate(day.next_date); // played past midnight: the next day's timeline
    }
  }

  private async _onEnded(): Promise<void> {
    const playback = this._playback;
    const day = this._day;
    if (playback === undefined || day === undefined) {
      return;
    }
    // The end of this stretch: on to the next one, or live at the end of today's footage.
    const next = playback.end_ms;
    if (next >= Date.now() - LIVE_EDGE_MS) {
      await this._goLive();
      return;
    }
    this._playback = undefined;
    await this._seek(footageFrom(day.recorded, next) ?? next, performance.now());
  }

  private _onFrame(event: CustomEvent<FrameDetail>): void {
    this.metrics.seekToFrameMs.push(event.detail.latencyMs);
    this.metrics.lastSeekFrameWallMs = event.detail.wallMs;
  }

  private _onPlayerError(event: CustomEvent<PlayerErrorDetail>): void {
    const day = this._day;
    if (event.detail.code === "no_footage" && day !== undefined && day.date === day.today) {
      void this._goLive(); // nothing indexed after the instant yet: it is being recorded now
      return;
    }
    this._message = event.detail.message;
  }

  private _togglePlay(): void {
    if (this._mode === "live") {
      const day = this._day;
      // Pausing live means looking back: play the recording from a moment ago.
      if (day !== undefined && day.recorded.length > 0) {
        const last = day.recorded[day.recorded.length - 1];
        if (last !== undefined) {
          void this._seek(Math.max(last[0], last[1] - 10_000), performance.now());
        }
      }
      return;
    }
    this._player?.togglePlay();
  }

  // --- selecting and exporting ----------------------------------------------------------------

  private _toggleSelecting(): void {
    this._selecting = !this._selecting;
    if (!this._selecting && this._export.state !== "running") {
      this._selection = null;
      this._export = { state: "idle" };
    }
  }

  private async _export_(): Promise<void> {
    const hass = this.hass;
    const entity = this._entity;
    const span = this._selection;
    if (hass === undefined || entity === undefined || span === null) {
      return;
    }
    this._export = { state: "running", span };
    try {
      const clip = await exportClip(hass, entity, span.start, span.end);
      const media = await resolveMedia(hass, clip.media_content_id);
      const name = clip.path.split("/").pop() ?? "clip.mp4";
      this._export = { state: "done", span, url: hass.hassUrl(media.url), name, size: clip.size };
    } catch (error) {
      this._export = { state: "error", message: errorMessage(error) };
    }
  }

  // --- rendering ----------------------------------------------------------------------------------

  protected override render() {
    const config = this._config;
    const hass = this.hass;
    if (config === undefined || hass === undefined) {
      return nothing;
    }
    if (config.entity === undefined || hass.states[config.entity] === undefined) {
      return html`<ha-card
        ><div class="missing">
          ${config.entity === undefined
            ? "Choose a Vigil camera for this card."
            : `${config.entity} is not available: is the Vigil integration set up?`}
        </div></ha-card
      >`;
    }
    const day = this._day;
    const shown = day === undefined ? undefined : this._shownDay(day);
    const zone = day?.time_zone ?? hass.config.time_zone;
    const title = config.title ?? hass.states[config.entity]?.attributes.friendly_name ?? config.entity;
    return html`<ha-card>
      <div class="header">
        <span class="title">${title}</span>
        ${this._renderDayNav(day)}
      </div>
      <vigil-player
        .hass=${hass}
        .entityId=${config.entity}
        .zone=${zone}
        @vigil-wallclock=${this._onWallClock}
        @vigil-ended=${this._onEnded}
        @vigil-frame=${this._onFrame}
        @vigil-error=${this._onPlayerError}
        @vigil-after-end=${this._goLive}
        @vigil-playstate=${(event: CustomEvent<PlayStateDetail>) => (this._paused = event.detail.paused)}
      ></vigil-player>
      ${this._renderControls()}
      <vigil-timeline
        .day=${shown}
        .view=${this._view}
        .playhead=${this._mode === "playback" ? this._playhead : null}
        .selection=${this._selection}
        .selecting=${this._selecting}
        .zone=${zone}
        @vigil-seek=${(event: CustomEvent<SeekDetail>) => this._seek(event.detail.ms, event.detail.requestedAt)}
        @vigil-select=${(event: CustomEvent<Span>) => {
          this._selection = event.detail;
          this._export = { state: "idle" };
        }}
        @vigil-view=${(event: CustomEvent<Span>) => (this._view = event.detail)}
        @vigil-hover=${(event: CustomEvent<HoverDetail>) => (this._hover = event.detail.ms === null ? null : event.detail)}
      ></vigil-timeline>
      ${this._renderFilter(day)}${this._renderInfo(zone)}
      ${config.show_events !== false && shown !== undefined
        ? html`<details class="events" open>
            <summary>
              Events
              <span class="count"
                >${shown.events.length}${shown.events_truncated ? "+" : ""}${shown !== day
                  ? ` of ${day?.events.length ?? 0} (filtered)`
                  : ""}</span
              >
            </summary>
            <vigil-event-list
              .events=${shown.events}
              .emptyText=${shown === day ? "No events on this day." : "The filter hides this day's events."}
              .zone=${zone}
              .nowMs=${shown.now_ms}
              .hassUrl=${(path: string) => hass.hassUrl(path)}
              .activeId=${this._activeEventId(shown)}
              @vigil-play-event=${(event: CustomEvent<PlayEventDetail>) =>
                this._playEvent(event.detail.event, event.detail.requestedAt)}
            ></vigil-event-list>
          </details>`
        : nothing}
    </ha-card>`;
  }

  /** The day with only the events the filter shows (the same object while nothing changes: the
   * timeline is not drawn again for nothing). */
  private _shownDay(day: DayTimeline): DayTimeline {
    if (this._hidden.size === 0) {
      return day;
    }
    const cached = this._shown;
    if (cached !== undefined && cached.source === day && cached.hidden === this._hidden) {
      return cached.day;
    }
    const shown = { ...day, events: day.events.filter((event) => isShown(event, this._hidden)) };
    this._shown = { source: day, hidden: this._hidden, day: shown };
    return shown;
  }

  /** Chips of the day's categories (what was seen, and motion), each showing or hiding its events.
   * A day where nothing was seen has nothing to tell apart: no chips. */
  private _renderFilter(day: DayTimeline | undefined) {
    if (day === undefined || !day.events.some((event) => (event.groups ?? []).length > 0)) {
      return nothing;
    }
    return html`<div class="filter" role="group" aria-label="Show events of">
      ${dayCategories(day.events).map(([category, count]) => {
        const style = categoryStyle(category);
        const on = !this._hidden.has(category);
        return html`<button
          class="chip ${on ? "on" : ""}"
          data-category=${category}
          aria-pressed=${on ? "true" : "false"}
          title="${on ? "Hide" : "Show"} ${style.title.toLowerCase()} events"
          @click=${() => this._toggleCategory(category)}
        >
          <span class="dot" style="background:${style.color}">${style.letter}</span>${style.title}
          <span class="count">${count}</span>
        </button>`;
      })}
    </div>`;
  }

  private _toggleCategory(category: string): void {
    const hidden = new Set(this._hidden);
    if (!hidden.delete(category)) {
      hidden.add(category);
    }
    this._hidden = hidden;
  }

  private _activeEventId(day: DayTimeline): string | null {
    const playhead = this._playhead;
    if (this._mode !== "playback" || playhead === null) {
      return null;
    }
    const found = day.events
      .filter((event) => eventPlayStart(event) <= playhead && playhead < (event.end_ms ?? day.now_ms) + event.post_ms)
      .sort((a, b) => b.start_ms - a.start_ms)[0];
    return found?.id ?? null;
  }

  private _renderDayNav(day: DayTimeline | undefined) {
    const hass = this.hass;
    if (day === undefined || hass === undefined) {
      return html`<span class="day">${this._dayError ?? ""}</span>`;
    }
    const hours = Math.round((day.end_ms - day.start_ms) / 3_600_000);
    return html`<div class="day-nav">
      <button class="icon" aria-label="Previous day" title="Previous day" @click=${() => this._showDate(day.previous_date)}>
        ${icon(mdiChevronLeft)}
      </button>
      <label class="day" title="Choose a day">
        <span class="day-text">${formatDay(day.date, hass.locale?.language ?? hass.language)}</span>
        ${hours !== 24 ? html`<span class="dst">${hours}-hour day</span>` : nothing}
        <input
          type="date"
          aria-label="Day"
          .value=${day.date}
          max=${day.today}
          @change=${(event: Event) => {
            const value = (event.target as HTMLInputElement).value;
            if (value) {
              this._showDate(value);
            }
          }}
        />
      </label>
      <button
        class="icon"
        aria-label="Next day"
        title="Next day"
        ?disabled=${day.next_date === null}
        @click=${() => this._showDate(day.next_date ?? undefined)}
      >
        ${icon(mdiChevronRight)}
      </button>
    </div>`;
  }

  private _renderControls() {
    const day = this._day;
    const live = this._mode === "live";
    const canZoomIn = day !== undefined && this._view !== undefined && this._view.end - this._view.start > (ZOOM_SPANS[ZOOM_SPANS.length - 1] ?? 0) + 1;
    const canZoomOut = day !== undefined && this._view !== undefined && this._view.end - this._view.start < day.end_ms - day.start_ms - 1;
    const zoomBy = (direction: 1 | -1) => {
      if (day === undefined || this._view === undefined) {
        return;
      }
      // The buttons zoom around what is being watched (the playhead, or now on today's timeline),
      // centring it; the wheel zooms around the pointer.
      const live = day.now_ms >= day.start_ms && day.now_ms < day.end_ms ? day.now_ms : undefined;
      const anchor = (this._mode === "playback" ? this._playhead : null) ?? live ?? (this._view.start + this._view.end) / 2;
      this._view = zoomAround(this._view, daySpan(day), direction, Math.min(Math.max(anchor, this._view.start), this._view.end));
    };
    return html`<div class="controls">
      <button class="icon" aria-label="Previous event" title="Previous event" @click=${() => this._stepEvent(-1)}>
        ${icon(mdiSkipPrevious)}
      </button>
      <button
        class="icon"
        aria-label=${live || this._paused ? "Play" : "Pause"}
        title=${live ? "Play the recording" : this._paused ? "Play" : "Pause"}
        @click=${this._togglePlay}
      >
        ${icon(live || this._paused ? mdiPlay : mdiPause)}
      </button>
      <button class="icon" aria-label="Next event" title="Next event" @click=${() => this._stepEvent(1)}>
        ${icon(mdiSkipNext)}
      </button>
      <button class="live ${live ? "on" : ""}" aria-label="Live" title="Back to live" ?disabled=${live} @click=${this._goLive}>
        ${icon(mdiVideo)}<span>Live</span>
      </button>
      <span class="spacer"></span>
      <button class="icon" aria-label="Zoom out" title="Zoom out" ?disabled=${!canZoomOut} @click=${() => zoomBy(-1)}>
        ${icon(mdiMagnifyMinusOutline)}
      </button>
      <button class="icon" aria-label="Zoom in" title="Zoom in" ?disabled=${!canZoomIn} @click=${() => zoomBy(1)}>
        ${icon(mdiMagnifyPlusOutline)}
      </button>
      <button
        class="icon ${this._selecting ? "on" : ""}"
        aria-label="Select a range to export"
        aria-pressed=${this._selecting ? "true" : "false"}
        title="Select a range to export"
        @click=${this._toggleSelecting}
      >
        ${icon(mdiSelectCompare)}
      </button>
    </div>`;
  }

  private _renderInfo(zone: string) {
    const exporting = this._export;
    if (exporting.state === "running") {
      return html`<div class="info" role="status">Exporting ${this._spanText(exporting.span, zone)}…</div>`;
    }
    if (exporting.state === "done") {
      return html`<div class="info" role="status">
        <span>Exported ${this._spanText(exporting.span, zone)}</span>
        <a class="action" href=${exporting.url} download=${exporting.name}>${icon(mdiDownload)}<span>Download</span></a>
      </div>`;
    }
    if (exporting.state === "error") {
      return html`<div class="info error" role="alert">${exporting.message}</div>`;
    }
    if (this._selecting) {
      const span = this._selection;
      return html`<div class="info">
        ${span === null
          ? html`<span>Drag on the timeline to select what to export.</span>`
          : html`<span>${this._spanText(span, zone)}</span>
              <button class="action" @click=${this._export_}>Export</button>
              <button class="icon small" aria-label="Clear the selection" @click=${() => (this._selection = null)}>
                ${icon(mdiClose)}
              </button>`}
      </div>`;
    }
    const hover = this._hover;
    if (hover !== null && hover.ms !== null) {
      if (hover.gap !== null) {
        const gap = hover.gap;
        return html`<div class="info gap-info">
          No footage ${formatClock(gap.start_ms, zone)}–${formatClock(gap.end_ms, zone)} (${formatDuration(gap.end_ms - gap.start_ms)}):
          ${gap.reason || "unknown reason"}
        </div>`;
      }
      if (hover.event !== null) {
        const event = hover.event;
        return html`<div class="info">
          ${formatClock(hover.ms, zone)} · ${eventTitle(event)} at ${formatClock(event.start_ms, zone)}
        </div>`;
      }
      return html`<div class="info">${formatClock(hover.ms, zone)}</div>`;
    }
    if (this._message !== null) {
      return html`<div class="info">${this._message}</div>`;
    }
    const day = this._day;
    if (day === undefined) {
      return html`<div class="info">${this._dayError ?? "Loading the day…"}</div>`;
    }
    return html`<div class="info muted">
      ${formatDuration(day.recorded_ms)} recorded · ${day.events.length} event${day.events.length === 1 ? "" : "s"}${day.gaps.length
        ? ` · ${day.gaps.length} gap${day.gaps.length === 1 ? "" : "s"}`
        : ""}
    </div>`;
  }

  private _spanText(span: Span, zone: string): string {
    return `${formatClock(span.start, zone)}–${formatClock(span.end, zone)} (${formatDuration(span.end - span.start)})`;
  }

  static override styles = cardStyles;
}

if (!customElements.get(CARD_TYPE)) {
  customElements.define(CARD_TYPE, VigilTimelineCard);
}

declare global {
  interface HTMLElementTagNameMap {
    "vigil-timeline-card": VigilTimelineCard;
  }
}
