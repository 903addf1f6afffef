// How an event shows on the timeline and in the list: its marker. Keyed first by what was
// seen (a label such as "person", from a camera's own detection today and from object
// detection later), then by the event's kind. A label without a style of its own falls
// back to its kind: new labels need no change here to appear, only to get their own colour.

import type { TimelineEvent } from "./api";

export interface MarkerStyle {
  /** What the marker stands for, in the legend and the list. */
  title: string;
  /** A CSS colour (Home Assistant's theme variables with a fallback). */
  color: string;
}

const KIND_STYLES: Record<string, MarkerStyle> = {
  motion: { title: "Motion", color: "var(--vigil-motion-color, var(--warning-color, #ffa600))" },
  manual: { title: "Manual", color: "var(--vigil-manual-color, var(--info-color, #039be5))" },
  camera: { title: "Camera", color: "var(--vigil-camera-color, var(--accent-color, #ff9800))" },
};

const LABEL_STYLES: Record<string, MarkerStyle> = {
  person: { title: "Person", color: "var(--vigil-person-color, #e040fb)" },
  vehicle: { title: "Vehicle", color: "var(--vigil-vehicle-color, #00bfa5)" },
  animal: { title: "Animal", color: "var(--vigil-animal-color, #8bc34a)" },
  face: { title: "Face", color: "var(--vigil-face-color, #ff5252)" },
};

const OTHER: MarkerStyle = { title: "Event", color: "var(--vigil-event-color, var(--secondary-text-color, #727272))" };

/** The key of an event's marker: "label:<label>" when its label has a style, else "kind:<kind>". */
export function markerKey(event: Pick<TimelineEvent, "kind" | "label">): string {
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

/** What to call the event in one line: its marker's title, with its label or zones. */
export function eventTitle(event: Pick<TimelineEvent, "kind" | "label" | "zones">): string {
  const title = markerStyle(markerKey(event)).title;
  const detail = event.label && event.label.toLowerCase() !== title.toLowerCase() ? event.label : event.zones.join(", ");
  return detail ? `${title} · ${detail}` : title;
}
