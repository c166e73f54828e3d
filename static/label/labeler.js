/*
 * The labelling page core, shared by every task type.
 *
 * A task type script registers window.TaskTypes[key] = {render, collect, restore, shortcut?, showError?,
 * validate?, beforeSubmit?}: render(area, payload, config, view) fills the page; collect() returns the
 * answer (or a Promise of it); restore(draft) refills it; validate(answer) may return {field, message?}
 * to stop a submission the server would refuse (the server stays the authority); shortcut(key, event)
 * handles a key and returns true; beforeSubmit(assignment) may upload media first.
 * Field errors: an element [data-error-for="<field>"] shows the message; "claims[2].quote" falls back to
 * "claims[2]" then "claims".
 * This core leases items over the task API, autosaves drafts to localStorage, retries submissions
 * with one Idempotency-Key until they succeed, shows an offline banner, and records telemetry.
 * Item content is only ever inserted with textContent: payloads never execute as HTML.
 */
(function () {
  "use strict";
  const cfgEl = document.getElementById("labeler-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  window.TaskChoiceLabels = cfg.choiceLabels || {};  // names for configured keys (severity levels), read by type scripts
  const S = cfg.strings;
  const form = document.getElementById("labeler");
  const area = document.getElementById("task-area");
  const type = (window.TaskTypes || {})[cfg.taskType];
  const $ = (id) => document.getElementById(id);
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const DRAFT = (id) => `labeler:${cfg.userId}:draft:${id}`;
  const IDEM = (id) => `labeler:${cfg.userId}:idem:${id}`;
  const TELE = (id) => `labeler:${cfg.userId}:telemetry:${id}`;
  const DONE = `labeler:${cfg.userId}:done:${cfg.campaignId}`;

  let assignment = null;
  let busy = false;
  let telemetry = null;
  let taskStart = 0;

  function freshTelemetry() {
    return {
      schema: 1, active_ms: 0, keystrokes: 0, deletions: 0, pastes: [], focus_losses: 0,
      first_key_ms: null, chars_final: 0, started_at: new Date().toISOString(),
      // Per field: keys, deletions, pastes and pasted characters; typing bursts (runs of keys with
      // gaps under BURST_GAP_MS) show whether text was typed steadily or appeared at once.
      fields: {}, bursts: [], visible_ms: 0, shortcuts: 0,
      edit_log: { schema: 1, truncated: false, fields: {} },
    };
  }
  const BURST_GAP_MS = 1500;
  const MAX_BURSTS = 300;
  function fieldName(el) {
    if (!el || !el.closest) return "";
    const holder = el.closest("[name], [data-field]");
    return (holder && (holder.getAttribute("name") || holder.dataset.field)) || "";
  }
  function fieldStats(name) {
    telemetry.fields[name] = telemetry.fields[name] || { keystrokes: 0, deletions: 0, pastes: 0, pasted_chars: 0, first_ms: null, last_ms: null };
    return telemetry.fields[name];
  }
  function recordKey(e) {
    const now = Date.now() - taskStart;
    const name = fieldName(e.target);
    if (name && /^(INPUT|TEXTAREA)$/.test(e.target.tagName)) {
      const f = fieldStats(name);
      f.keystrokes += 1;
      if (e.key === "Backspace" || e.key === "Delete") f.deletions += 1;
      if (f.first_ms === null) f.first_ms = now;
      f.last_ms = now;
      // A burst is {at_ms: start, length: keys in it, field, duration_ms} (authenticity/telemetry.py).
      const last = telemetry.bursts[telemetry.bursts.length - 1];
      if (last && last.field === name && now - (last.at_ms + last.duration_ms) < BURST_GAP_MS) {
        last.length += 1; last.duration_ms = now - last.at_ms;
      } else if (telemetry.bursts.length < MAX_BURSTS) {
        telemetry.bursts.push({ at_ms: now, length: 1, field: name, duration_ms: 0 });
      }
    }
  }

  // --- telemetry: active time counts only while the page is visible and the user is not idle ---
  let lastActivity = Date.now();
  let lastTick = Date.now();
  setInterval(() => {
    const now = Date.now();
    if (telemetry && !document.hidden) telemetry.visible_ms += now - lastTick;
    if (telemetry && !document.hidden && now - lastActivity < 30000) telemetry.active_ms += now - lastTick;
    lastTick = now;
    if (assignment) {
      const s = Math.floor((now - taskStart) / 1000);
      $("task-timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }
  }, 250);
  ["mousemove", "touchstart", "scroll", "click"].forEach((e) =>
    document.addEventListener(e, () => { lastActivity = Date.now(); }, { passive: true }));
  document.addEventListener("keydown", (e) => {
    lastActivity = Date.now();
    if (!telemetry || !area.contains(e.target)) return;
    telemetry.keystrokes += 1;
    if (e.key === "Backspace" || e.key === "Delete") telemetry.deletions += 1;
    if (telemetry.first_key_ms === null) telemetry.first_key_ms = Date.now() - taskStart;
    recordKey(e);
  }, true);
  area.addEventListener("paste", (e) => {
    const text = (e.clipboardData && e.clipboardData.getData("text")) || "";
    if (!telemetry) return;
    const name = fieldName(e.target);
    telemetry.pastes.push({ at_ms: Date.now() - taskStart, length: text.length, field: name });
    if (name) { const f = fieldStats(name); f.pastes += 1; f.pasted_chars += text.length; }
  });
  window.addEventListener("blur", () => { if (telemetry) telemetry.focus_losses += 1; });

  // --- edit log: every change of a text field as [t_ms, pos, deleted, inserted, kind, gaps?] -------------
  // The server replays it to the exact submitted text (authenticity/process.py; format in
  // annotations/telemetry.py). Changes are taken as the difference between the field's value before and
  // after each input event, so whatever the keyboard does (Telex/VNI typed as keys, a phone IME's
  // composition, autocorrect) the log replays exactly; the input type only names the kind. During an IME
  // composition nothing is logged: the committed text is logged once, at compositionend.
  const EDIT_LOG_CAP = 200 * 1024;  // bytes, below the server's 256 KB; past it the log is marked truncated
  const KINDS = { insertText: "t", insertCompositionText: "c", insertReplacementText: "r", insertFromPaste: "p",
    insertFromDrop: "d", insertLineBreak: "t", insertParagraph: "t" };
  const baseline = new WeakMap();  // field element -> value as last logged
  let composing = false;
  let logBytes = 0;
  function isTextField(el) {
    return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && /^(text|search|url|email|)$/.test(el.type || "")));
  }
  function logChange(el, kind) {
    if (!telemetry || !isTextField(el)) return;
    const name = fieldName(el) || el.id || "field";
    const before = baseline.has(el) ? baseline.get(el) : "";
    const after = el.value;
    baseline.set(el, after);
    if (before === after) return;
    let start = 0;
    while (start < before.length && start < after.length && before[start] === after[start]) start++;
    let endB = before.length, endA = after.length;
    while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) { endB--; endA--; }
    const op = [Date.now() - taskStart, start, endB - start, after.slice(start, endA), kind];
    const log = telemetry.edit_log;
    if (log.truncated) return;
    const ops = (log.fields[name] = log.fields[name] || []);
    const last = ops[ops.length - 1];
    // Consecutive keys typed at the end of the previous run join it, keeping each key's gap (compact).
    if (last && kind === "t" && last[4] === "t" && op[2] === 0 && op[3].length === 1 && last[2] === 0
        && op[1] === last[1] + last[3].length && last[3].length < 200) {
      const gaps = last[5] || [];
      const lastAt = last[0] + gaps.reduce((a, b) => a + b, 0);
      gaps.push(Math.max(0, op[0] - lastAt));
      last[3] += op[3]; last[5] = gaps;
      logBytes += 6;
    } else {
      ops.push(op);
      logBytes += 24 + op[3].length * 2;
    }
    if (logBytes > EDIT_LOG_CAP) log.truncated = true;
  }
  area.addEventListener("beforeinput", (e) => {
    // A value set by a script since the last event (draft restore, prefill) is logged as such first.
    if (!composing && isTextField(e.target) && (baseline.get(e.target) || "") !== e.target.value) logChange(e.target, "s");
  }, true);
  area.addEventListener("input", (e) => {
    if (composing || e.isComposing) return;
    const t = e.inputType || "";
    logChange(e.target, KINDS[t] || (t.startsWith("delete") ? "x" : "t"));
  }, true);
  area.addEventListener("compositionstart", (e) => {
    if (isTextField(e.target) && (baseline.get(e.target) || "") !== e.target.value) logChange(e.target, "s");
    composing = true;
  }, true);
  area.addEventListener("compositionend", (e) => { composing = false; logChange(e.target, "c"); }, true);

  // --- network -------------------------------------------------------------------------------
  function setOffline(off) { $("offline-banner").hidden = !off; }
  window.addEventListener("online", () => { setOffline(false); flushPending(); });
  window.addEventListener("offline", () => setOffline(true));
  if (!navigator.onLine) setOffline(true);

  async function api(url, body, headers) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json", "X-CSRFToken": csrf }, headers || {}),
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    return { status: res.status, data };
  }
  const urlFor = (tpl, id) => tpl.replace("/0/", `/${id}/`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // --- drafts ----------------------------------------------------------------------------------
  function saveTelemetry() {
    // Telemetry survives a reload with the draft, so active time and keystrokes are not lost or reset.
    if (!assignment || !telemetry) return;
    try { localStorage.setItem(TELE(assignment.id), JSON.stringify(telemetry)); } catch (e) { /* quota */ }
  }
  function saveDraft() {
    if (!assignment || !type) return;
    try { localStorage.setItem(DRAFT(assignment.id), JSON.stringify(type.collect())); } catch (e) { /* quota */ }
    saveTelemetry();
  }
  function dropDraft(id) { localStorage.removeItem(DRAFT(id)); localStorage.removeItem(TELE(id)); }
  window.addEventListener("pagehide", saveTelemetry);
  document.addEventListener("visibilitychange", () => { if (document.hidden) saveTelemetry(); });
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  // Fixing a field clears its error message as the user types or picks (not on blur: the layout shift
  // of a vanishing message under a pressed Submit button would swallow that click).
  function clearFieldError(e) {
    const holder = e.target.closest && e.target.closest(".has-error");
    if (!holder) return;
    holder.classList.remove("has-error");
    holder.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; });
  }
  form.addEventListener("input", clearFieldError);
  form.addEventListener("change", (e) => { if (!/^(TEXTAREA|INPUT)$/.test(e.target.tagName) || e.target.type === "radio" || e.target.type === "checkbox") clearFieldError(e); });

  function errorSlot(field) {
    // "claims[2].quote" -> "claims[2]" -> "claims": the nearest slot the page has for this field.
    for (let f = field; f; f = f.replace(/(\.[^.[\]]*|\[\d+\])$/, "")) {
      const el = area.querySelector(`[data-error-for="${CSS.escape(f)}"]`);
      if (el) return el;
      if (!/(\.[^.[\]]*|\[\d+\])$/.test(f)) break;
    }
    return null;
  }

  function markField(field, message) {
    // The field's own slot shows the message; returns its holder (null when the page has no slot for it).
    if (type && type.showError && type.showError(field, message)) return true;
    const target = errorSlot(field);
    if (!target) return null;
    target.textContent = message;
    target.hidden = false;
    const holder = target.closest("fieldset, label, .field, .claim, .response, .category") || target;
    holder.classList.add("has-error");
    return holder;
  }

  // message/field: the first problem; others: every problem the server found ([{field, message}], the
  // first included), each shown at its field so a contributor fixes them all in one round trip.
  function showError(message, field, others) {
    document.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    area.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
    const box = $("form-error");
    box.classList.remove("info");
    if (!message) { box.hidden = true; box.textContent = ""; return; }
    const holder = field ? markField(field, message) : null;
    if (holder === true) return;
    const unplaced = [];  // problems the page has no slot for are listed in the box
    (others || []).slice(1).forEach((e) => { if (e && e.field && !markField(e.field, e.message)) unplaced.push(`${e.field}: ${e.message}`); });
    if (holder) {
      holder.scrollIntoView({ block: "center", behavior: "smooth" });
      const input = holder.querySelector("input:not([type=hidden]), textarea, select");
      if (input && !input.closest("[hidden]")) input.focus({ preventScroll: true });
    }
    const total = (others || []).length;
    let text = holder ? message : (field ? `${field}: ${message}` : message);
    if (total > 1) text += ` (${(S.moreProblems || "+%s").replace("%s", String(total - 1))})`;
    box.textContent = [text, ...unplaced].join(" · ");
    box.hidden = false;
  }

  function status(msg) { const box = $("form-error"); box.textContent = msg || ""; box.hidden = !msg; box.classList.toggle("info", !!msg); }

  // --- flow ------------------------------------------------------------------------------------
  async function loadNext() {
    showError("");
    let res;
    try { res = await api(cfg.urls.next); } catch (e) { setOffline(true); await sleep(3000); return loadNext(); }
    if (res.status !== 200) { showError((res.data.error && res.data.error.message) || `HTTP ${res.status}`); return; }
    if (!res.data.assignment) {
      form.hidden = true;
      $("no-work").hidden = false;
      $("no-work-reason").textContent = res.data.reason;
      assignment = null;
      return;
    }
    assignment = res.data.assignment;
    taskStart = Date.now();
    telemetry = freshTelemetry();
    try {
      const saved = JSON.parse(localStorage.getItem(TELE(assignment.id)) || "null");
      if (saved && saved.schema === telemetry.schema) {
        telemetry = Object.assign(telemetry, saved);
        telemetry.reloads = (telemetry.reloads || 0) + 1;
        taskStart = Date.parse(telemetry.started_at) || taskStart;
      }
    } catch (e) { /* a bad stored value: start afresh */ }
    form.hidden = false;
    $("no-work").hidden = true;
    form.dataset.assignment = String(assignment.id);
    // The 5th argument lets media types fetch signed URLs for this assignment.
    type.render(area, assignment.item.payload, cfg.config, assignment.view || {}, assignment);
    const draft = localStorage.getItem(DRAFT(assignment.id));
    if (draft) {
      try { type.restore(JSON.parse(draft)); status(S.draftRestored); } catch (e) { /* ignore bad draft */ }
    }
    touched = false;
    if (cfg.urls.suggestion) showSuggestion(assignment.id, !!draft);
    // After a reload the saved log already holds each field's text: continue from its replay.
    if (!telemetry.edit_log || !telemetry.edit_log.fields) telemetry.edit_log = { schema: 1, truncated: false, fields: {} };
    logBytes = JSON.stringify(telemetry.edit_log).length;
    area.querySelectorAll("textarea, input").forEach((el) => {
      const ops = telemetry.edit_log.fields[fieldName(el) || el.id || "field"];
      if (!ops || !isTextField(el)) return;
      let text = "";
      ops.forEach((op) => { text = text.slice(0, op[1]) + op[3] + text.slice(op[1] + op[2]); });
      baseline.set(el, text);
    });
  }

  // --- model suggestions (issue 23, docs/ml-backends.md) ----------------------------------------
  // The server decides whether this assignment gets a suggestion (control share, gold items) and records
  // that it did; the page only shows it. A suggestion is an answer in the type's schema, so it is put into
  // the widget the way a draft is restored (type.restore): one mechanism for every task type. "prefill"
  // fills the widget unless a draft or the contributor's own input came first; "hint" shows it beside the
  // widget with a button to use it. Never awaited by the queue: the task is usable before it arrives.
  let touched = false;
  form.addEventListener("input", () => { touched = true; });
  form.addEventListener("change", () => { touched = true; });
  function summarise(value, prefix) {
    if (value === null || value === undefined || value === "") return [];
    if (Array.isArray(value)) {
      if (value.every((v) => v === null || typeof v !== "object")) return [`${prefix}: ${value.join(", ")}`];
      return value.flatMap((v, i) => summarise(v, `${prefix}[${i + 1}]`));
    }
    if (typeof value === "object") return Object.keys(value).flatMap((k) => summarise(value[k], prefix ? `${prefix}.${k}` : k));
    return [`${prefix}: ${value}`];
  }
  async function showSuggestion(id, hadDraft) {
    const box = $("suggestion-box");
    box.hidden = true;
    let res;
    try { res = await api(urlFor(cfg.urls.suggestion, id)); } catch (e) { return; }
    if (!assignment || assignment.id !== id || res.status !== 200 || !res.data.suggestion) return;
    const s = res.data.suggestion;
    $("suggestion-summary").textContent = summarise(s.answer, "").slice(0, 40).join("\n");
    $("suggestion-score").textContent = typeof s.score === "number" ? (S.suggestionScore || "%s").replace("%s", `${Math.round(s.score * 100)}%`) : "";
    $("suggestion-state").textContent = "";
    box.dataset.policy = s.policy;
    const use = $("btn-use-suggestion");
    const apply = () => {
      try { type.restore(JSON.parse(JSON.stringify(s.answer))); saveDraft(); } catch (e) { /* a type that cannot hold it: shown only */ }
    };
    use.onclick = () => { apply(); use.hidden = true; };
    use.hidden = false;
    if (s.policy === "prefill" && !hadDraft && !touched) {
      apply();
      use.hidden = true;
      $("suggestion-state").textContent = S.suggestionPrefilled || "";
    }
    box.hidden = false;
  }

  async function submit() {
    if (!assignment || busy) return;
    const id = assignment.id;
    // Media types upload their file first (beforeSubmit) and may collect asynchronously.
    if (type.beforeSubmit) {
      try { await type.beforeSubmit(assignment); } catch (e) { showError(e.message || String(e), e.field); return; }
    }
    const payload = await type.collect();
    const problem = type.validate ? type.validate(payload) : null;
    if (problem) { showError(problem.message || S.required, problem.field); return; }
    let key = localStorage.getItem(IDEM(id));
    if (!key) { key = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`); localStorage.setItem(IDEM(id), key); }
    area.querySelectorAll("textarea, input").forEach((el) => {
      if (isTextField(el) && (baseline.get(el) || "") !== el.value) logChange(el, "s");
    });
    telemetry.chars_final = JSON.stringify(payload).length;
    const body = { payload, telemetry, time_spent_ms: Date.now() - taskStart };
    localStorage.setItem(`labeler:${cfg.userId}:pending:${id}`, JSON.stringify(body));
    busy = true;
    $("btn-submit").disabled = true;
    status(S.sending);
    try {
      for (let attempt = 0; ; attempt++) {
        let res;
        try {
          res = await api(urlFor(cfg.urls.submit, id), body, { "Idempotency-Key": key });
        } catch (e) {
          setOffline(true); status(S.retrying);
          await sleep(Math.min(30000, 1000 * 2 ** attempt));
          continue;
        }
        setOffline(false);
        if (res.status === 201 || res.status === 200) {
          dropDraft(id); localStorage.removeItem(IDEM(id));
          localStorage.removeItem(`labeler:${cfg.userId}:pending:${id}`);
          const done = Number(sessionStorage.getItem(DONE) || 0) + 1;
          sessionStorage.setItem(DONE, String(done));
          $("done-count").textContent = String(done);
          const left = $("remaining");
          if (left && left.textContent !== "") left.textContent = String(Math.max(0, Number(left.textContent) - 1));
          status(S.sent);
          await loadNext();
          return;
        }
        if (res.status >= 500 || res.status === 429) { status(S.retrying); await sleep(Math.min(30000, 1000 * 2 ** attempt)); continue; }
        localStorage.removeItem(`labeler:${cfg.userId}:pending:${id}`);
        const err = res.data.error || {};
        showError(err.message || `HTTP ${res.status}`, err.field, err.errors);
        if (res.status === 409 || res.status === 404) { dropDraft(id); localStorage.removeItem(IDEM(id)); await sleep(1500); await loadNext(); }
        return;
      }
    } finally {
      busy = false;
      $("btn-submit").disabled = false;
    }
  }

  async function flushPending() { if (assignment && localStorage.getItem(`labeler:${cfg.userId}:pending:${assignment.id}`)) await submit(); }

  async function release(kind) {
    if (!assignment) return;
    const reason = window.prompt(kind === "report" ? S.reportReason : S.skipReason, "");
    if (reason === null) return;
    const res = await api(urlFor(kind === "report" ? cfg.urls.report : cfg.urls.skip, assignment.id), { reason });
    if (res.status === 200) { dropDraft(assignment.id); await loadNext(); }
    else showError((res.data.error && res.data.error.message) || `HTTP ${res.status}`, res.data.error && res.data.error.field);
  }

  // --- panels and shortcuts -------------------------------------------------------------------------
  function toggle(id) { const el = $(id); el.hidden = !el.hidden; }
  $("btn-instructions").addEventListener("click", () => toggle("instructions"));
  $("btn-help").addEventListener("click", () => toggle("help"));
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => { $(b.dataset.close).hidden = true; }));
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("btn-skip").addEventListener("click", () => release("skip"));
  $("btn-report").addEventListener("click", () => release("report"));
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) && e.target.type !== "checkbox" && e.target.type !== "radio";
    if (typing && e.key === "Escape") { e.target.blur(); return; }  // leave the text box; shortcuts work again
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); submit(); return; }
    if (e.altKey && (e.key === "s" || e.key === "S")) { e.preventDefault(); release("skip"); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") { toggle("help"); return; }
    if (e.key === "i") { toggle("instructions"); return; }
    if (e.key === "Escape") { $("help").hidden = true; $("instructions").hidden = true; return; }
    if (type && type.shortcut && assignment && type.shortcut(e.key, e)) {
      e.preventDefault();
      if (telemetry) telemetry.shortcuts += 1;
      saveDraft();
    }
  });

  $("done-count").textContent = sessionStorage.getItem(DONE) || "0";
  // The type's own shortcuts (a block in its template) join the help overlay.
  area.querySelectorAll('[data-role="shortcuts-help"]').forEach((el) => $("help").insertBefore(el, $("help").querySelector("[data-close]")));
  if (!localStorage.getItem(`labeler:seen:${cfg.campaignId}`)) {
    $("instructions").hidden = false;  // examples shown on first use
    localStorage.setItem(`labeler:seen:${cfg.campaignId}`, "1");
  }
  if (!type) { showError(`Unknown task type ${cfg.taskType}`); return; }
  loadNext().then(flushPending);
})();
