// The wall clock of a media time, and back, over segments laid out as hls.js lays them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { datedSpan, mediaTimeAt, segmentAt, wallAt, type DatedSegment } from "../src/wallclock";

// Two 10 s segments, then a 12 s gap (no media time), then a third: as the engine dates them.
const T0 = Date.parse("2026-12-03T19:00:00Z");
const segments: DatedSegment[] = [
  { start: 0, duration: 10, programDateTime: T0 },
  { start: 10, duration: 10, programDateTime: T0 + 10_000 },
  { start: 20, duration: 10, programDateTime: T0 + 32_000 },
];

test("the wall clock of a media time, on both sides of a gap", () => {
  assert.equal(wallAt(segments, 0), T0);
  assert.equal(wallAt(segments, 12.5), T0 + 12_500);
  assert.equal(wallAt(segments, 19.999), T0 + 19_999);
  assert.equal(wallAt(segments, 20), T0 + 32_000); // the first frame after the gap
  assert.equal(wallAt(segments, 31), T0 + 42_000); // past the end: the clock stands at the end
  assert.equal(wallAt([], 3), null);
});

test("the media time of a wall-clock instant; in a gap, where the footage resumes", () => {
  assert.deepEqual(mediaTimeAt(segments, T0 + 12_500), { seconds: 12.5, exact: true });
  assert.deepEqual(mediaTimeAt(segments, T0 + 25_000), { seconds: 20, exact: false });
  assert.deepEqual(mediaTimeAt(segments, T0 + 33_000), { seconds: 21, exact: true });
  assert.equal(mediaTimeAt(segments, T0 + 60_000), null);
  assert.deepEqual(mediaTimeAt(segments, T0 - 1), { seconds: 0, exact: false });
  assert.deepEqual(datedSpan(segments), { start: T0, end: T0 + 42_000 });
});

test("the segment of an instant, or the first after a gap, or none after the end", () => {
  assert.equal(segmentAt(segments, T0 + 12_500), segments[1]);
  assert.equal(segmentAt(segments, T0 + 25_000), segments[2]);
  assert.equal(segmentAt(segments, T0 - 5), segments[0]);
  assert.equal(segmentAt(segments, T0 + 42_000), undefined);
});

test("a loaded segment is dated by its first video frame, not by audio that starts earlier", () => {
  const loaded: DatedSegment[] = [{ start: 9.98, duration: 10.02, programDateTime: T0, elementaryStreams: { video: { startPTS: 10 } } }];
  assert.equal(wallAt(loaded, 10), T0);
  assert.equal(wallAt(loaded, 10.5), T0 + 500);
  assert.deepEqual(mediaTimeAt(loaded, T0 + 500), { seconds: 10.5, exact: true });
});

test("thousands of segments are looked up, not scanned", () => {
  const day = Array.from({ length: 8640 }, (_, index) => ({ start: index * 10, duration: 10, programDateTime: T0 + index * 10_000 }));
  const started = performance.now();
  for (let index = 0; index < 10_000; index += 1) {
    wallAt(day, index * 8.6);
  }
  assert.ok(performance.now() - started < 200);
  assert.deepEqual(mediaTimeAt(day, T0 + 86_399_999), { seconds: 86_399.999, exact: true });
});
