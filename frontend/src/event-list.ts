// <vigil-event-list>: the day's events, newest first, each with its thumbnail, time, what it
// was and how long it lasted. Selecting one asks the card to play it from its pre-capture.
// Thumbnails are signed paths of Home Assistant (for this user, short-lived) and load lazily.

import { css, html, LitElement, nothing } from "lit";
import type { TimelineEvent } from "./api";
import { fireEvent } from "./ha";
import { eventTitle, markerKey, markerStyle } from "./markers";
import { formatClock, formatDuration } from "./time";

export interface PlayEventDetail {
  event: TimelineEvent;
  requestedAt: number;
}

export class VigilEventList extends LitElement {
  declare events: TimelineEvent[];
  declare activeId: string | null;
  declare zone: string;
  declare nowMs: number;
  declare hassUrl: (path: string) => string;
  /** What to say when there is nothing to list (the filter may hide the day's events). */
  declare emptyText: string;

  static override properties = {
    events: { attribute: false },
    activeId: { attribute: false },
    zone: { attribute: false },
    nowMs: { attribute: false },
    hassUrl: { attribute: false },
    emptyText: { attribute: false },
  };

  constructor() {
    super();
    this.events = [];
    this.activeId = null;
    this.zone = "UTC";
    this.nowMs = Date.now();
    this.hassUrl = (path) => path;
    this.emptyText = "No events on this day.";
  }

  private _select(event: TimelineEvent): void {
    fireEvent<PlayEventDetail>(this, "vigil-play-event", { event, requestedAt: performance.now() });
  }

  protected override render() {
    if (this.events.length === 0) {
      return html`<p class="none">${this.emptyText}</p>`;
    }
    const newestFirst = [...this.events].sort((a, b) => b.start_ms - a.start_ms);
    return html`<ul role="list">
      ${newestFirst.map((event) => {
        const style = markerStyle(markerKey(event));
        const running = event.end_ms === null;
        const length = (event.end_ms ?? this.nowMs) - event.start_ms;
        return html`<li>
          <button
            class=${event.id === this.activeId ? "active" : ""}
            data-event-id=${event.id}
            aria-label="Play the ${style.title.toLowerCase()} event at ${formatClock(event.start_ms, this.zone)}"
            @click=${() => this._select(event)}
          >
            ${event.thumbnail
              ? html`<img src=${this.hassUrl(event.thumbnail)} alt="" loading="lazy" width="96" height="54" />`
              : html`<span class="no-thumb"></span>`}
            <span class="text">
              <span class="time">${formatClock(event.start_ms, this.zone)}</span>
              <span class="what"
                ><span class="dot ${style.letter ? "seen" : ""}" style="background:${style.color}"
                  >${style.letter}</span
                >${eventTitle(event)}</span
              >
              <span class="length">${running ? `running · ${formatDuration(length)}` : formatDuration(length)}</span>
            </span>
          </button>
        </li>`;
      })}
    </ul>
    ${nothing}`;
  }

  static override styles = css`
    :host {
      display: block;
    }
    ul {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    li + li {
      border-top: 1px solid var(--divider-color);
    }
    button {
      display: flex;
      gap: 12px;
      align-items: center;
      width: 100%;
      padding: 6px 4px;
      border: none;
      background: none;
      color: inherit;
      font: inherit;
      text-align: left;
      cursor: pointer;
      border-radius: 6px;
    }
    button:hover,
    button:focus-visible {
      background: var(--secondary-background-color);
      outline: none;
    }
    button.active {
      background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.15);
    }
    img,
    .no-thumb {
      flex: none;
      width: 96px;
      height: 54px;
      border-radius: 4px;
      object-fit: cover;
      background: var(--secondary-background-color);
    }
    .text {
      display: flex;
      flex-direction: column;
      min-width: 0;
    }
    .time {
      font-weight: 500;
      font-variant-numeric: tabular-nums;
    }
    .what,
    .length {
      color: var(--secondary-text-color);
      font-size: 0.9em;
      white-space: nowrap;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .dot {
      display: inline-block;
      width: 8px;
      height: 8px;
      border-radius: 50%;
      margin-right: 6px;
      vertical-align: middle;
    }
    .dot.seen {
      width: 14px;
      height: 14px;
      font: 700 9px/14px var(--ha-font-family-body, Roboto, sans-serif);
      text-align: center;
      color: #fff;
    }
    .none {
      margin: 8px 0;
      color: var(--secondary-text-color);
    }
  `;
}

if (!customElements.get("vigil-event-list")) {
  customElements.define("vigil-event-list", VigilEventList);
}

declare global {
  interface HTMLElementTagNameMap {
    "vigil-event-list": VigilEventList;
  }
}
