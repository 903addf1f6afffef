// Watch an HLS playlist play in hls.js in headless Chromium, and report what the player saw
// as one line of JSON on stdout: the fragments it played (sequence number, discontinuity
// counter, EXT-X-PROGRAM-DATE-TIME), samples of the playhead with the wall-clock date hls.js
// derives from EXT-X-PROGRAM-DATE-TIME (hls.playingDate), stalls, errors, failed requests.
//
//   node hls_watch.mjs --url <absolute playlist URL> [--start 12.5] [--advance 5] [--timeout 40]
//
// --start: seconds into a VOD playlist to start from (default: hls.js's own start; for a live
// playlist, its live edge). The page is served by Playwright itself at a path on the
// playlist's origin, so hls.js's requests are same-origin, as in Home Assistant's frontend.
// The modules (playwright-core, hls.js) are the pinned ones of tests/browser, and the browser
// is Debian's Chromium. Exit status: 0 when the playhead advanced by --advance seconds,
// 1 when it did not, 2 when the browser could not be run.

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const PAGE_PATH = '/__vigil_hls_watch__/player.html';
const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<video id="video" muted autoplay playsinline preload="auto" width="640"></video></body></html>`;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    start: { type: 'string' },
    advance: { type: 'string', default: '5' },
    timeout: { type: 'string', default: '40' },
    chromium: { type: 'string', default: process.env.VIGIL_CHROMIUM || '/usr/bin/chromium' },
  },
});

function report(result, status) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = status;
}

async function main() {
  const timeoutMs = Number(values.timeout) * 1000;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: values.chromium,
      headless: true,
      timeout: timeoutMs,
      handleSIGTERM: true,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
    });
  } catch (err) {
    report({ ok: false, error: `cannot start Chromium: ${err.message}` }, 2);
    return;
  }
  const result = { ok: false, error: null, failedRequests: [], console: [] };
  try {
    const page = await browser.newPage();
    page.on('console', (message) => result.console.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (err) => result.console.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (request) => {
      result.failedRequests.push(`${new URL(request.url()).pathname}: ${request.failure()?.errorText}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) result.failedRequests.push(`${new URL(response.url()).pathname}: HTTP ${response.status()}`);
    });
    const playlist = new URL(values.url);
    const pageUrl = new URL(PAGE_PATH, playlist.origin).href;
    await page.route(pageUrl, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
    await page.goto(pageUrl);
    await page.addScriptTag({ path: require.resolve('hls.js/dist/hls.min.js') });
    const start = values.start === undefined ? -1 : Number(values.start);
    await page.evaluate(({ src, start }) => {
      const video = document.getElementById('video');
      const watch = { log: [], fragments: [], errors: [], samples: [], playing: false };
      window.watch = watch;
      for (const name of ['playing', 'waiting', 'stalled', 'ended', 'error', 'seeking', 'seeked']) {
        video.addEventListener(name, () => {
          if (name === 'playing') watch.playing = true;
          watch.log.push({ event: name, t: video.currentTime, at: Date.now() });
        });
      }
      const hls = new window.Hls({ startPosition: start });
      window.hls = hls;
      hls.on(window.Hls.Events.ERROR, (_e, data) => watch.errors.push(`${data.fatal ? 'fatal ' : ''}${data.type}/${data.details}`));
      hls.on(window.Hls.Events.FRAG_CHANGED, (_e, data) => {
        const frag = data.frag;
        watch.fragments.push({ sn: frag.sn, cc: frag.cc, pdt: frag.programDateTime, start: frag.start, duration: frag.duration, t: video.currentTime });
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      video.play().catch((err) => watch.log.push({ event: `play(): ${err.message}`, t: 0, at: Date.now() }));
      setInterval(() => {
        const date = hls.playingDate;
        watch.samples.push({ at: Date.now(), t: video.currentTime, date: date ? date.getTime() : null, readyState: video.readyState });
      }, 100);
    }, { src: playlist.href, start });

    const advance = Number(values.advance);
    const deadline = Date.now() + timeoutMs;
    let from = null;
    for (;;) {
      const state = await page.evaluate(() => {
        const video = document.getElementById('video');
        return { t: video.currentTime, playing: window.watch.playing, error: video.error ? video.error.message || String(video.error.code) : null, ended: video.ended };
      });
      if (state.playing && from === null) from = state.t;
      if (from !== null && state.t - from >= advance) {
        result.ok = true;
        break;
      }
      if (state.error || state.ended || Date.now() >= deadline) {
        result.error = state.error || (state.ended ? 'ended' : `timed out after ${values.timeout} s`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const watched = await page.evaluate(() => ({
      ...window.watch,
      width: document.getElementById('video').videoWidth,
      height: document.getElementById('video').videoHeight,
      live: window.hls.levels.length ? Boolean(window.hls.levels[0].details?.live) : null,
    }));
    Object.assign(result, watched, { startedAt: from });
  } catch (err) {
    result.error = `${err.name}: ${err.message}`;
  } finally {
    await browser.close();
  }
  report(result, result.ok ? 0 : 1);
}

await main();
