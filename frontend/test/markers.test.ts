// Markers by what was seen, then by kind: new labels appear without a change, and get a colour when given one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventTitle, markerKey, markerStyle } from "../src/markers";

test("labels first, then kinds, and a manual event's label is only its name", () => {
  assert.equal(markerKey({ kind: "camera", label: "person" }), "label:person");
  assert.equal(markerKey({ kind: "camera", label: "Person " }), "label:person");
  assert.equal(markerKey({ kind: "camera", label: "doorbell" }), "kind:camera");
  assert.equal(markerKey({ kind: "manual", label: "person" }), "kind:manual");
  assert.equal(markerKey({ kind: "motion", label: null }), "kind:motion");
  assert.equal(markerStyle("kind:motion").title, "Motion");
  assert.equal(markerStyle("kind:something-new").title, "Event");
  assert.equal(markerStyle("label:person").title, "Person");
});

test("one line per event: the marker's title and what else is known", () => {
  assert.equal(eventTitle({ kind: "motion", label: null, zones: [] }), "Motion");
  assert.equal(eventTitle({ kind: "motion", label: null, zones: ["driveway", "door"] }), "Motion · driveway, door");
  assert.equal(eventTitle({ kind: "manual", label: "doorbell", zones: [] }), "Manual · doorbell");
  assert.equal(eventTitle({ kind: "camera", label: "person", zones: [] }), "Person");
});
