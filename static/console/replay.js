/*
 * Replays an answer's writing process on the review page at 1x-10x: the edit log the labelling page recorded
 * (format in annotations/telemetry.py), applied operation by operation with its own timing, so a reviewer can
 * watch what was typed, pasted and revised. Long pauses are shortened to 3 s of screen time.
 */
(function () {
  "use strict";
  const MAX_PAUSE_MS = 3000;
  function steps(ops) {
    // One step per key of a typed run (its gaps), one per other operation: [at_ms, pos, deleted, inserted].
    const out = [];
    ops.forEach((op) => {
      const [t, pos, del, ins, kind, gaps] = op;
      if (kind === "t" && gaps && ins.length > 1) {
        let at = t;
        for (let i = 0; i < ins.length; i++) {
          if (i > 0) at += gaps[i - 1];
          out.push([at, pos + i, i === 0 ? del : 0, ins[i], kind]);
        }
      } else {
        out.push([t, pos, del, ins, kind]);
      }
    });
    return out;
  }
  document.querySelectorAll("[data-replay]").forEach((box) => {
    const data = JSON.parse(document.getElementById(box.dataset.replay).textContent || "{}");
    const screen = box.querySelector("[data-role=replay-text]");
    const speed = box.querySelector("[data-role=replay-speed]");
    const clock = box.querySelector("[data-role=replay-clock]");
    let timer = null;
    box.querySelector("[data-role=replay-play]").addEventListener("click", () => {
      if (timer) clearTimeout(timer);
      const all = steps((data.fields || {})[box.dataset.field] || []);
      let text = "";
      let i = 0;
      screen.textContent = "";
      const next = () => {
        if (i >= all.length) { box.dataset.state = "done"; return; }
        const [t, pos, del, ins, kind] = all[i];
        text = text.slice(0, pos) + ins + text.slice(pos + del);
        screen.textContent = text;
        screen.dataset.lastKind = kind;
        clock.textContent = `${Math.floor(t / 60000)}:${String(Math.floor(t / 1000) % 60).padStart(2, "0")}`;
        i += 1;
        const wait = i < all.length ? Math.min(all[i][0] - t, MAX_PAUSE_MS) / Number(speed.value || 1) : 0;
        timer = setTimeout(next, Math.max(0, wait));
      };
      box.dataset.state = "playing";
      next();
    });
  });
})();
