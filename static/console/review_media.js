/*
 * Recordings on the review page: a waveform and the real duration under each <audio> of a media preview.
 * Chromium's MediaRecorder writes WebM without a duration, so <audio>.duration reads Infinity until the
 * file has been played through. The duration shown is the one the server decoded at upload (data-duration)
 * or the decoded buffer's; the player itself is fixed with the seek trick (jump far past the end once, the
 * browser then knows the length, jump back).
 */
(function () {
  "use strict";
  function fixInfinity(audio) {
    const fix = () => {
      if (audio.duration !== Infinity) return;
      const back = () => { audio.removeEventListener("durationchange", back); if (audio.duration !== Infinity) audio.currentTime = 0; };
      audio.addEventListener("durationchange", back);
      audio.currentTime = 1e101;
    };
    if (audio.readyState >= 1) fix(); else audio.addEventListener("loadedmetadata", fix, { once: true });
  }

  function drawPeaks(canvas, buffer) {
    const ctx = canvas.getContext("2d");
    const width = canvas.width = Math.max(100, Math.round(canvas.clientWidth * (window.devicePixelRatio || 1)));
    const height = canvas.height = Math.round(canvas.clientHeight * (window.devicePixelRatio || 1));
    const data = buffer.getChannelData(0);
    const step = Math.max(1, Math.floor(data.length / width));
    ctx.fillStyle = "#0b6bcb";
    for (let x = 0; x < width; x++) {
      let lo = 1, hi = -1;
      for (let i = x * step, end = Math.min(data.length, (x + 1) * step); i < end; i++) {
        const v = data[i]; if (v < lo) lo = v; if (v > hi) hi = v;
      }
      if (hi < lo) continue;
      const y1 = (1 - hi) * height / 2, y2 = (1 - lo) * height / 2;
      ctx.fillRect(x, y1, 1, Math.max(1, y2 - y1));
    }
  }

  async function enhance(figure) {
    const audio = figure.querySelector("audio");
    if (!audio || !audio.src) return;
    fixInfinity(audio);
    const canvas = document.createElement("canvas");
    canvas.className = "media-waveform";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", figure.dataset.media || "waveform");
    audio.after(canvas);
    const label = figure.querySelector('[data-role="duration"]');
    try {
      const res = await fetch(audio.src, { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const Ctx = window.AudioContext || window.webkitAudioContext;
      const ctx = new Ctx();
      const buffer = await ctx.decodeAudioData(await res.arrayBuffer());
      ctx.close();
      drawPeaks(canvas, buffer);
      if (label && !figure.dataset.duration) label.textContent = `${buffer.duration.toFixed(1)} s`;
    } catch (err) {
      canvas.remove();  // undecodable here: the player and the server's duration remain
    }
  }

  document.querySelectorAll("figure.media-preview").forEach(enhance);
  window.ReviewMedia = { fixInfinity };
})();
