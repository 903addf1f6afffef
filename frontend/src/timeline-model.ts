// The day timeline's geometry and lookups, as pure functions of UTC milliseconds.
//
// A day is the engine's local day (Home Assistant's time zone): it runs from start_ms to
// end_ms, 23, 24 or 25 hours, and its hours come from the engine with their local labels
// and offsets. The bar is drawn in real time (a pixel is the same length of time all day),
// so an hour the clocks skip is simply absent and a repeated hour is there twice.

import type { DayTimeline, TimelineEvent, TimelineGap, TimelineHour } from "./api";

export interface Span {
  start: number;
  end: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The lengths the bar can show, from the whole day down to two minutes. */
export const ZOOM_SPANS = [24 * HOUR, 6 * HOUR, 2 * HOUR, 30 * MINUTE, 10 * MINUTE, 2 * MINUTE] as const;
const SECOND = 1000;
const TICK_STEPS = [
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
];

export function daySpan(day: Pick<DayTimeline, "start_ms" | "end_ms">): Span {
  return { start: day.start_ms, end: day.end_ms };
}

/** Where an instant falls on a bar of ``width`` pixels showing ``view``. */
export function timeToX(ms: number, view: Span, width: number): number {
  return ((ms - view.start) / (view.end - view.start)) * width;
}

/** The instant under pixel ``x`` of a bar of ``width`` pixels showing ``view`` (clamped to it). */
export function xToTime(x: number, view: Span, width: number): number {
  const fraction = Math.min(1, Math.max(0, width > 0 ? x / width : 0));
  return view.start + fraction * (view.end - view.start);
}

/** A view of ``length`` ms around ``centre``, kept inside the day. */
export function viewAround(centre: number, length: number, day: Span): Span {
  const dayLength = day.end - day.start;
  if (length >= dayLength) {
    return { ...day };
  }
  let start = centre - length / 2;
  start = Math.min(Math.max(start, day.start), day.end - length);
  return { start, end: start + length };
}

/** The next zoom level in (``direction`` 1) or out (-1) from ``view``, keeping ``anchor`` in place. */
export function zoom(view: Span, day: Span, direction: 1 | -1, anchor: number): Span {
  const length = view.end - view.start;
  const spans = ZOOM_SPANS.filter((span) => span <= day.end - day.start || span === ZOOM_SPANS[0]);
  const next =
    direction > 0
      ? spans.find((span) => span < length - 1)
      : [...spans].reverse().find((span) => span > length + 1);
  if (next === undefined) {
    return view;
  }
  // The anchor stays at the same fraction of the bar.
  const fraction = length > 0 ? (anchor - view.start) / length : 0.5;
  const target = Math.min(next, day.end - day.start);
  const start = anchor - fraction * target;
  return viewAround(start + target / 2, target, day);
}

/** The next zoom level in (1) or out (-1), centred on ``centre`` (what is being watched). */
export function zoomAround(view: Span, day: Span, direction: 1 | -1, centre: number): Span {
  const next = zoom(view, day, direction, centre);
  return viewAround(centre, next.end - next.start, day);
}

/** The view moved by ``fraction`` of its length (negative: back), kept inside the day. */
export function pan(view: Span, day: Span, fraction: number): Span {
  const length = view.end - view.start;
  return viewAround(view.start + length / 2 + fraction * length, length, day);
}

/** Only the items that overlap the view. */
export function visible<T>(items: readonly T[], view: Span, start: (item: T) => number, end: (item: T) => number): T[] {
  return items.filter((item) => end(item) > view.start && start(item) < view.end);
}

export interface Tick {
  ms: number;
  label: string;
  /** A major tick (an hour, or a coarser step) carries its label. */
  major: boolean;
}

/**
 * Ticks for the view: whole local hours from the day's hour list, and within each hour
 * minute steps counted from the hour's real start (so they are right on a day the clocks
 * change, and in zones a half hour off UTC). Labels come from the engine's hour labels.
 */
export function ticks(hours: readonly TimelineHour[], view: Span, width: number, minSpacing = 56): Tick[] {
  const length = view.end - view.start;
  const step = TICK_STEPS.find((candidate) => (candidate / length) * width >= minSpacing) ?? 6 * HOUR;
  const twoOffsets = new Set(hours.map((hour) => hour.utc_offset)).size > 1;
  const found: Tick[] = [];
  if (step >= HOUR) {
    const every = Math.round(step / HOUR);
    hours.forEach((hour, index) => {
      if (index % every === 0 && hour.start_ms >= view.start && hour.start_ms <= view.end) {
        found.push({ ms: hour.start_ms, label: hourLabel(hour, twoOffsets, hours), major: true });
      }
    });
    return found;
  }
  for (const hour of hours) {
    if (hour.end_ms < view.start || hour.start_ms > view.end) {
      continue;
    }
    const [hh = "00", mm = "00"] = hour.label.split(":");
    const baseMinutes = Number(mm);
    for (let ms = hour.start_ms; ms < hour.end_ms; ms += step) {
      if (ms < view.start || ms > view.end) {
        continue;
      }
      const into = ms - hour.start_ms;
      const minutes = String((baseMinutes + Math.floor(into / MINUTE)) % 60).padStart(2, "0");
      const seconds = step < MINUTE ? `:${String(Math.round((into % MINUTE) / SECOND)).padStart(2, "0")}` : "";
      const label = into === 0 ? hourLabel(hour, twoOffsets, hours) : `${hh}:${minutes}${seconds}`;
      found.push({ ms, label, major: into === 0 || (step < MINUTE && into % MINUTE === 0) });
    }
  }
  return found;
}

/** "02:00", or "02:00 +1" (the UTC offset, short) for an hour whose clock time occurs twice in the day. */
export function hourLabel(hour: TimelineHour, twoOffsets: boolean, hours: readonly TimelineHour[]): string {
  if (twoOffsets && hours.filter((other) => other.label === hour.label).length > 1) {
    return `${hour.label} ${shortOffset(hour.utc_offset)}`;
  }
  return hour.label;
}

/** "+01:00" as "+1", "+05:30" as "+5:30", "-03:00" as "-3": short enough for a tick. */
export function shortOffset(offset: string): string {
  const match = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (match === null) {
    return offset;
  }
  const [, sign = "+", hours = "00", minutes = "00"] = match;
  return `${sign}${Number(hours)}${minutes === "00" ? "" : `:${minutes}`}`;
}

/** The recorded range that holds ``ms``, or undefined. */
export function rangeAt(recorded: readonly [number, number][], ms: number): [number, number] | undefined {
  return recorded.find(([start, end]) => start <= ms && ms < end);
}

/** Where footage is at or after ``ms``: ``ms`` itself in footage, else the next range's start. */
export function footageFrom(recorded: readonly [number, number][], ms: number): number | undefined {
  if (rangeAt(recorded, ms) !== undefined) {
    return ms;
  }
  return recorded.find(([start]) => start > ms)?.[0];
}

export function gapAt(gaps: readonly TimelineGap[], ms: number): TimelineGap | undefined {
  return gaps.find((gap) => gap.start_ms <= ms && ms < gap.end_ms);
}

/** Where an event's footage starts: its first moving frame minus the pre-capture. */
export function eventPlayStart(event: Pick<TimelineEvent, "start_ms" | "pre_ms">): number {
  return event.start_ms - event.pre_ms;
}

/** The first event that starts after ``ms`` (by more than ``margin``), in time order. */
export function nextEvent(events: readonly TimelineEvent[], ms: number, margin = 1000): TimelineEvent | undefined {
  return [...events].sort((a, b) => a.start_ms - b.start_ms).find((event) => eventPlayStart(event) > ms + margin);
}

/** The last event that starts before ``ms`` (by more than ``margin``). */
export function previousEvent(events: readonly TimelineEvent[], ms: number, margin = 1000): TimelineEvent | undefined {
  return [...events].sort((a, b) => b.start_ms - a.start_ms).find((event) => eventPlayStart(event) < ms - margin);
}

/** The event whose footage (pre-capture to end) holds ``ms``: the latest to start. */
export function eventAt(events: readonly TimelineEvent[], ms: number, now: number): TimelineEvent | undefined {
  let found: TimelineEvent | undefined;
  for (const event of events) {
    const end = (event.end_ms ?? now) + event.post_ms;
    if (eventPlayStart(event) <= ms && ms < end && (found === undefined || event.start_ms > found.start_ms)) {
      found = event;
    }
  }
  return found;
}

/** A selection as a range, earliest first, at least ``minimum`` long. */
export function normalizeSelection(a: number, b: number, minimum = 1000): Span {
  const start = Math.min(a, b);
  return { start, end: Math.max(a, b, start + minimum) };
}
