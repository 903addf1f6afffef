// <vigil-timeline>: one local day of a camera as a bar: hours, recorded footage, gaps (hatched,
// with their reason), event markers by kind or label, the playhead and a selection.
//
// Click or drag on the bar to play from an instant (the instant follows the pointer while
// dragging and is asked for when it is let go); in selection mode a drag selects a range to
// export. The wheel (or the card's buttons) zooms around the pointer, down to two minutes,
// where a pixel is a fraction of a second. Touch works the same; vertical swipes still
// scroll the page.

import { css, html, LitElement, nothing, type PropertyValues } from "lit";
import type { DayTimeline, TimelineEvent, TimelineGap } from "./api";
import { fireEvent } from "./ha";
import { eventTitle, markerKey, markerStyle } from "./markers";
import { formatClock, formatDuration } from "./time";
import {
  daySpan,
  eventAt,
  gapAt,
  normalizeSelection,
  pan,
  ticks,
  timeToX,
  visible,
  xToTime,
  zoom,
  type Span,
} from "./timeline-model";

export interface SeekDetail {
  ms: number;
  /** performance.now() when the pointer was let go: the start of "click to first frame". */
  requestedAt: number;
}

export interface HoverDetail {
  ms: number | null;
  gap: TimelineGap | null;
  event: TimelineEvent | null;
}

/** A pointer that moved less than this (px) between down and up is a click. */
const CLICK_SLOP = 4;

export class VigilTimeline extends LitElement {
  declare day: DayTimeline | undefined;
  declare view: Span | undefined;
  declare playhead: number | null;
  declare selection: Span | null;
  declare selecting: boolean;
  declare zone: string;
  declare private _width: number;
  declare private _dragMs: number | null;
  declare private _hoverMs: number | null;

  static override properties = {
    day: { attribute: false },
    view: { attribute: false },
    playhead: { attribute: false },
    selection: { attribute: false },
    selecting: { type: Boolean, reflect: true },
    zone: { attribute: false },
    _width: { state: true },
    _dragMs: { state: true },
    _hoverMs: { state: true },
  };

  private _resize = new ResizeObserver((entries) => {
    const width = entries[0]?.contentRect.width;
    if (width !== undefined && Math.abs(width - this._width) >= 1) {
      this._width = width;
    }
  });
  private _down: { x: number; ms: number; pointerId: number } | null = null;

  constructor() {
    super();
    this.playhead = null;
    this.selection = null;
    this.selecting = false;
    this.zone = "UTC";
    this._width = 0;
    this._dragMs = null;
    this._hoverMs = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this._resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._resize.disconnect();
  }

  private get _view(): Span | undefined {
    if (this.day === undefined) {
      return undefined;
    }
    return this.view ?? daySpan(this.day);
  }

  // --- pointer -----------------------------------------------------------------------------------

  private _msAt(event: PointerEvent | WheelEvent): number {
    const track = this.renderRoot.querySelector(".track");
    const view = this._view;
    if (track === null || view === undefined) {
      return 0;
    }
    const box = track.getBoundingClientRect();
    return xToTime(event.clientX - box.left, view, box.width);
  }

  private _onPointerDown(event: PointerEvent): void {
    if (event.button !== 0 || this.day === undefined) {
      return;
    }
    const ms = this._msAt(event);
    this._down = { x: event.clientX, ms, pointerId: event.pointerId };
    (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
    this._dragMs = ms;
    if (this.selecting) {
      fireEvent<Span>(this, "vigil-select", normalizeSelection(ms, ms));
    }
  }

  private _onPointerMove(event: PointerEvent): void {
    if (this.day === undefined) {
      return;
    }
    const ms = this._msAt(event);
    if (this._down !== null && this._down.pointerId === event.pointerId) {
      this._dragMs = ms;
      if (this.selecting) {
        fireEvent<Span>(this, "vigil-select", normalizeSelection(this._down.ms, ms));
      }
    }
    if (event.pointerType === "mouse") {
      this._hover(ms);
    }
  }

  private _onPointerUp(event: PointerEvent): void {
    const down = this._down;
    if (down === null || down.pointerId !== event.pointerId || this.day === undefined) {
      return;
    }
    this._down = null;
    this._dragMs = null;
    const ms = Math.abs(event.clientX - down.x) <= CLICK_SLOP ? down.ms : this._msAt(event);
    if (this.selecting) {
      fireEvent<Span>(this, "vigil-select", normalizeSelection(down.ms, ms));
      return;
    }
    this._hover(ms); // a tap tells what is there (a gap's reason) as a hover does
    fireEvent<SeekDetail>(this, "vigil-seek", { ms, requestedAt: performance.now() });
  }

  private _onPointerCancel(): void {
    this._down = null;
    this._dragMs = null;
  }

  private _onPointerLeave(): void {
    if (this._down === null) {
      this._hover(null);
    }
  }

  private _hover(ms: number | null): void {
    this._hoverMs = ms;
    const day = this.day;
    const detail: HoverDetail = {
      ms,
      gap: ms !== null && day ? (gapAt(day.gaps, ms) ?? null) : null,
      event: ms !== null && day ? (eventAt(day.events, ms, day.now_ms) ?? null) : null,
    };
    fireEvent<HoverDetail>(this, "vigil-hover", detail);
  }

  private _onWheel(event: WheelEvent): void {
    const day = this.day;
    const view = this._view;
    if (day === undefined || view === undefined) {
      return;
    }
    if (Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      event.preventDefault();
      fireEvent<Span>(this, "vigil-view", pan(view, daySpan(day), event.deltaX > 0 ? 0.15 : -0.15));
      return;
    }
    if (!event.ctrlKey && !event.altKey && !event.metaKey && !this.hasAttribute("wheel-zoom")) {
      return; // a plain wheel scrolls the page; with a modifier (or a trackpad pinch) it zooms
    }
    event.preventDefault();
    fireEvent<Span>(this, "vigil-view", zoom(view, daySpan(day), event.deltaY < 0 ? 1 : -1, this._msAt(event)));
  }

  // --- drawing ------------------------------------------------------------------------------------

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("day") && this._width === 0) {
      this._width = this.getBoundingClientRect().width;
    }
  }

  protected override render() {
    const day = this.day;
    const view = this._view;
    if (day === undefined || view === undefined) {
      return html`<div class="track empty"></div>`;
    }
    const width = this._width || 1;
    const x = (ms: number): number => timeToX(ms, view, 100);
    const left = (ms: number): string => `${Math.max(0, x(ms))}%`;
    const span = (start: number, end: number): string => `${Math.max(0, Math.min(100, x(end)) - Math.max(0, x(start)))}%`;
    const now = day.now_ms;
    const future = now < day.end_ms ? now : null;
    const recorded = visible(day.recorded, view, (range) => range[0], (range) => range[1]);
    const gaps = visible(day.gaps, view, (gap) => gap.start_ms, (gap) => gap.end_ms);
    const events = visible(day.events, view, (event) => event.start_ms, (event) => (event.end_ms ?? now) + 1);
    const dragging = this._dragMs;
    const playhead = dragging !== null && !this.selecting ? dragging : this.playhead;
    // Footage, gaps and events stay visible however short they are at this zoom (2, 2 and 3 pixels).
    const minWidth = (2 / width) * 100;
    const minEventWidth = (3 / width) * 100;
    return html`
      <div class="ruler" aria-hidden="true">
        ${ticks(day.hours, view, width, 44).map(
          (tick) => html`<span class="tick ${tick.major ? "major" : ""}" style="left:${left(tick.ms)}"
            ><span class="label">${tick.label}</span></span
          >`,
        )}
      </div>
      <div
        class="track"
        role="slider"
        tabindex="0"
        aria-label="Timeline of ${day.name}"
        aria-valuemin=${day.start_ms}
        aria-valuemax=${day.end_ms}
        aria-valuenow=${playhead ?? now}
        aria-valuetext=${playhead !== null ? formatClock(playhead, this.zone) : "live"}
        data-start-ms=${String(view.start)}
        data-end-ms=${String(view.end)}
        @pointerdown=${this._onPointerDown}
        @pointermove=${this._onPointerMove}
        @pointerup=${this._onPointerUp}
        @pointercancel=${this._onPointerCancel}
        @pointerleave=${this._onPointerLeave}
        @wheel=${this._onWheel}
      >
        ${future !== null && future < view.end
          ? html`<div class="future" style="left:${left(future)};width:${span(future, view.end)}"></div>`
          : nothing}
        ${recorded.map(
          ([start, end]) =>
            html`<div
              class="recorded"
              data-start-ms=${String(start)}
              data-end-ms=${String(end)}
              style="left:${left(start)};width:${Math.max(minWidth, Number.parseFloat(span(start, end)))}%"
            ></div>`,
        )}
        ${gaps.map(
          (gap) =>
            html`<div
              class="gap"
              title="No footage ${formatClock(gap.start_ms, this.zone)}–${formatClock(gap.end_ms, this.zone)}: ${gap.reason}"
              data-start-ms=${String(gap.start_ms)}
              data-end-ms=${String(gap.end_ms)}
              data-reason=${gap.reason}
              style="left:${left(gap.start_ms)};width:${Math.max(minWidth, Number.parseFloat(span(gap.start_ms, gap.end_ms)))}%"
            ></div>`,
        )}
        ${events.map((event) => {
          const style = markerStyle(markerKey(event));
          const end = event.end_ms ?? now;
          const widthPercent = Math.max(minEventWidth, Number.parseFloat(span(event.start_ms, end)));
          return html`<div
            class="event ${style.letter ? "seen" : ""}"
            data-event-id=${event.id}
            data-kind=${event.kind}
            data-marker=${markerKey(event)}
            data-labels=${(event.labels ?? []).join(",")}
            title="${eventTitle(event)} · ${formatClock(event.start_ms, this.zone)} · ${formatDuration(end - event.start_ms)}"
            style="left:${left(event.start_ms)};width:${widthPercent}%;background:${style.color}"
          >
            ${style.letter ? html`<span class="letter" aria-hidden="true">${style.letter}</span>` : nothing}
          </div>`;
        })}
        ${this.selection !== null
          ? html`<div
              class="selection"
              style="left:${left(this.selection.start)};width:${span(this.selection.start, this.selection.end)}"
            ></div>`
          : nothing}
        ${future !== null && future >= view.start && future <= view.end
          ? html`<div class="now" style="left:${left(future)}"></div>`
          : nothing}
        ${playhead !== null && playhead >= view.start && playhead <= view.end
          ? html`<div class="playhead" style="left:${left(playhead)}">
              ${dragging !== null && !this.selecting
                ? html`<span class="drag ${x(dragging) > 75 ? "flip" : ""}">${formatClock(dragging, this.zone)}</span>`
                : nothing}
            </div>`
          : nothing}
        ${this._hoverMs !== null && this._down === null
          ? html`<div class="hover" style="left:${left(this._hoverMs)}"></div>`
          : nothing}
      </div>
    `;
  }

  static override styles = css`
    :host {
      display: block;
      user-select: none;
      -webkit-user-select: none;
      --vigil-track-height: 36px;
    }
    .ruler {
      position: relative;
      height: 18px;
      overflow: hidden;
      font: 11px/16px var(--ha-font-family-body, Roboto, sans-serif);
      color: var(--secondary-text-color);
      font-variant-numeric: tabular-nums;
    }
    .tick {
      position: absolute;
      bottom: 0;
      height: 5px;
      border-left: 1px solid var(--divider-color);
    }
    .tick.major {
      height: 8px;
      border-left-color: var(--secondary-text-color);
    }
    .tick .label {
      position: absolute;
      bottom: 4px;
      left: 3px;
      white-space: nowrap;
    }
    .track {
      position: relative;
      height: var(--vigil-track-height);
      border-radius: 4px;
      overflow: hidden;
      cursor: pointer;
      touch-action: pan-y;
      background: var(--vigil-empty-color, var(--secondary-background-color, #e5e5e5));
      outline: none;
    }
    .track:focus-visible {
      box-shadow: 0 0 0 2px var(--primary-color);
    }
    :host([selecting]) .track {
      cursor: col-resize;
    }
    .track > div {
      position: absolute;
      top: 0;
      bottom: 0;
    }
    .future {
      background: repeating-linear-gradient(90deg, transparent 0 6px, var(--divider-color) 6px 7px);
      opacity: 0.5;
    }
    .track > .recorded {
      top: 10px;
      bottom: 10px;
      background: var(--vigil-recorded-color, var(--primary-color, #03a9f4));
      opacity: 0.85;
      border-radius: 2px;
    }
    .gap {
      background: repeating-linear-gradient(
        135deg,
        var(--vigil-gap-color, var(--error-color, #db4437)) 0 3px,
        transparent 3px 7px
      );
      opacity: 0.7;
    }
    .track > .event {
      top: 2px;
      bottom: auto;
      height: 7px;
      border-radius: 2px;
      min-width: 3px;
    }
    /* What was seen (a person, a vehicle...): a taller marker with its letter, readable on a phone. */
    .track > .event.seen {
      height: 14px;
      min-width: 12px;
      overflow: hidden;
    }
    .event .letter {
      display: block;
      padding-left: 2px;
      font: 700 10px/14px var(--ha-font-family-body, Roboto, sans-serif);
      color: #fff;
      text-shadow: 0 0 2px rgba(0, 0, 0, 0.6);
      pointer-events: none;
    }
    .selection {
      background: var(--vigil-selection-color, rgba(255, 193, 7, 0.35));
      border-left: 2px solid var(--vigil-selection-edge, #ffb300);
      border-right: 2px solid var(--vigil-selection-edge, #ffb300);
      box-sizing: border-box;
    }
    .now {
      width: 2px;
      background: var(--error-color, #db4437);
    }
    .playhead {
      width: 2px;
      margin-left: -1px;
      background: var(--primary-text-color);
    }
    .hover {
      width: 1px;
      background: var(--secondary-text-color);
      opacity: 0.6;
      pointer-events: none;
    }
    .drag {
      position: absolute;
      bottom: 2px;
      left: 4px;
      padding: 0 4px;
      border-radius: 3px;
      font: 11px/16px var(--ha-font-family-body, Roboto, sans-serif);
      background: var(--primary-text-color);
      color: var(--card-background-color, #fff);
      white-space: nowrap;
    }
    .drag.flip {
      left: auto;
      right: 4px;
    }
    .empty {
      animation: pulse 1.4s ease-in-out infinite;
    }
    @keyframes pulse {
      50% {
        opacity: 0.5;
      }
    }
  `;
}

if (!customElements.get("vigil-timeline")) {
  customElements.define("vigil-timeline", VigilTimeline);
}

declare global {
  interface HTMLElementTagNameMap {
    "vigil-timeline": VigilTimeline;
  }
}
