// <vigil-timeline-card-editor>: the card's visual editor, drawn with Home Assistant's own form
// (ha-form and its selectors), as the frontend's built-in cards are: a camera picker that offers
// only Vigil cameras, the default view, the event list and the timeline's first zoom.

import { css, html, LitElement, nothing } from "lit";
import type { VigilCardConfig } from "./card";
import { fireEvent, VIGIL, type HomeAssistant } from "./ha";

interface FormSchema {
  name: string;
  required?: boolean;
  selector: Record<string, unknown>;
}

const SCHEMA: FormSchema[] = [
  { name: "entity", required: true, selector: { entity: { filter: [{ integration: VIGIL, domain: "camera" }] } } },
  { name: "title", selector: { text: {} } },
  {
    name: "default_view",
    selector: {
      select: {
        mode: "dropdown",
        options: [
          { value: "live", label: "Live view" },
          { value: "last_event", label: "The latest event" },
        ],
      },
    },
  },
  {
    name: "timeline_hours",
    selector: {
      select: {
        mode: "dropdown",
        options: [
          { value: "24", label: "The whole day" },
          { value: "6", label: "6 hours" },
          { value: "2", label: "2 hours" },
          { value: "0.5", label: "30 minutes" },
        ],
      },
    },
  },
  { name: "show_events", selector: { boolean: {} } },
];

const DEFAULTS: Record<string, unknown> = { default_view: "live", show_events: true, timeline_hours: 24 };

const LABELS: Record<string, string> = {
  entity: "Camera",
  title: "Title (the camera's name if empty)",
  default_view: "Show first",
  timeline_hours: "Timeline shows",
  show_events: "List the day's events",
};

interface CardHelpers {
  createCardElement(config: { type: string; entities?: string[] }): Promise<{ constructor: { getConfigElement?: () => Promise<unknown> } }>;
}

declare global {
  interface Window {
    loadCardHelpers?: () => Promise<CardHelpers>;
  }
}

/**
 * Home Assistant loads ha-form with its own card editors; the first custom editor opened may
 * come before any of them. Asking for a built-in card's editor loads it (the usual way).
 */
async function ensureHaForm(): Promise<void> {
  if (customElements.get("ha-form") !== undefined || window.loadCardHelpers === undefined) {
    return;
  }
  const helpers = await window.loadCardHelpers();
  const card = await helpers.createCardElement({ type: "entities", entities: [] });
  await card.constructor.getConfigElement?.();
}

export class VigilTimelineCardEditor extends LitElement {
  declare hass: HomeAssistant | undefined;
  declare private _config: VigilCardConfig | undefined;
  declare private _ready: boolean;

  static override properties = {
    hass: { attribute: false },
    _config: { state: true },
    _ready: { state: true },
  };

  constructor() {
    super();
    this._ready = customElements.get("ha-form") !== undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this._ready) {
      void ensureHaForm().then(() => (this._ready = true));
    }
  }

  setConfig(config: VigilCardConfig): void {
    this._config = config;
  }

  private _changed(event: CustomEvent<{ value: Record<string, unknown> }>): void {
    event.stopPropagation();
    const value = { ...event.detail.value };
    if (typeof value.timeline_hours === "string") {
      value.timeline_hours = Number(value.timeline_hours);
    }
    // Only what differs from the defaults is written into the dashboard.
    for (const key of Object.keys(value)) {
      if (value[key] === "" || value[key] === undefined || DEFAULTS[key] === value[key]) {
        delete value[key];
      }
    }
    const config = { ...value, type: this._config?.type ?? "custom:vigil-timeline-card" } as VigilCardConfig;
    this._config = config;
    fireEvent(this, "config-changed", { config });
  }

  protected override render() {
    if (this.hass === undefined || this._config === undefined || !this._ready) {
      return nothing;
    }
    const data = { ...DEFAULTS, ...this._config, timeline_hours: String(this._config.timeline_hours ?? DEFAULTS.timeline_hours) };
    return html`<ha-form
      .hass=${this.hass}
      .data=${data}
      .schema=${SCHEMA}
      .computeLabel=${(schema: FormSchema) => LABELS[schema.name] ?? schema.name}
      @value-changed=${this._changed}
    ></ha-form>`;
  }

  static override styles = css`
    :host {
      display: block;
    }
  `;
}

if (!customElements.get("vigil-timeline-card-editor")) {
  customElements.define("vigil-timeline-card-editor", VigilTimelineCardEditor);
}
