/*
 * Audio player parts shared by the speech types that play an assignment's recording (transcription,
 * validation): play/pause, the error box, and loading the short-lived signed URL into the <audio>.
 * The type's element carries data-media-url, [data-role="audio"] and [data-role="audio-error"].
 * Listed first in the scripts of the types that use it (TaskType.scripts; no inline code).
 */
(function () {
  "use strict";

  function showError(root, text) {
    const box = root.querySelector('[data-role="audio-error"]');
    box.textContent = text;
    box.hidden = false;
  }

  function togglePlay(audio) {
    if (!audio.src) return false;
    if (audio.paused) audio.play().catch(() => {}); else audio.pause();
    return true;
  }

  /* A MediaRecorder WebM carries no duration: <audio>.duration is Infinity until played through. Seek far
   * past the end once so the browser computes it, then go back (the page then shows the real length). */
  function fixDuration(audio) {
    const fix = () => {
      if (audio.duration !== Infinity) return;
      const back = () => { audio.removeEventListener("durationchange", back); if (audio.duration !== Infinity) audio.currentTime = 0; };
      audio.addEventListener("durationchange", back);
      audio.currentTime = 1e101;
    };
    if (audio.readyState >= 1) fix(); else audio.addEventListener("loadedmetadata", fix, { once: true });
  }

  /* Fetch this assignment's signed audio URL into the player; true once set, else the error box shows failedText. */
  async function load(root, assignment, failedText) {
    const audio = root.querySelector('[data-role="audio"]');
    audio.removeAttribute("src");
    root.querySelector('[data-role="audio-error"]').hidden = true;
    try {
      const res = await fetch(root.dataset.mediaUrl.replace("/0/", `/${assignment.id}/`), { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      audio.src = (await res.json()).media.audio;
      fixDuration(audio);
      return true;
    } catch (err) {
      showError(root, failedText);
      return false;
    }
  }

  window.SpeechAudio = { showError, togglePlay, load, fixDuration };
})();
