/*
 * Vietnamese typing helper shared by the media types' text fields (OCR, transcription): on-screen
 * tone marks (placed on the right vowel of the syllable before the cursor) and the letters
 * ă â đ ê ô ơ ư, for keyboards without Telex/VNI; and the "no diacritics at all" check.
 * Fields opt in with the data-vi-input attribute. Listed first in the scripts of the types that use it (TaskType.scripts; no inline code).
 */
(function () {
  "use strict";
  const TONES = [["\u0301", "á", "sắc"], ["\u0300", "à", "huyền"], ["\u0309", "ả", "hỏi"], ["\u0303", "ã", "ngã"], ["\u0323", "ạ", "nặng"]];
  const LETTERS = ["ă", "â", "đ", "ê", "ô", "ơ", "ư"];
  const TONE_RE = /[\u0300\u0301\u0303\u0309\u0323]/g;
  const VOWELS = "aăâeêioôơuưy";
  const HAT_VOWELS = "ăâêôơư";

  function hasDiacritics(text) {
    const t = (text || "").normalize("NFC");
    return /[\u0300\u0301\u0303\u0309\u0323\u0306\u0302\u031b]/.test(t.normalize("NFD")) || /[đĐ]/.test(t);
  }

  /* Whether a Vietnamese text of at least three words carries no diacritic at all. */
  function lacksDiacritics(text) {
    const words = (text || "").split(/\s+/).filter((w) => /\p{L}/u.test(w));
    return words.length >= 3 && !hasDiacritics(text);
  }

  function toneIndex(word) {
    const lower = word.toLowerCase();
    const idx = [];
    for (let i = 0; i < lower.length; i++) if (VOWELS.includes(lower[i])) idx.push(i);
    if (!idx.length) return -1;
    // "qu" and "gi" + vowel: the u / i belongs to the consonant.
    if (idx.length > 1 && idx[0] === 1 && ((lower[0] === "q" && lower[1] === "u") || (lower[0] === "g" && lower[1] === "i"))) idx.shift();
    const cluster = [idx[0]];
    for (let k = 1; k < idx.length && idx[k] === cluster[cluster.length - 1] + 1; k++) cluster.push(idx[k]);
    const hats = cluster.filter((i) => HAT_VOWELS.includes(lower[i]));
    if (hats.length) return hats[hats.length - 1];
    if (cluster.length === 1) return cluster[0];
    const last = cluster[cluster.length - 1];
    if (last < lower.length - 1) return last; // a final consonant follows: the last vowel
    return cluster.length === 2 ? cluster[0] : cluster[1];
  }

  function applyTone(el, mark) {
    const pos = el.selectionStart;
    const value = el.value;
    let start = pos;
    while (start > 0 && /[\p{L}\p{M}]/u.test(value[start - 1])) start--;
    if (start === pos) return;
    const bare = value.slice(start, pos).normalize("NFD").replace(TONE_RE, "").normalize("NFC");
    const chars = Array.from(bare);
    const at = toneIndex(bare);
    if (at < 0) return;
    chars[at] = (chars[at].normalize("NFD") + mark).normalize("NFC");
    el.setRangeText(chars.join(""), start, pos, "end");
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function attach(container, options) {
    const opts = options || {};
    let last = null;
    let upper = false;
    container.addEventListener("focusin", (e) => { if (e.target.matches("[data-vi-input]")) last = e.target; });
    const tones = container.querySelector('[data-role="tones"]');
    const letters = container.querySelector('[data-role="letters"]');
    if (!tones || !letters || tones.dataset.built) return;
    tones.dataset.built = "1";
    const key = (text, title, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary vi-key";
      b.textContent = text;
      b.title = title;
      b.setAttribute("aria-label", title);
      // pointerdown + preventDefault keeps the focus (and the phone keyboard) in the text field.
      b.addEventListener("pointerdown", (e) => e.preventDefault());
      b.addEventListener("click", () => {
        const el = last && container.contains(last) ? last : container.querySelector("[data-vi-input]");
        if (!el) return;
        el.focus();
        action(el);
      });
      return b;
    };
    TONES.forEach(([mark, sample, name]) => tones.append(key(sample, name, (el) => applyTone(el, mark))));
    const letterKeys = LETTERS.map((l) => key(l, l, (el) => {
      el.setRangeText(upper ? l.toUpperCase() : l, el.selectionStart, el.selectionEnd, "end");
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }));
    letters.append(...letterKeys);
    const shift = key("⇧", opts.capitals || "Aa", () => {
      upper = !upper;
      shift.setAttribute("aria-pressed", String(upper));
      letterKeys.forEach((b, i) => { b.textContent = upper ? LETTERS[i].toUpperCase() : LETTERS[i]; });
    });
    shift.setAttribute("aria-pressed", "false");
    letters.append(shift);
    if (opts.onChange) container.addEventListener("input", opts.onChange);
  }

  window.ViInput = { attach, hasDiacritics, lacksDiacritics, applyTone, toneIndex };
})();
