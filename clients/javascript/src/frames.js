// Frames: the `frame` field of a request (base64 JPEG/PNG), from bytes, strings or a picture.

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
 * base64 JPEG (no data-URL prefix). Browser only.
 * @param {CanvasImageSource} source
 * @param {{quality?: number, maxWidth?: number, canvas?: HTMLCanvasElement|OffscreenCanvas}} [options]
 *   JPEG quality 0..1 (default 0.85); scale down to at most maxWidth (keeps the aspect ratio);
 *   a canvas to reuse between calls.
 * @returns {Promise<{frame: string, width: number, height: number}>}
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
  if (typeof canvas.toDataURL === "function") {
    const dataUrl = canvas.toDataURL("image/jpeg", quality);
    frame = dataUrl.slice(dataUrl.indexOf(",") + 1);
  } else {
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality }); // OffscreenCanvas
    frame = bytesToBase64(new Uint8Array(await blob.arrayBuffer()));
  }
  return { frame, width: w, height: h };
}
