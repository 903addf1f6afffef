// <vigil-panel>: the "Cameras" sidebar panel the integration registers (custom_components/vigil/
// card.py). Right after setup, every user finds the cameras there: a timeline card per Vigil
// camera, side by side on a wide screen, one under the other on a phone.

import { css, html, LitElement } from "lit";
import { Directive, directive, type ElementPart, type PartInfo, PartType } from "lit/directive.js";
import type { VigilCardConfig } from "./card";
import "./card";
import { fireEvent, vigilCameras, type HomeAssistant } from "./ha";
import { icon, mdiMenu } from "./icons";

export class VigilPanel extends LitElement {
  declare hass: HomeAssistant | undefined;
  declare narrow: boolean;

  static override properties = {
    hass: { attribute: false },
    narrow: { type: Boolean, reflect: true },
  };

  constructor() {
    super();
    this.narrow = false;
  }

  protected override render() {
    const hass = this.hass;
    const cameras = hass === undefined ? [] : vigilCameras(hass);
    return html`
      <header>
        ${this.narrow
          ? html`<button class="menu" aria-label="Menu" @click=${() => fireEvent(this, "hass-toggle-menu", undefined)}>
              ${icon(mdiMenu)}
            </button>`
          : ""}
        <h1>Cameras</h1>
      </header>
      <main>
        ${cameras.length === 0
          ? html`<p class="none">
              No Vigil camera yet. Add the Vigil NVR integration under Settings → Devices &amp; services, and its cameras
              appear here.
            </p>`
          : cameras.map(
              (entity) =>
                html`<vigil-timeline-card
                  .hass=${hass}
                  ${cardConfig({ type: "custom:vigil-timeline-card", entity })}
                ></vigil-timeline-card>`,
            )}
      </main>
    `;
  }

  static override styles = css`
    :host {
      display: block;
      min-height: 100vh;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
    }
    header {
      display: flex;
      align-items: center;
      gap: 8px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      box-sizing: border-box;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, #fff);
    }
    h1 {
      margin: 0;
      font-size: 20px;
      font-weight: 400;
    }
    .menu {
      display: inline-flex;
      align-items: center;
      justify-content: center;
      width: 40px;
      height: 40px;
      margin-left: -8px;
      border: none;
      border-radius: 50%;
      background: none;
      color: inherit;
      fill: currentColor;
      cursor: pointer;
    }
    main {
      display: grid;
      /* As many columns as fit, at least 480 px each; a few cameras share the whole width. */
      grid-template-columns: repeat(auto-fit, minmax(min(100%, 480px), 1fr));
      gap: 12px;
      padding: 12px;
      box-sizing: border-box;
    }
    .none {
      color: var(--secondary-text-color);
    }
  `;
}

/** Cards take their config by a method (setConfig), not a property: call it when the config changes. */
class CardConfigDirective extends Directive {
  private _last: string | undefined;

  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) {
      throw new Error("cardConfig is an element directive");
    }
  }

  override update(part: ElementPart, [config]: [VigilCardConfig]): unknown {
    const key = JSON.stringify(config);
    if (key !== this._last) {
      this._last = key;
      (part.element as HTMLElement & { setConfig(config: VigilCardConfig): void }).setConfig(config);
    }
    return this.render(config);
  }

  render(_config: VigilCardConfig): unknown {
    return undefined;
  }
}

const cardConfig = directive(CardConfigDirective);

if (!customElements.get("vigil-panel")) {
  customElements.define("vigil-panel", VigilPanel);
}
