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
  const en = (document.documentElement.lang || "vi").startsWith("en");
  const T = en ? {
    record: "Record", stop: "Stop", again: "Record again",
    recording: "Recording… read the sentence, then press Stop.",
    uploading: "Checking your recording…",
    ok: (s) => `Recording accepted (${s} s). Listen to it, then submit — or record again.`,
    unsupported: "This browser cannot record audio. Please use a recent Chrome, Firefox, Edge or Safari.",
    insecure: "Recording needs a secure (https) connection.",
    denied: "Microphone access was refused. Allow the microphone for this site in your browser's settings (the lock icon next to the address), then try again.",
    nomic: "No microphone was found. Plug one in (or use a phone), then try again.",
    busy: "The microphone is being used by another application. Close it, then try again.",
    failed: "The microphone could not be started",
    first: "Record the sentence first.",
    notUploaded: "Your recording has not been accepted yet: record again.",
    network: "Connection problem while uploading; press Submit again to retry.",
    restored: "Your earlier recording was kept; submit it or record again.",
  } : {
    record: "Ghi âm", stop: "Dừng", again: "Ghi lại",
    recording: "Đang ghi âm… hãy đọc câu, rồi bấm Dừng.",
    uploading: "Đang kiểm tra bản ghi…",
    ok: (s) => `Bản ghi hợp lệ (${s} giây). Nghe lại rồi gửi — hoặc ghi lại.`,
    unsupported: "Trình duyệt này không ghi âm được. Hãy dùng Chrome, Firefox, Edge hoặc Safari bản mới.",
    insecure: "Ghi âm cần kết nối bảo mật (https).",
    denied: "Bạn đã từ chối quyền dùng micro. Hãy cho phép micro cho trang này trong cài đặt trình duyệt (biểu tượng ổ khóa cạnh địa chỉ) rồi thử lại.",
    nomic: "Không tìm thấy micro. Hãy cắm micro (hoặc dùng điện thoại) rồi thử lại.",
    busy: "Micro đang được ứng dụng khác sử dụng. Hãy đóng ứng dụng đó rồi thử lại.",
    failed: "Không khởi động được micro",
    first: "Hãy ghi âm câu trước khi gửi.",
    notUploaded: "Bản ghi chưa được chấp nhận: hãy ghi lại.",
    network: "Lỗi kết nối khi tải bản ghi lên; bấm Gửi lại để thử lại.",
    restored: "Bản ghi trước của bạn vẫn còn; hãy gửi hoặc ghi lại.",
  };

  let root = null;
  let cfg = null;
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
    if (!window.isSecureContext) return T.insecure;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) return T.unsupported;
    return "";
  }

  function explain(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") return T.denied;
    if (name === "NotFoundError" || name === "OverconstrainedError") return T.nomic;
    if (name === "NotReadableError" || name === "AbortError") return T.busy;
    return `${T.failed}: ${(err && err.message) || name || "?"}`;
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
    const analyser = meterCtx.createAnalyser();
    analyser.fftSize = 1024;
    meterCtx.createMediaStreamSource(s).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    const bar = $('[data-role="meter"]');
    const meter = root.querySelector('[role="meter"]');
    const draw = () => {
      analyser.getFloatTimeDomainData(data);
      let peak = 0;
      for (let i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
      const db = 20 * Math.log10(Math.max(peak, 1e-4)); // -80..0 dBFS
      const pct = Math.max(0, Math.min(100, (db + 60) / 60 * 100));
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
    $('[data-role="record-label"]').textContent = on ? T.stop : (blob || uploadedKey ? T.again : T.record);
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
      micProblem(`${T.unsupported} (${err.message})`);
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
    status(T.recording);
    setRecordingUi(true);
    const max = Number(cfg.max_seconds || 30);
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
    status(T.uploading);
    const form = new FormData();
    form.append("audio", take, `recording.${extensionFor(type)}`);
    form.append("device", deviceLabel.slice(0, 200));
    const url = root.dataset.uploadUrl.replace("/0/", `/${assignmentId}/`);
    let res;
    try {
      res = await fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
    } catch (err) {
      uploadError = T.network;
      status(T.network, true);
      return;
    }
    let data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    if (!current || current.id !== assignmentId) return;
    if (res.status === 201) {
      uploadedKey = data.key;
      uploadError = null;
      status(T.ok(Number(data.duration_s).toFixed(1)));
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
    render(area, payload, config, view, assignment) {
      root = area.querySelector('[data-role="recorder"]');
      cfg = config;
      current = assignment || null;
      stopRecording();
      releaseMic();
      blob = null;
      uploadedKey = null;
      upload = null;
      uploadError = null;
      bind();
      $('[data-bind="sentence"]').textContent = payload.sentence;
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
      const err = new Error(uploadError || (blob ? T.notUploaded : T.first));
      err.field = "audio";
      throw err;
    },
    collect() {
      return uploadedKey ? { audio: uploadedKey } : {};
    },
    restore(draft) {
      if (draft && draft.audio) {
        uploadedKey = draft.audio;
        status(T.restored);
        setRecordingUi(false);
      }
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
