// The card's look: Home Assistant's theme variables (light and dark), and a compact layout
// for narrow cards (a phone, a narrow column, the card picker's preview), by container query.

import { css } from "lit";

export const cardStyles = css`
  :host {
    display: block;
    /* The card's own width decides its layout (a phone, a narrow column, the card picker). */
    container-type: inline-size;
  }
  ha-card {
    display: block;
    overflow: hidden;
    background: var(--ha-card-background, var(--card-background-color, #fff));
    color: var(--primary-text-color);
    border-radius: var(--ha-card-border-radius, 12px);
  }
  .header {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 8px;
    flex-wrap: wrap;
    padding: 8px 8px 8px 16px;
    min-height: 40px;
  }
  .title {
    font-size: var(--ha-card-header-font-size, 18px);
    font-weight: 500;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    min-width: 0;
  }
  .day-nav {
    display: flex;
    align-items: center;
    gap: 2px;
  }
  .day {
    position: relative;
    display: inline-flex;
    flex-direction: column;
    align-items: center;
    padding: 0 4px;
    font-variant-numeric: tabular-nums;
    cursor: pointer;
  }
  .day input {
    position: absolute;
    inset: 0;
    opacity: 0;
    width: 100%;
    cursor: pointer;
    color-scheme: light dark;
  }
  .dst {
    font-size: 11px;
    color: var(--secondary-text-color);
  }
  .controls {
    display: flex;
    align-items: center;
    gap: 2px;
    padding: 4px 8px 0;
  }
  .spacer {
    flex: 1;
  }
  button {
    font: inherit;
    color: inherit;
  }
  button.icon,
  button.live,
  .action {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 4px;
    min-width: 40px;
    height: 40px;
    padding: 0 8px;
    border: none;
    border-radius: 20px;
    background: none;
    color: var(--primary-text-color);
    cursor: pointer;
    fill: currentColor;
    text-decoration: none;
  }
  button.icon.small {
    min-width: 32px;
    height: 32px;
  }
  button:hover:not([disabled]),
  .action:hover {
    background: var(--secondary-background-color);
  }
  button[disabled] {
    opacity: 0.38;
    cursor: default;
  }
  button.on {
    color: var(--primary-color);
    background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.12);
  }
  button.live.on {
    color: var(--error-color, #db4437);
    opacity: 1;
  }
  .action {
    color: var(--primary-color);
    font-weight: 500;
  }
  vigil-timeline {
    margin: 4px 16px 0;
  }
  .info {
    display: flex;
    align-items: center;
    gap: 8px;
    flex-wrap: wrap;
    min-height: 40px;
    padding: 0 16px;
    font-size: 14px;
    font-variant-numeric: tabular-nums;
  }
  .info.muted {
    color: var(--secondary-text-color);
  }
  .info.error {
    color: var(--error-color, #db4437);
  }
  .events {
    padding: 0 12px 8px;
  }
  .events summary {
    cursor: pointer;
    padding: 4px 4px 8px;
    font-weight: 500;
  }
  .count {
    color: var(--secondary-text-color);
    font-weight: normal;
  }
  /* The filter: a chip per category of the day's events; wraps on a phone. */
  .filter {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
    padding: 6px 12px 0;
  }
  .chip {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    min-height: 32px;
    padding: 0 10px 0 6px;
    border: 1px solid var(--divider-color, rgba(127, 127, 127, 0.4));
    border-radius: 16px;
    background: none;
    color: var(--secondary-text-color);
    font: inherit;
    font-size: 13px;
    cursor: pointer;
    opacity: 0.6;
  }
  .chip.on {
    color: var(--primary-text-color);
    background: var(--secondary-background-color, rgba(127, 127, 127, 0.12));
    opacity: 1;
  }
  .chip:focus-visible {
    outline: 2px solid var(--primary-color, #03a9f4);
  }
  .chip .dot {
    display: inline-block;
    width: 18px;
    height: 18px;
    border-radius: 50%;
    font: 700 10px/18px var(--ha-font-family-body, Roboto, sans-serif);
    text-align: center;
    color: #fff;
  }
  vigil-event-list {
    max-height: 320px;
    overflow-y: auto;
  }
  .missing {
    padding: 16px;
    color: var(--secondary-text-color);
  }
  @container (max-width: 400px) {
    .controls {
      gap: 0;
      padding: 4px 4px 0;
    }
    button.icon,
    button.live {
      min-width: 36px;
      padding: 0 6px;
    }
    button.live span {
      display: none;
    }
    vigil-timeline {
      margin: 4px 12px 0;
    }
    .info {
      padding: 0 12px;
    }
  }
`;
