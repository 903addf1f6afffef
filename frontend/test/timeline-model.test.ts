// The bar's geometry and lookups, on days of 23, 24 and 25 hours as the engine describes them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TimelineEvent, TimelineHour } from "../src/api";
import {
  eventAt,
  footageFrom,
  nextEvent,
  normalizeSelection,
  previousEvent,
  shortOffset,
  ticks,
  timeToX,
  viewAround,
  xToTime,
  zoom,
  zoomAround,
  ZOOM_SPANS,
} from "../src/timeline-model";

const HOUR = 3_600_000;
const utc = (text: string): number => Date.parse(`${text}Z`);

/** Berlin's 2026-10-25 as the engine's summary lists it: 25 hours, 02:00 twice. */
function autumnHours(): TimelineHour[] {
  const start = utc("2026-10-24T22:00:00");
  const labels = ["00", "01", "02", "02", ...Array.from({ length: 21 }, (_, index) => String(index + 3).padStart(2, "0"))];
  return labels.map((label, index) => ({
    start_ms: start + index * HOUR,
    end_ms: start + (index + 1) * HOUR,
    label: `${label}:00`,
    utc_offset: index < 3 ? "+02:00" : "+01:00",
    events: 0,
    recorded_ms: 0,
  }));
}

test("the bar is linear in real time: 25 hours take 25 equal parts", () => {
  const hours = autumnHours();
  const day = { start: hours[0]!.start_ms, end: hours[24]!.end_ms };
  assert.equal(day.end - day.start, 25 * HOUR);
  assert.equal(timeToX(day.start + 5 * HOUR, day, 1000), 200);
  assert.equal(xToTime(200, day, 1000), day.start + 5 * HOUR);
  assert.equal(xToTime(-50, day, 1000), day.start); // clamped to the bar
});

test("hour ticks carry the engine's labels, and the offset where a clock time repeats", () => {
  const hours = autumnHours();
  const day = { start: hours[0]!.start_ms, end: hours[24]!.end_ms };
  const labels = ticks(hours, day, 2500).map((tick) => tick.label);
  assert.deepEqual(labels.slice(0, 5), ["00:00", "01:00", "02:00 +2", "02:00 +1", "03:00"]);
  assert.equal(labels.length, 25);
  // Minute ticks within the second 02:00 hour count from its own start.
  const second = hours[3]!;
  const minutes = ticks(hours, { start: second.start_ms, end: second.start_ms + 30 * 60_000 }, 600);
  assert.equal(minutes[0]!.label, "02:00 +1");
  assert.ok(minutes.some((tick) => tick.label === "02:10" && tick.ms === second.start_ms + 10 * 60_000));
});

test("seconds show when the bar shows a minute or two", () => {
  const hours = autumnHours();
  const start = hours[5]!.start_ms; // 04:00 +01:00
  const labels = ticks(hours, { start: start + 60_000, end: start + 120_000 }, 600).map((tick) => tick.label);
  assert.deepEqual(labels.slice(0, 3), ["04:01:00", "04:01:10", "04:01:20"]);
});

test("short offsets", () => {
  assert.deepEqual(["+01:00", "+05:30", "-03:00", "+00:00", "odd"].map(shortOffset), ["+1", "+5:30", "-3", "+0", "odd"]);
});

test("zooming keeps the anchor in place and stays inside the day", () => {
  const day = { start: 0, end: 24 * HOUR };
  const anchor = 18 * HOUR;
  let view = { ...day };
  for (const expected of ZOOM_SPANS.slice(1)) {
    view = zoom(view, day, 1, anchor);
    assert.equal(view.end - view.start, expected);
    assert.ok(view.start <= anchor && anchor <= view.end);
  }
  assert.deepEqual(zoom(view, day, 1, anchor), view); // the last level
  assert.deepEqual(viewAround(23.9 * HOUR, 2 * HOUR, day), { start: 22 * HOUR, end: 24 * HOUR });
  // The buttons centre what is watched.
  assert.deepEqual(zoomAround(day, day, 1, 9 * HOUR), { start: 6 * HOUR, end: 12 * HOUR });
});

test("footage from an instant: itself in footage, the next range after a gap, none after the last", () => {
  const recorded: [number, number][] = [
    [0, 100],
    [200, 300],
  ];
  assert.equal(footageFrom(recorded, 50), 50);
  assert.equal(footageFrom(recorded, 150), 200);
  assert.equal(footageFrom(recorded, 300), undefined);
});

test("events: next, previous and the one playing, by their footage (pre-capture included)", () => {
  const event = (id: string, start: number, end: number | null): TimelineEvent => ({
    id, kind: "motion", label: null, zones: [], start_ms: start, end_ms: end, pre_ms: 5000, post_ms: 5000, peak_score: 0.1, thumbnail: null,
  });
  const events = [event("b", 60_000, 70_000), event("a", 20_000, 30_000), event("c", 100_000, null)];
  assert.equal(nextEvent(events, 0)?.id, "a");
  assert.equal(nextEvent(events, 15_000)?.id, "b"); // a's footage starts at 15 s: not "next" from there
  assert.equal(previousEvent(events, 56_000)?.id, "a");
  assert.equal(eventAt(events, 16_000, 200_000)?.id, "a");
  assert.equal(eventAt(events, 150_000, 200_000)?.id, "c"); // still running
  assert.equal(eventAt(events, 40_000, 200_000), undefined);
  assert.deepEqual(normalizeSelection(5000, 2000), { start: 2000, end: 5000 });
  assert.deepEqual(normalizeSelection(5000, 5000), { start: 5000, end: 6000 });
});
