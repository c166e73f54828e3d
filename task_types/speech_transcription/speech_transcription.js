/*
 * Speech transcription: listen and type what is said, with playback speed, loop and 2-second jumps;
 * the Vietnamese diacritics helper; a warning when the text has no diacritics. Text is sent NFC.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null;
  let cfg = null;
  const $ = (sel) => root.querySelector(sel);
  // Interface strings come translated from the template (Django i18n), never hard-coded here.
  const msg = (key) => { const el = root && root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const nfc = (s) => (s || "").normalize("NFC");

  function audio() { return $('[data-role="audio"]'); }

  function togglePlay() { return window.SpeechAudio.togglePlay(audio()); }

  function jump(seconds) {
    const a = audio();
    if (!a.src) return false;
    a.currentTime = Math.max(0, Math.min((a.duration || 0), a.currentTime + seconds));
    return true;
  }

  function needsWarning() {
    if ((cfg.language || "vi") !== "vi" || cfg.warn_no_diacritics === false) return false;
    if ($('input[name="no_speech"]').checked || $('input[name="confirmed_no_diacritics"]').checked) return false;
    return window.ViInput.lacksDiacritics($('textarea[name="text"]').value);
  }

  function bind() {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    const a = audio();
    $('[data-action="play"]').addEventListener("click", togglePlay);
    $('[data-action="back"]').addEventListener("click", () => jump(-2));
    $('[data-action="forward"]').addEventListener("click", () => jump(2));
    $('[data-role="speed"]').addEventListener("change", (e) => { a.playbackRate = Number(e.target.value); });
    $('input[name="loop"]').addEventListener("change", (e) => { a.loop = e.target.checked; });
    a.addEventListener("timeupdate", () => {
      if (a.duration && isFinite(a.duration)) {
        $('[data-role="position"]').value = a.currentTime / a.duration;
        $('[data-role="time"]').textContent = `${a.currentTime.toFixed(1)} / ${a.duration.toFixed(1)} s`;
      }
    });
    a.addEventListener("play", () => { $('[data-action="play"]').textContent = msg("pause"); });
    a.addEventListener("pause", () => { $('[data-action="play"]').textContent = msg("play"); });
    a.addEventListener("error", () => window.SpeechAudio.showError(root, msg("playFailed")));
    // Player keys while typing (Alt+K/J/L); Space and arrows belong to the text field there.
    $('textarea[name="text"]').addEventListener("keydown", (e) => {
      if (!e.altKey) return;
      const k = e.key.toLowerCase();
      if (k === "k") { e.preventDefault(); togglePlay(); } else if (k === "j") { e.preventDefault(); jump(-2); } else if (k === "l") { e.preventDefault(); jump(2); }
    });
    $('input[name="no_speech"]').addEventListener("change", (e) => { $('textarea[name="text"]').disabled = e.target.checked; });
    root.addEventListener("input", (e) => {
      const w = $('[data-role="diacritics-warning"]');
      if (!w.hidden && e.target.name === "text" && !window.ViInput.lacksDiacritics(e.target.value)) w.hidden = true;
    });
    window.ViInput.attach(root, { capitals: msg("capitals") });
  }

  async function loadAudio(assignment) {
    if (!(await window.SpeechAudio.load(root, assignment, msg("loadFailed")))) return;
    // Setting the source resets the rate: apply the listener's choices again.
    const a = audio();
    a.playbackRate = Number($('[data-role="speed"]').value);
    a.loop = $('input[name="loop"]').checked;
  }

  window.TaskTypes.speech_transcription = {
    render(area, payload, config, view, assignment) {
      root = area.querySelector('[data-role="transcriber"]');
      cfg = config;
      bind();
      const ctx = $('[data-bind="context"]');
      ctx.textContent = payload.context || "";
      ctx.hidden = !payload.context;
      $('textarea[name="text"]').value = "";
      $('textarea[name="text"]').disabled = false;
      $('input[name="no_speech"]').checked = false;
      $('input[name="no_speech"]').closest("label").hidden = cfg.allow_no_speech === false;
      $('input[name="confirmed_no_diacritics"]').checked = false;
      $('[data-role="diacritics-warning"]').hidden = true;
      $('[data-role="position"]').value = 0;
      if (assignment) loadAudio(assignment);
    },
    collect() {
      if ($('input[name="no_speech"]').checked) return { no_speech: true };
      const out = { text: nfc($('textarea[name="text"]').value) };
      if ($('input[name="confirmed_no_diacritics"]').checked) out.confirmed_no_diacritics = true;
      return out;
    },
    restore(draft) {
      $('textarea[name="text"]').value = draft.text || "";
      $('input[name="no_speech"]').checked = !!draft.no_speech;
      $('textarea[name="text"]').disabled = !!draft.no_speech;
      $('input[name="confirmed_no_diacritics"]').checked = !!draft.confirmed_no_diacritics;
    },
    beforeSubmit() {
      if (needsWarning()) {
        $('[data-role="diacritics-warning"]').hidden = false;
        const err = new Error(msg("noDiacritics"));
        err.field = "text";
        throw err;
      }
    },
    showError(field, message) {
      if (/diacritic|dấu/i.test(message)) $('[data-role="diacritics-warning"]').hidden = false;
      return false;
    },
    shortcut(key) {
      if (!root) return false;
      if (key === " " && document.activeElement && document.activeElement.tagName !== "BUTTON") return togglePlay();
      if (key === "k") return togglePlay();
      if (key === "ArrowLeft" || key === "j") return jump(-2);
      if (key === "ArrowRight" || key === "l") return jump(2);
      return false;
    },
  };
})();
