// Small helpers shared by the REST client, the WebSocket stream and the streamer.

export function trimSlash(url) {
  return String(url).replace(/\/+$/, "");
}

/** ws(s)://host/ws/stream for an http(s):// (or ws(s)://, or bare host) base URL. */
export function wsUrl(baseUrl, accessToken) {
  const base = trimSlash(baseUrl);
  let url;
  if (base.startsWith("https://")) url = "wss://" + base.slice(8);
  else if (base.startsWith("http://")) url = "ws://" + base.slice(7);
  else if (base.startsWith("ws://") || base.startsWith("wss://")) url = base;
  else url = "ws://" + base;
  url += "/ws/stream";
  if (accessToken) url += "?access_token=" + encodeURIComponent(accessToken);
  return url;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds on the page's clock: Unix time, monotonic within the page. */
export function defaultClock() {
  if (typeof performance !== "undefined" && performance.timeOrigin) {
    return (performance.timeOrigin + performance.now()) / 1000;
  }
  return Date.now() / 1000;
}
