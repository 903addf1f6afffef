// Clocks and dates in Home Assistant's zone, across clock changes (Node's Intl has full ICU).
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatClock, formatDay, formatDuration, localDate, utcOffset } from "../src/time";

const BERLIN = "Europe/Berlin";
const utc = (text: string): number => Date.parse(`${text}Z`);

test("the clock is Home Assistant's zone's, with the offset of each instant", () => {
  assert.equal(formatClock(utc("2026-01-15T12:00:00"), BERLIN), "13:00:00");
  assert.equal(formatClock(utc("2026-07-15T12:00:00"), BERLIN), "14:00:00");
  assert.equal(formatClock(utc("2026-07-15T12:00:00.4"), BERLIN, "millis"), "14:00:00.400");
  assert.equal(formatClock(utc("2026-07-15T12:00:59"), BERLIN, "minutes"), "14:00");
  assert.equal(formatClock(utc("2026-07-15T12:00:00"), "Asia/Kolkata"), "17:30:00");
});

test("the repeated autumn hour shows the same clock with two offsets", () => {
  const first = utc("2026-10-25T00:30:00");
  const second = utc("2026-10-25T01:30:00");
  assert.equal(formatClock(first, BERLIN), "02:30:00");
  assert.equal(formatClock(second, BERLIN), "02:30:00");
  assert.equal(utcOffset(first, BERLIN), "+02:00");
  assert.equal(utcOffset(second, BERLIN), "+01:00");
  assert.equal(utcOffset(utc("2026-06-01T00:00:00"), "America/St_Johns"), "-02:30");
});

test("an instant's local date is the zone's, not UTC's", () => {
  assert.equal(localDate(utc("2026-03-28T23:30:00"), BERLIN), "2026-03-29");
  assert.equal(localDate(utc("2026-03-28T23:30:00"), "UTC"), "2026-03-28");
});

test("days and durations for people", () => {
  // The calendar date as is, whatever the zone: the words are the language's (ICU's punctuation).
  assert.match(formatDay("2026-03-29", "en-GB"), /^Sun,? 29 Mar 2026$/);
  assert.match(formatDay("2026-03-29", "de"), /29/);
  assert.match(formatDay("2026-03-29", "no-such-language-!"), /2026/);
  assert.deepEqual(
    [400, 42_000, 185_000, 720_000, 7_500_000].map(formatDuration),
    ["0 s", "42 s", "3 min 05 s", "12 min", "2 h 05 min"],
  );
});
