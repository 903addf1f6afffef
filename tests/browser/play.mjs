// Play a video URL in headless Chromium and report, as one line of JSON on stdout, whether it
// reached readyState 4 (HAVE_ENOUGH_DATA) and how far currentTime advanced.
//
//   node play.mjs --url <absolute media URL> [--hls] [--advance 0.5] [--timeout 20]
//
// The page is served by Playwright itself (page.route) at a path on the media URL's own
// origin, so the media (and, for HLS, hls.js's XHRs) are same-origin requests to the server
// under test, exactly as Home Assistant's frontend would make them; the page never reaches
// the server. The browser is the system's Chromium (Debian's `chromium` package), not a
// download: playwright-core drives it over CDP.
//
// Exit status: 0 when the video reached readyState 4 and advanced by --advance seconds,
// 1 when it did not (the JSON says what happened), 2 when the browser could not be run.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const HAVE_ENOUGH_DATA = 4;
const PLAYER_PATH = '/__vigil_browser_test__/player.html';
const BROWSER_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  // Nobody clicks play in a test; muted autoplay is allowed anyway, this makes it explicit.
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
];

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    hls: { type: 'boolean', default: false },
    advance: { type: 'string', default: '0.5' },
    timeout: { type: 'string', default: '20' },
    chromium: { type: 'string', default: process.env.VIGIL_CHROMIUM || '/usr/bin/chromium' },
  },
});

function report(result, status) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = status;
}

// The page: a muted <video>, and a log of its media events (for the failure message).
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Vigil playback test</title></head>
<body>
<video id="video" muted autoplay playsinline preload="auto" width="640"></video>
<script>
  window.mediaLog = [];
  const video = document.getElementById('video');
  for (const name of ['loadstart', 'loadedmetadata', 'loadeddata', 'canplay', 'canplaythrough',
                      'playing', 'waiting', 'stalled', 'ended', 'error']) {
    video.addEventListener(name, () => {
      window.mediaLog.push(name + ' t=' + video.currentTime.toFixed(3) + ' readyState=' + video.readyState);
    });
  }
</script>
</body></html>`;

async function main() {
  if (!values.url) {
    report({ ok: false, error: 'usage: node play.mjs --url <absolute media URL> [--hls]' }, 2);
    return;
  }
  const mediaUrl = new URL(values.url);
  const advance = Number(values.advance);
  const timeoutMs = Number(values.timeout) * 1000;
  const started = Date.now();

  let browser;
  try {
    browser = await chromium.launch({
      executablePath: values.chromium,
      headless: true,
      args: BROWSER_ARGS,
      timeout: timeoutMs,
      handleSIGTERM: true, // the caller's way to stop us: the browser goes too
    });
  } catch (err) {
    report({ ok: false, error: `cannot start Chromium at ${values.chromium}: ${err.message}` }, 2);
    return;
  }
  const result = {
    ok: false,
    mode: values.hls ? 'hls.js' : 'src',
    browser: browser.version(),
    readyState: 0,
    maxReadyState: 0,
    startTime: null,
    currentTime: 0,
    advanced: 0,
    duration: null,
    videoWidth: 0,
    videoHeight: 0,
    decodedFrames: 0,
    error: null,
    mediaLog: [],
    console: [],
    failedRequests: [],
    elapsedMs: 0,
  };
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(timeoutMs);
    page.on('console', (message) => result.console.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (err) => result.console.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (request) => {
      // Signatures are in the query: keep only the path in reports.
      result.failedRequests.push(`${new URL(request.url()).pathname}: ${request.failure()?.errorText}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) {
        result.failedRequests.push(`${new URL(response.url()).pathname}: HTTP ${response.status()}`);
      }
    });
    const pageUrl = new URL(PLAYER_PATH, mediaUrl.origin).href;
    await page.route(pageUrl, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
    await page.goto(pageUrl);

    if (values.hls) {
      await page.addScriptTag({ path: require.resolve('hls.js/dist/hls.min.js') });
      await page.evaluate((src) => {
        const video = document.getElementById('video');
        if (!window.Hls.isSupported()) throw new Error('hls.js: Media Source Extensions not supported');
        const hls = new window.Hls();
        hls.on(window.Hls.Events.ERROR, (_event, data) => {
          window.mediaLog.push(`hls.js ${data.fatal ? 'fatal ' : ''}error: ${data.type}/${data.details}`);
        });
        hls.loadSource(src);
        hls.attachMedia(video);
        video.play().catch((err) => window.mediaLog.push(`play(): ${err.message}`));
      }, mediaUrl.href);
    } else {
      await page.evaluate((src) => {
        const video = document.getElementById('video');
        video.src = src;
        video.play().catch((err) => window.mediaLog.push(`play(): ${err.message}`));
      }, mediaUrl.href);
    }

    // Poll the element: readyState 4 first, then currentTime must move on by `advance`.
    const deadline = started + timeoutMs;
    for (;;) {
      const state = await page.evaluate(() => {
        const video = document.getElementById('video');
        const quality = video.getVideoPlaybackQuality();
        return {
          readyState: video.readyState,
          currentTime: video.currentTime,
          duration: Number.isFinite(video.duration) ? video.duration : null,
          videoWidth: video.videoWidth,
          videoHeight: video.videoHeight,
          decodedFrames: quality.totalVideoFrames,
          error: video.error ? `MediaError ${video.error.code}: ${video.error.message}` : null,
          ended: video.ended,
        };
      });
      Object.assign(result, {
        readyState: state.readyState,
        currentTime: state.currentTime,
        duration: state.duration,
        videoWidth: state.videoWidth,
        videoHeight: state.videoHeight,
        decodedFrames: state.decodedFrames,
        error: state.error,
      });
      result.maxReadyState = Math.max(result.maxReadyState, state.readyState);
      if (result.startTime === null && state.readyState >= HAVE_ENOUGH_DATA) {
        result.startTime = state.currentTime;
      }
      if (result.startTime !== null) {
        result.advanced = state.currentTime - result.startTime;
        if (result.advanced >= advance) {
          result.ok = true;
          break;
        }
      }
      if (state.error || state.ended || Date.now() >= deadline) {
        if (!state.error && !state.ended) result.error = `timed out after ${values.timeout} s`;
        else if (state.ended) result.error = 'the video ended before currentTime advanced enough';
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    result.mediaLog = await page.evaluate(() => window.mediaLog);
  } catch (err) {
    result.error = `${err.name}: ${err.message}`;
  } finally {
    result.elapsedMs = Date.now() - started;
    await browser.close();
  }
  report(result, result.ok ? 0 : 1);
}

await main();
