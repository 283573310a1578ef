// What the candidate's page knows besides the camera, sent with each frame as features only:
// `audio` (the microphone's level and how likely speech was, never the sound itself) and `client`
// (visibility, focus, fullscreen, screens, paste). Each `take()` covers the interval since the
// previous one. A value the page cannot measure is null (audio: the whole object is left out),
// never a guessed "fine" value.

/** The band where speech carries most of its energy (telephone band), in Hz. */
export const SPEECH_BAND = Object.freeze([300, 3400]);
/** The floor of the levels reported: digital silence. */
export const SILENCE_DBFS = -120;

const clamp01 = (x) => (x < 0 ? 0 : x > 1 ? 1 : x);

/**
 * The RMS level of time-domain samples (floats in [-1, 1], AnalyserNode.getFloatTimeDomainData),
 * in dBFS, clamped to [-120, 0]; null for no samples.
 * @param {ArrayLike<number>} samples
 * @returns {number|null}
 */
export function rmsDbfs(samples) {
  if (!samples || samples.length === 0) return null;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return powerToDbfs(sum / samples.length);
}

/** dBFS of a mean square amplitude, clamped to [-120, 0]. */
export function powerToDbfs(meanSquare) {
  if (!(meanSquare > 0)) return SILENCE_DBFS;
  return Math.max(SILENCE_DBFS, Math.min(0, 10 * Math.log10(meanSquare)));
}

/**
 * How likely one analyser reading is speech, 0..1: the share of the spectrum's energy in the
 * speech band (voice is mostly there; hum, rumble and hiss are not), times a level gate (a quiet
 * room's noise is not speech even when it falls in the band). A simple detector: it cannot tell a
 * voice from other sounds in the band (music, a tone), only that something speech-like is audible.
 * @param {ArrayLike<number>} frequencyBins the spectrum in dB per bin (getFloatFrequencyData)
 * @param {number} sampleRate Hz
 * @param {number} fftSize the analyser's FFT size (bin i is at i * sampleRate / fftSize Hz)
 * @param {number|null} level the reading's RMS level in dBFS (rmsDbfs)
 * @param {{band?: readonly number[], gateDbfs?: number, fullDbfs?: number, minBandShare?: number, maxBandShare?: number}} [options]
 *   gateDbfs: at or below this level, no speech (default -70); fullDbfs: from this level the gate is
 *   fully open (default -50; whispers sit between); the band's share of the energy mapped linearly
 *   from minBandShare (0, default 0.5) to maxBandShare (1, default 0.9)
 * @returns {number|null} null when the level is unknown
 */
export function speechProbability(frequencyBins, sampleRate, fftSize, level, options = {}) {
  if (level == null || !Number.isFinite(level) || !frequencyBins || !(sampleRate > 0) || !(fftSize > 0)) return null;
  const [low, high] = options.band ?? SPEECH_BAND;
  const gate = options.gateDbfs ?? -70;
  const full = options.fullDbfs ?? -50;
  const minShare = options.minBandShare ?? 0.5;
  const maxShare = options.maxBandShare ?? 0.9;
  const binHz = sampleRate / fftSize;
  let band = 0;
  let total = 0;
  // Bin 0 is the DC offset: a microphone's bias, not sound.
  for (let i = 1; i < frequencyBins.length; i++) {
    const db = frequencyBins[i];
    if (!Number.isFinite(db)) continue; // -Infinity: nothing in this bin
    const power = 10 ** (db / 10);
    total += power;
    const hz = i * binHz;
    if (hz >= low && hz <= high) band += power;
  }
  if (total <= 0) return 0;
  const bandScore = clamp01((band / total - minShare) / (maxShare - minShare));
  const levelScore = clamp01((level - gate) / (full - gate));
  return bandScore * levelScore;
}

/**
 * One step of the smoothing of per-reading probabilities: quick to rise (a syllable starts
 * speech), slower to fall (the short gaps between words are still speech).
 */
export function smoothSpeech(previous, current, attack = 0.6, release = 0.2) {
  if (current == null) return previous;
  if (previous == null) return current;
  return previous + (current > previous ? attack : release) * (current - previous);
}

const round = (x, digits) => (x == null ? null : Number(x.toFixed(digits)));

/**
 * The microphone's level and speech likelihood, from a MediaStream through Web Audio's
 * AnalyserNode (nothing is played back, nothing recorded or sent but the two numbers).
 *
 *   const meter = await AudioMeter.fromMicrophone();
 *   meter.level();   // dBFS now, for a level meter
 *   meter.take();    // {rms_dbfs, speech_prob} since the previous take: send it with a frame
 *   meter.stop();
 */
export class AudioMeter {
  /**
   * @param {MediaStream} stream with an audio track
   * @param {{intervalMs?: number, fftSize?: number, AudioContext?: typeof AudioContext, stopTracks?: boolean,
   *          band?: readonly number[], gateDbfs?: number, fullDbfs?: number}} [options]
   *   intervalMs: how often the analyser is read between takes (default 50); stopTracks: stop the
   *   stream's tracks on stop() (fromMicrophone's own stream: true)
   */
  constructor(stream, options = {}) {
    const Context = options.AudioContext || globalThis.AudioContext || globalThis.webkitAudioContext;
    if (typeof Context !== "function") throw new Error("AudioMeter needs the Web Audio API (a browser)");
    this.stream = stream;
    this.options = options;
    this.context = new Context();
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = options.fftSize ?? 2048;
    this.analyser.smoothingTimeConstant = 0; // the meter smooths itself, over known intervals
    this.source = this.context.createMediaStreamSource(stream);
    this.source.connect(this.analyser); // not to the destination: never played back
    this._time = new Float32Array(this.analyser.fftSize);
    this._spectrum = new Float32Array(this.analyser.frequencyBinCount);
    this._smoothed = null;
    this._reset();
    this.stopped = false;
    this._timer = setInterval(() => this._sample(), options.intervalMs ?? 50);
    // Browsers may create the context suspended until the page is used; its readings are then
    // silence that was not measured, so they count as unknown (see `running`).
    if (this.context.state === "suspended" && typeof this.context.resume === "function") {
      this.context.resume().catch(() => {});
    }
  }

  /**
   * Ask for the microphone (getUserMedia) and measure it; stop() releases it.
   * @param {ConstructorParameters<typeof AudioMeter>[1] & {constraints?: MediaTrackConstraints}} [options]
   */
  static async fromMicrophone(options = {}) {
    const media = globalThis.navigator && globalThis.navigator.mediaDevices;
    if (!media || typeof media.getUserMedia !== "function") throw new Error("no microphone access in this page (getUserMedia)");
    // No automatic gain: it would lift a whisper to a speaking level, and the level is the point.
    const audio = { echoCancellation: true, autoGainControl: false, ...(options.constraints || {}) };
    const stream = await media.getUserMedia({ audio, video: false });
    try {
      return new AudioMeter(stream, { stopTracks: true, ...options });
    } catch (err) {
      for (const track of stream.getTracks()) track.stop();
      throw err;
    }
  }

  /** Whether readings are real: the audio context runs and the stream has a live audio track. */
  get running() {
    if (this.stopped || this.context.state !== "running") return false;
    const tracks = typeof this.stream.getAudioTracks === "function" ? this.stream.getAudioTracks() : [];
    return tracks.some((track) => track.readyState === "live" && track.enabled !== false && !track.muted);
  }

  /** The level now in dBFS (one analyser reading); null while it cannot be measured. */
  level() {
    if (!this.running) return null;
    this.analyser.getFloatTimeDomainData(this._time);
    return round(rmsDbfs(this._time), 1);
  }

  /**
   * The features of the interval since the previous take (or since the meter started):
   * {rms_dbfs: the RMS level over the interval, speech_prob: the mean smoothed speech likelihood};
   * null when nothing could be measured in it (the frame then goes without `audio`: unknown, which
   * the service tells from silence). Resets the interval.
   * @returns {{rms_dbfs: number, speech_prob: number}|null}
   */
  take() {
    this._sample(); // at least one reading, even where timers were throttled (a hidden tab)
    const features =
      this._readings > 0 && this._speechReadings > 0
        ? {
            rms_dbfs: round(powerToDbfs(this._power / this._readings), 1),
            speech_prob: round(this._speech / this._speechReadings, 2),
          }
        : null;
    this._reset();
    return features;
  }

  /** Stop measuring; releases the microphone when the meter asked for it. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this._timer);
    try {
      this.source.disconnect();
    } catch (_) {
      /* already disconnected */
    }
    if (typeof this.context.close === "function") this.context.close().catch(() => {});
    if (this.options.stopTracks) for (const track of this.stream.getTracks()) track.stop();
  }

  _reset() {
    this._power = 0;
    this._readings = 0;
    this._speech = 0;
    this._speechReadings = 0;
  }

  _sample() {
    if (!this.running) return;
    this.analyser.getFloatTimeDomainData(this._time);
    let sum = 0;
    for (let i = 0; i < this._time.length; i++) sum += this._time[i] * this._time[i];
    const power = sum / this._time.length;
    this._power += power;
    this._readings += 1;
    this.analyser.getFloatFrequencyData(this._spectrum);
    const p = speechProbability(this._spectrum, this.context.sampleRate, this.analyser.fftSize, powerToDbfs(power), this.options);
    this._smoothed = smoothSpeech(this._smoothed, p);
    if (this._smoothed != null) {
      this._speech += this._smoothed;
      this._speechReadings += 1;
    }
  }
}

/**
 * The page's own signals, for the `client` object of each frame: listens to visibilitychange,
 * window focus/blur, paste and fullscreenchange until stop().
 *
 *   const signals = new PageSignals();
 *   signals.take();  // {visible, focused, fullscreen, screens, hidden_ms, blur_count, paste_count}
 */
export class PageSignals {
  /**
   * @param {{window?: Window, document?: Document, now?: () => number}} [options] the page (default
   *   the global one) and a millisecond clock (default performance.now)
   */
  constructor(options = {}) {
    this.window = options.window ?? globalThis.window;
    this.document = options.document ?? globalThis.document;
    if (!this.window || !this.document) throw new Error("PageSignals needs a page (window and document)");
    this._now = options.now ?? (() => globalThis.performance.now());
    this._canSeeVisibility = typeof this.document.visibilityState === "string";
    this._canSeeFocus = typeof this.document.hasFocus === "function";
    this._hiddenSince = this._isHidden() ? this._now() : null;
    this.stopped = false;
    this._listeners = [
      [this.document, "visibilitychange", () => this._onVisibility()],
      [this.window, "blur", (event) => this._onBlur(event)],
      [this.document, "paste", () => (this._pasteCount += 1)],
      [this.document, "fullscreenchange", () => (this.fullscreen = this._fullscreen())],
    ];
    // Capture phase: a page script that stops an event's propagation does not hide it from here.
    for (const [target, type, listener] of this._listeners) target.addEventListener(type, listener, { capture: true });
    /** Whether the page is in fullscreen now (null: no Fullscreen API), kept by fullscreenchange. */
    this.fullscreen = this._fullscreen();
    this._reset();
  }

  /**
   * The `client` object of the interval since the previous take; resets the counters.
   * visible/focused: false if the page was hidden / the window unfocused at any time during it;
   * fullscreen: now; screens: 2 or 1 from window.screen.isExtended; null where not measurable.
   */
  take() {
    const now = this._now();
    const hidden = this._isHidden();
    if (this._hiddenSince != null) {
      this._hiddenMs += now - this._hiddenSince;
      this._hiddenSince = hidden ? now : null; // still hidden: the rest counts in the next interval
    }
    const signals = {
      visible: this._canSeeVisibility ? !this._wasHidden : null,
      focused: this._canSeeFocus ? !this._wasBlurred : null,
      fullscreen: this._fullscreen(),
      screens: this._screens(),
      hidden_ms: this._canSeeVisibility ? Math.round(this._hiddenMs) : null,
      blur_count: this._blurCount,
      paste_count: this._pasteCount,
    };
    this._reset();
    return signals;
  }

  /** Remove the listeners. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    for (const [target, type, listener] of this._listeners) target.removeEventListener(type, listener, { capture: true });
  }

  _reset() {
    this._wasHidden = this._isHidden();
    this._wasBlurred = this._canSeeFocus ? !this.document.hasFocus() : false;
    this._hiddenMs = 0;
    this._blurCount = 0;
    this._pasteCount = 0;
  }

  _isHidden() {
    return this._canSeeVisibility && this.document.visibilityState === "hidden";
  }

  _onVisibility() {
    if (this._isHidden()) {
      this._wasHidden = true;
      if (this._hiddenSince == null) this._hiddenSince = this._now();
    } else if (this._hiddenSince != null) {
      this._hiddenMs += this._now() - this._hiddenSince;
      this._hiddenSince = null;
    }
  }

  _onBlur(event) {
    // The capture phase also hears the page's elements losing focus: only the window's own counts.
    if (event && event.target !== this.window) return;
    this._wasBlurred = true;
    this._blurCount += 1;
  }

  _fullscreen() {
    const doc = this.document;
    if ("fullscreenElement" in doc) return doc.fullscreenElement != null;
    if ("webkitFullscreenElement" in doc) return doc.webkitFullscreenElement != null;
    return null;
  }

  _screens() {
    const screen = this.window.screen;
    if (!screen || typeof screen.isExtended !== "boolean") return null; // the Window Management API is missing
    return screen.isExtended ? 2 : 1;
  }
}

/**
 * What a streamer's `audioMeter` / `pageSignals` option gives for one frame: an object's take(),
 * a function's result; null when there is nothing to send.
 * @param {{take: () => object|null}|(() => object|null)|null|undefined} from
 */
export function takeSignals(from) {
  if (from == null) return null;
  const taken = typeof from === "function" ? from() : from.take();
  return taken == null ? null : taken;
}
