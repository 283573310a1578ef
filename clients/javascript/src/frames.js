// Frames: the `frame` field of a request (base64 JPEG/PNG), from bytes, strings or a picture; and
// binary WebSocket frame messages (the image's own bytes, no base64).

/** Base64 of raw bytes (Uint8Array / ArrayBuffer), in browsers and in Node. */
export function bytesToBase64(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (typeof Buffer !== "undefined") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  let binary = "";
  const chunk = 0x8000; // keep String.fromCharCode's argument list short
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/**
 * The `frame` field: strings (base64 or a data URL) pass through, bytes are base64-encoded.
 * @param {string|ArrayBuffer|ArrayBufferView} frame
 * @returns {string}
 */
export function encodeFrame(frame) {
  if (typeof frame === "string") return frame;
  if (frame instanceof ArrayBuffer) return bytesToBase64(new Uint8Array(frame));
  if (ArrayBuffer.isView(frame)) {
    return bytesToBase64(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  }
  throw new TypeError("frame must be a base64 string, a data URL, an ArrayBuffer or a Uint8Array");
}

/** "IFR1": the start of a binary frame message with a header. */
const FRAME_MAGIC = [0x49, 0x46, 0x52, 0x31];

/** The bytes of a Blob (a JPEG from canvas.toBlob, a file), as a Uint8Array. */
export async function blobBytes(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * A binary WebSocket frame message (docs/API.md, WS /ws/stream): the JPEG/PNG bytes as they are
 * when there is nothing to add (a frame now, no client timestamp), else "IFR1", the header's length
 * (2 bytes, big-endian), the UTF-8 JSON header ({timestamp, include_landmarks, audio, client}) and
 * the image. audio, client: the page's measures since the previous frame, as in a JSON frame.
 * @param {ArrayBuffer|ArrayBufferView} image
 * @param {{timestamp?: number, includeLandmarks?: boolean, audio?: object|null, client?: object|null}} [options]
 * @returns {Uint8Array}
 */
export function encodeBinaryFrame(image, options = {}) {
  let bytes;
  if (image instanceof Uint8Array) bytes = image;
  else if (image instanceof ArrayBuffer) bytes = new Uint8Array(image);
  else if (ArrayBuffer.isView(image)) bytes = new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  else throw new TypeError("a binary frame is the image's bytes (ArrayBuffer, Uint8Array): send base64 without `binary`");
  const header = {};
  if (options.timestamp != null) {
    if (!Number.isFinite(options.timestamp)) throw new RangeError(`timestamp must be a finite number, not ${options.timestamp}`);
    header.timestamp = options.timestamp;
  }
  if (options.includeLandmarks) header.include_landmarks = true;
  if (options.audio != null) header.audio = options.audio;
  if (options.client != null) header.client = options.client;
  if (Object.keys(header).length === 0) return bytes;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const message = new Uint8Array(6 + json.length + bytes.length);
  message.set(FRAME_MAGIC, 0);
  message[4] = json.length >> 8;
  message[5] = json.length & 0xff;
  message.set(json, 6);
  message.set(bytes, 6 + json.length);
  return message;
}

/** Width and height of a picture source (video, image, canvas, ImageBitmap, VideoFrame). */
export function sourceSize(source) {
  const width = source.videoWidth || source.naturalWidth || source.displayWidth || source.width || 0;
  const height = source.videoHeight || source.naturalHeight || source.displayHeight || source.height || 0;
  return { width, height };
}

function makeCanvas(width, height) {
  if (typeof document !== "undefined") {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    return canvas;
  }
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(width, height);
  throw new Error("captureFrame needs a browser (a canvas to draw on)");
}

/**
 * Grab the current picture of a <video>, <canvas>, <img>, ImageBitmap or OffscreenCanvas as a
 * base64 JPEG (no data-URL prefix), or with `binary` as the JPEG's bytes. Browser only.
 * @param {CanvasImageSource} source
 * @param {{quality?: number, maxWidth?: number, canvas?: HTMLCanvasElement|OffscreenCanvas, binary?: boolean}} [options]
 *   JPEG quality 0..1 (default 0.85); scale down to at most maxWidth (keeps the aspect ratio);
 *   a canvas to reuse between calls; the JPEG's bytes (a Uint8Array) instead of base64.
 * @returns {Promise<{frame: string|Uint8Array, width: number, height: number}>}
 */
export async function captureFrame(source, options = {}) {
  const quality = options.quality ?? 0.85;
  const { width, height } = sourceSize(source);
  if (!width || !height) {
    throw new Error("the source has no picture yet (wait for the video's 'loadeddata' event)");
  }
  const scale = options.maxWidth && width > options.maxWidth ? options.maxWidth / width : 1;
  const w = Math.round(width * scale);
  const h = Math.round(height * scale);

  let canvas = options.canvas;
  if (canvas) {
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
  } else {
    canvas = makeCanvas(w, h);
  }
  canvas.getContext("2d").drawImage(source, 0, 0, w, h);

  let frame;
  if (options.binary) {
    frame = await blobBytes(await jpegBlob(canvas, quality));
  } else if (typeof canvas.toDataURL === "function") {
    const dataUrl = canvas.toDataURL("image/jpeg", quality);
    frame = dataUrl.slice(dataUrl.indexOf(",") + 1);
  } else {
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality }); // OffscreenCanvas
    frame = bytesToBase64(new Uint8Array(await blob.arrayBuffer()));
  }
  return { frame, width: w, height: h };
}

function jpegBlob(canvas, quality) {
  if (typeof canvas.convertToBlob === "function") return canvas.convertToBlob({ type: "image/jpeg", quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the canvas could not be encoded as JPEG"))), "image/jpeg", quality)
  );
}
