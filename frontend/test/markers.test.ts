// Markers by what was seen, then by kind: new labels appear without a change, and get a colour when given one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { categoryStyle, dayCategories, eventCategories, eventTitle, isShown, markerKey, markerStyle } from "../src/markers";

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

test("what an event saw: its group's marker with a letter, and a title with zones and score", () => {
  const person = { kind: "motion", label: null, zones: ["front yard"], labels: ["person"], groups: ["person"], top_score: 0.92 };
  assert.equal(markerKey(person), "label:person");
  assert.equal(markerStyle(markerKey(person)).letter, "P");
  assert.equal(markerStyle("kind:motion").letter, "");
  assert.equal(eventTitle(person), "Person · front yard · 92 %");
  // A car and a person: the person's marker, the car named.
  const both = { kind: "motion", label: null, zones: [], labels: ["car", "person"], groups: ["person", "vehicle"], top_score: 0.5 };
  assert.equal(eventTitle(both), "Person · car · 50 %");
  const car = { kind: "motion", label: null, zones: ["drive"], labels: ["car"], groups: ["vehicle"], top_score: 0.8 };
  assert.equal(eventTitle(car), "Vehicle · car · drive · 80 %");
  // Nothing seen: as before.
  assert.equal(eventTitle({ kind: "motion", label: null, zones: ["drive"], labels: [], groups: [], top_score: 0 }), "Motion · drive");
});

test("the filter: categories of the day, and an event hidden only when all of its are", () => {
  const person = { kind: "motion", groups: ["person"] };
  const both = { kind: "motion", groups: ["person", "vehicle"] };
  const box = { kind: "motion", groups: [] };
  const manual = { kind: "manual" };
  assert.deepEqual(eventCategories(box), ["motion"]);
  assert.deepEqual(eventCategories(both), ["person", "vehicle"]);
  assert.deepEqual(dayCategories([box, manual, both, person]), [
    ["person", 2],
    ["vehicle", 1],
    ["motion", 1],
    ["manual", 1],
  ]);
  assert.equal(categoryStyle("animal").title, "Animal");
  assert.equal(categoryStyle("motion").title, "Motion");
  const hidden = new Set(["person"]);
  assert.equal(isShown(person, hidden), false);
  assert.equal(isShown(both, hidden), true);
  assert.equal(isShown(box, hidden), true);
  assert.equal(isShown(box, new Set(["motion"])), false);
});
