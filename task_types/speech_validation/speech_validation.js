/*
 * Speech validation (Common Voice-style): listen to someone else's recording of a sentence and answer
 * matches / does not match / unclear, optionally with reasons. The answer buttons unlock once the
 * whole recording has been heard. The audio comes from a short-lived signed URL for this assignment
 * (speech_audio.js).
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const en = (document.documentElement.lang || "vi").startsWith("en"); // reason labels: label_en
  let root = null;
  let cfg = null;
  const $ = (sel) => root.querySelector(sel);
  // Interface strings come translated from the template (Django i18n), never hard-coded here.
  const msg = (key) => { const el = root && root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };

  function unlock(on) {
    root.querySelectorAll('input[name="verdict"]').forEach((el) => { el.disabled = !on; });
    $('[data-role="listen-first"]').hidden = on;
  }

  function showReasons() {
    const checked = root.querySelector('input[name="verdict"]:checked');
    $('[data-role="reasons-box"]').hidden = !checked || checked.value === "matches";
  }

  function togglePlay() { return window.SpeechAudio.togglePlay($('[data-role="audio"]')); }

  function bind() {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    const audio = $('[data-role="audio"]');
    $('[data-action="play"]').addEventListener("click", togglePlay);
    audio.addEventListener("timeupdate", () => {
      if (audio.duration && isFinite(audio.duration)) $('[data-role="position"]').value = audio.currentTime / audio.duration;
    });
    audio.addEventListener("ended", () => { unlock(true); $('[data-role="position"]').value = 1; });
    audio.addEventListener("play", () => { $('[data-action="play"]').textContent = msg("pause"); });
    audio.addEventListener("pause", () => { $('[data-action="play"]').textContent = msg("listen"); });
    audio.addEventListener("error", () => window.SpeechAudio.showError(root, msg("playFailed")));
    root.addEventListener("change", (e) => { if (e.target.name === "verdict") showReasons(); });
  }

  window.TaskTypes.speech_validation = {
    render(area, payload, config, view, assignment) {
      root = area.querySelector('[data-role="validator"]');
      cfg = config;
      bind();
      $('[data-bind="sentence"]').textContent = payload.sentence;
      root.querySelectorAll('input[name="verdict"]').forEach((el) => { el.checked = false; });
      const reasons = $('[data-role="reasons"]');
      reasons.replaceChildren();
      (cfg.reasons || []).forEach((r) => {
        const label = document.createElement("label");
        label.className = "choice";
        const input = document.createElement("input");
        input.type = "checkbox";
        input.name = "reasons";
        input.value = r.key;
        const span = document.createElement("span");
        span.textContent = en && r.label_en ? r.label_en : r.label;
        label.append(input, span);
        reasons.append(label);
      });
      $('[data-role="position"]').value = 0;
      unlock(false);
      showReasons();
      if (assignment) window.SpeechAudio.load(root, assignment, msg("loadFailed"));
    },
    collect() {
      const checked = root.querySelector('input[name="verdict"]:checked');
      const out = {};
      if (checked) out.verdict = checked.value;
      const reasons = Array.from(root.querySelectorAll('input[name="reasons"]:checked')).map((el) => el.value);
      if (checked && checked.value !== "matches" && reasons.length) out.reasons = reasons;
      return out;
    },
    restore(draft) {
      // A draft means the recording was heard before the reload.
      if (draft.verdict) {
        unlock(true);
        const el = root.querySelector(`input[name="verdict"][value="${CSS.escape(draft.verdict)}"]`);
        if (el) el.checked = true;
      }
      root.querySelectorAll('input[name="reasons"]').forEach((el) => { el.checked = (draft.reasons || []).includes(el.value); });
      showReasons();
    },
    beforeSubmit() {
      if (!root.querySelector('input[name="verdict"]:checked')) {
        const err = new Error(msg("chooseFirst"));
        err.field = "verdict";
        throw err;
      }
    },
    shortcut(key) {
      if (!root) return false;
      if (key === " " && document.activeElement && document.activeElement.tagName !== "BUTTON") return togglePlay();
      const n = Number(key);
      if (n >= 1 && n <= 3) {
        const el = root.querySelectorAll('input[name="verdict"]')[n - 1];
        if (!el || el.disabled) return false;
        el.checked = true;
        showReasons();
        return true;
      }
      return false;
    },
  };
})();
