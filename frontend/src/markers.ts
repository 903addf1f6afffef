// How an event shows on the timeline and in the list: its marker. Keyed first by what was
// seen (the group of its objects' labels: person, vehicle, animal; or a label a camera
// reported), then by the event's kind. A label without a style of its own falls back to its
// kind: new labels need no change here to appear, only to get their own colour.
//
// The card's filter files each event under its categories: the groups of what it saw, or its
// kind when it saw nothing (a motion event of a swaying branch is "motion").

import type { TimelineEvent } from "./api";

export interface MarkerStyle {
  /** What the marker stands for, in the legend, the filter and the list. */
  title: string;
  /** A CSS colour (Home Assistant's theme variables with a fallback). */
  color: string;
  /** The letter on the marker (what was seen); empty for a kind, whose marker is a plain bar. */
  letter: string;
}

const KIND_STYLES: Record<string, MarkerStyle> = {
  motion: { title: "Motion", color: "var(--vigil-motion-color, var(--warning-color, #ffa600))", letter: "" },
  manual: { title: "Manual", color: "var(--vigil-manual-color, var(--info-color, #039be5))", letter: "" },
  camera: { title: "Camera", color: "var(--vigil-camera-color, var(--accent-color, #ff9800))", letter: "" },
};

const LABEL_STYLES: Record<string, MarkerStyle> = {
  person: { title: "Person", color: "var(--vigil-person-color, #e040fb)", letter: "P" },
  vehicle: { title: "Vehicle", color: "var(--vigil-vehicle-color, #00bfa5)", letter: "V" },
  animal: { title: "Animal", color: "var(--vigil-animal-color, #8bc34a)", letter: "A" },
  face: { title: "Face", color: "var(--vigil-face-color, #ff5252)", letter: "F" },
};

const OTHER: MarkerStyle = {
  title: "Event",
  color: "var(--vigil-event-color, var(--secondary-text-color, #727272))",
  letter: "",
};

type Marked = Pick<TimelineEvent, "kind" | "label" | "groups">;

/** The key of an event's marker: "label:<group>" for what it saw, "label:<label>" for a styled
 * label a camera reported, else "kind:<kind>". */
export function markerKey(event: Marked): string {
  const group = (event.groups ?? []).find((name) => name in LABEL_STYLES);
  if (group !== undefined) {
    return `label:${group}`;
  }
  const label = event.label?.trim().toLowerCase();
  // A manual event's label is free text (e.g. "doorbell"): it names the event, not what was seen.
  if (label && event.kind !== "manual" && label in LABEL_STYLES) {
    return `label:${label}`;
  }
  return `kind:${event.kind}`;
}

export function markerStyle(key: string): MarkerStyle {
  const [family, name = ""] = key.split(":", 2);
  const styles = family === "label" ? LABEL_STYLES : KIND_STYLES;
  return styles[name] ?? OTHER;
}

/** The filter's categories of an event: the groups of what it saw, or its kind. */
export function eventCategories(event: Pick<TimelineEvent, "kind" | "groups">): string[] {
  const groups = event.groups ?? [];
  return groups.length > 0 ? groups : [event.kind];
}

/** How a category of the filter looks: a group's marker, or a kind's. */
export function categoryStyle(category: string): MarkerStyle {
  return LABEL_STYLES[category] ?? KIND_STYLES[category] ?? OTHER;
}

/** The categories of the day's events with how many each, in a fixed order (groups, then kinds). */
export function dayCategories(events: Pick<TimelineEvent, "kind" | "groups">[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const event of events) {
    for (const category of eventCategories(event)) {
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
  }
  const order = [...Object.keys(LABEL_STYLES), ...Object.keys(KIND_STYLES)];
  const rank = (name: string): number => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...counts.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** An event is shown unless every one of its categories is hidden. */
export function isShown(event: Pick<TimelineEvent, "kind" | "groups">, hidden: ReadonlySet<string>): boolean {
  return eventCategories(event).some((category) => !hidden.has(category));
}

/** What to call the event in one line: "Person · front yard · 92 %" (its marker's title, what
 * else it saw or a manual event's label, its zones, its best score). */
export function eventTitle(
  event: Pick<TimelineEvent, "kind" | "label" | "zones" | "groups" | "labels" | "top_score">,
): string {
  const title = markerStyle(markerKey(event)).title;
  const parts = [title];
  const same = (text: string): boolean => text.trim().toLowerCase() === title.toLowerCase();
  const others = (event.labels ?? []).filter((label) => !same(label));
  if (others.length > 0) {
    parts.push(others.join(", "));
  } else if (event.label && !same(event.label)) {
    parts.push(event.label);
  }
  if (event.zones.length > 0) {
    parts.push(event.zones.join(", "));
  }
  if (event.top_score !== undefined && event.top_score > 0) {
    parts.push(`${Math.round(event.top_score * 100)} %`);
  }
  return parts.join(" · ");
}
