/*
 * Speech recording: read the prompt aloud. MediaRecorder records the microphone, a level meter shows
 * the input, the contributor plays the take back and may record again. Each take is uploaded as soon
 * as it stops, so the server's checks (duration for the sentence, silence, clipping, sample rate)
 * answer at once; submit then sends the stored key. No microphone, permission denied or a browser
 * without MediaRecorder: a clear message and the rest of the page (skip, report) keeps working.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};

  let root = null;
  let cfg = null;
  let view = {};
  let current = null; // the assignment
  let recorder = null;
  let stream = null;
  let chunks = [];
  let blob = null;
  let uploadedKey = null;
  let upload = null; // Promise of the running upload
  let uploadError = null;
  let meterCtx = null;
  let meterRaf = 0;
  let startedAt = 0;
  let tick = 0;
  let autoStop = 0;
  let deviceLabel = "";

  const $ = (sel) => root.querySelector(sel);
  // Interface strings come translated from the template (Django i18n), never hard-coded here.
  const msg = (key) => { const el = root && root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

  function status(text, isError) {
    const el = $('[data-role="status"]');
    el.textContent = text || "";
    el.classList.toggle("error", !!isError);
  }

  function fieldError(text) {
    const el = $('[data-error-for="audio"]');
    el.textContent = text || "";
    el.hidden = !text;
  }

  function micProblem(text) {
    $('[data-role="mic-problem"]').hidden = !text;
    $('[data-role="mic-problem-text"]').textContent = text || "";
  }

  function pickMime() {
    if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) return "";
    return ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t)) || "";
  }

  function extensionFor(type) {
    if (type.includes("ogg")) return "ogg";
    if (type.includes("mp4")) return "m4a";
    return "webm";
  }

  function support() {
    if (!window.isSecureContext) return msg("insecure");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) return msg("unsupported");
    return "";
  }

  function explain(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") return msg("denied");
    if (name === "NotFoundError" || name === "OverconstrainedError") return msg("nomic");
    if (name === "NotReadableError" || name === "AbortError") return msg("busy");
    return `${msg("failed")}: ${(err && err.message) || name || "?"}`;
  }

  function stopMeter() {
    cancelAnimationFrame(meterRaf);
    if (meterCtx) { meterCtx.close().catch(() => {}); meterCtx = null; }
    $('[data-role="meter"]').style.width = "0%";
  }

  function startMeter(s) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    meterCtx = new Ctx();
    if (meterCtx.state === "suspended") meterCtx.resume().catch(() => {});
    const analyser = meterCtx.createAnalyser();
    analyser.fftSize = 1024;
    meterCtx.createMediaStreamSource(s).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    const bar = $('[data-role="meter"]');
    const meter = root.querySelector('[role="meter"]');
    let shown = 0;
    const draw = () => {
      analyser.getFloatTimeDomainData(data);
      let peak = 0;
      for (let i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
      const db = 20 * Math.log10(Math.max(peak, 1e-4)); // -80..0 dBFS
      // Peak hold with a smooth fall, as on a mixing desk: short syllables stay readable.
      shown = Math.max(Math.max(0, Math.min(100, (db + 60) / 60 * 100)), shown * 0.94);
      const pct = shown < 0.5 ? 0 : shown;
      bar.style.width = `${pct}%`;
      bar.classList.toggle("hot", peak > 0.98);
      meter.setAttribute("aria-valuenow", String(Math.round(pct)));
      meterRaf = requestAnimationFrame(draw);
    };
    draw();
  }

  function releaseMic() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    stopMeter();
  }

  function setRecordingUi(on) {
    root.classList.toggle("is-recording", on);
    $('[data-role="record-label"]').textContent = on ? msg("stop") : (blob || uploadedKey ? msg("again") : msg("record"));
    $('[data-action="play"]').disabled = on || !blob;
  }

  async function startRecording() {
    const problem = support();
    if (problem) { micProblem(problem); return; }
    micProblem("");
    fieldError("");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: true } });
    } catch (err) {
      micProblem(explain(err));
      return;
    }
    const track = stream.getAudioTracks()[0];
    deviceLabel = (track && track.label) || "";
    const mime = pickMime();
    try {
      recorder = mime ? new MediaRecorder(stream, { mimeType: mime }) : new MediaRecorder(stream);
    } catch (err) {
      releaseMic();
      micProblem(`${msg("unsupported")} (${err.message})`);
      return;
    }
    chunks = [];
    blob = null;
    uploadedKey = null;
    upload = null;
    uploadError = null;
    recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) chunks.push(e.data); });
    recorder.addEventListener("stop", onStopped);
    recorder.start(250);
    startedAt = Date.now();
    startMeter(stream);
    status(msg("recording"));
    setRecordingUi(true);
    // Stop by itself a little after the longest plausible reading (the server refuses longer takes).
    const max = Math.min(Number(cfg.max_seconds || 30), Number(view.max_seconds || 1e9) + 0.5);
    tick = setInterval(() => { $('[data-role="time"]').textContent = `${((Date.now() - startedAt) / 1000).toFixed(1)} s`; }, 100);
    autoStop = setTimeout(stopRecording, max * 1000);
  }

  function stopRecording() {
    clearTimeout(autoStop);
    clearInterval(tick);
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }

  function onStopped() {
    const type = (recorder && recorder.mimeType) || "audio/webm";
    releaseMic();
    recorder = null;
    blob = new Blob(chunks, { type });
    const audio = $('[data-role="playback"]');
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.src = URL.createObjectURL(blob);
    setRecordingUi(false);
    upload = uploadTake(blob, type);
  }

  async function uploadTake(take, type) {
    if (!current) return;
    const assignmentId = current.id;
    status(msg("uploading"));
    const form = new FormData();
    form.append("audio", take, `recording.${extensionFor(type)}`);
    form.append("device", deviceLabel.slice(0, 200));
    const url = root.dataset.uploadUrl.replace("/0/", `/${assignmentId}/`);
    let res;
    try {
      res = await fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
    } catch (err) {
      uploadError = msg("network");
      status(msg("network"), true);
      return;
    }
    let data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    if (!current || current.id !== assignmentId) return;
    if (res.status === 201) {
      uploadedKey = data.key;
      uploadError = null;
      status(msg("ok").replace("{seconds}", Number(data.duration_s).toFixed(1)));
      root.closest("form").dispatchEvent(new Event("input", { bubbles: true })); // saves the draft with the key
      return;
    }
    const message = (data.error && data.error.message) || `HTTP ${res.status}`;
    uploadError = message;
    status("");
    fieldError(message);
  }

  function togglePlay() {
    const audio = $('[data-role="playback"]');
    if (!blob) return false;
    if (audio.paused) audio.play().catch(() => {}); else audio.pause();
    return true;
  }

  function bind() {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    $('[data-action="record"]').addEventListener("click", () => {
      if (recorder && recorder.state === "recording") stopRecording(); else startRecording();
    });
    $('[data-action="play"]').addEventListener("click", togglePlay);
    $('[data-action="retry-mic"]').addEventListener("click", startRecording);
  }

  window.TaskTypes.speech_recording = {
    render(area, payload, config, viewData, assignment) {
      root = area.querySelector('[data-role="recorder"]');
      cfg = config;
      view = viewData || {};
      current = assignment || null;
      stopRecording();
      releaseMic();
      blob = null;
      uploadedKey = null;
      upload = null;
      uploadError = null;
      bind();
      $('[data-bind="sentence"]').textContent = payload.sentence;
      $('[data-role="range"]').textContent = view.max_seconds
        ? msg("range").replace("{low}", String(view.min_seconds)).replace("{high}", String(view.max_seconds)) : "";
      $('[data-role="time"]').textContent = "0.0 s";
      status("");
      fieldError("");
      const problem = support();
      micProblem(problem);
      $('[data-action="record"]').disabled = !!problem;
      setRecordingUi(false);
    },
    async beforeSubmit() {
      if (recorder && recorder.state === "recording") { stopRecording(); await new Promise((r) => setTimeout(r, 300)); }
      if (upload) await upload;
      if (uploadedKey) return;
      const err = new Error(uploadError || (blob ? msg("notUploaded") : msg("first")));
      err.field = "audio";
      throw err;
    },
    collect() {
      return uploadedKey ? { audio: uploadedKey } : {};
    },
    restore(draft) {
      if (draft && draft.audio) {
        uploadedKey = draft.audio;
        status(msg("restored"));
        setRecordingUi(false);
      }
    },
    /* Review (static/console/review_view.js): the recording's length as the server decoded it (a MediaRecorder
     * WebM reads Infinity in the browser); the review page plays it with its waveform under this view. */
    readOnly(area, answer, ctx) {
      status("");
      const votes = (ctx && ctx.extra && ctx.extra.votes) || {};
      const box = area.querySelector('[data-role="votes"]');
      if (box) {
        const parts = ["matches", "does_not_match", "unclear"].filter((v) => votes[v]).map((v) => `${msg(`vote-${v}`)}: ${votes[v]}`);
        box.querySelector('[data-bind="votes"]').textContent = parts.length ? parts.join(" · ") : msg("no-votes");
        box.hidden = false;
      }
      const meter = area.querySelector(".meter");
      if (meter) meter.hidden = true;
      if (answer && typeof answer.duration_s === "number") $('[data-role="time"]').textContent = `${answer.duration_s.toFixed(1)} s`;
    },
    showError(field, message) {
      if (field === "audio") { fieldError(message); return true; }
      return false;
    },
    shortcut(key) {
      if (!root) return false;
      if (key === "r" || key === "R") { $('[data-action="record"]').click(); return true; }
      if (key === " " && document.activeElement && document.activeElement.tagName !== "BUTTON") return togglePlay();
      return false;
    },
  };
})();
