/*
 * Field visit: the place and its window, a GPS check-in (Geolocation, accuracy kept), camera photos
 * (downscaled to 1600 px JPEG on the phone, sent inline so a visit can wait offline whole) and the
 * campaign's survey form (window.SurveyForm). The distance to the place is shown at check-in; the
 * server decides the geofence (task_types/field_visit/task.py), the page only warns and asks for a
 * reason when the campaign allows checking in from outside.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null; let cfg = null; let item = null; let survey = null;
  let checkin = null; let photos = [];
  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const fmt = (text, vals) => Object.entries(vals).reduce((t, [k, v]) => t.replace(`%(${k})s`, v), text);

  function distance(lat1, lon1, lat2, lon2) {
    const r = (d) => (d * Math.PI) / 180;
    const a = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
    return 2 * 6371000 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function doCheckin() {
    const status = root.querySelector('[data-role="checkin-status"]');
    if (!navigator.geolocation) { status.textContent = msg("no-geo"); return; }
    navigator.geolocation.getCurrentPosition((pos) => {
      const c = pos.coords;
      checkin = { lat: c.latitude, lon: c.longitude, accuracy: c.accuracy, at: new Date().toISOString() };
      const d = Math.round(distance(c.latitude, c.longitude, item.place.lat, item.place.lon));
      const outside = d > (cfg.geofence_m || 150);
      status.textContent = outside ? fmt(msg("outside"), { d, r: cfg.geofence_m }) : fmt(msg("checked-in"), { d, acc: Math.round(c.accuracy) });
      status.classList.toggle("bad", outside);
      status.dataset.distance = String(d);
      root.querySelector('[data-role="outside"]').hidden = !(outside && cfg.allow_outside_geofence);
    }, () => { status.textContent = msg("geo-denied"); status.classList.add("bad"); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  }

  function downscale(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => {
        const scale = Math.min(1, 1600 / Math.max(img.width, img.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale); canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", 0.85));
      };
      img.onerror = () => { URL.revokeObjectURL(url); reader(file).then(resolve, reject); };  // not decodable here: let the server say why
      img.src = url;
    });
  }
  const reader = (file) => new Promise((resolve) => { const r = new FileReader(); r.onload = () => resolve(r.result); r.readAsDataURL(file); });

  function drawThumbs() {
    const box = root.querySelector('[data-role="thumbs"]');
    box.textContent = "";
    photos.forEach((src, i) => {
      const img = document.createElement("img");
      img.src = src; img.alt = `photo ${i + 1}`; img.dataset.photo = String(i);
      img.onclick = () => { photos.splice(i, 1); drawThumbs(); };
      box.appendChild(img);
    });
  }

  window.TaskTypes.field_visit = {
    render(area, payload, config) {
      root = area; cfg = config; item = payload; checkin = null; photos = [];
      const bind = (name, text) => { const el = area.querySelector(`[data-bind="${name}"]`); if (el) el.textContent = text || ""; };
      bind("place-name", payload.place.name); bind("place-address", payload.place.address);
      bind("place-hours", payload.place.opening_hours);
      bind("window", `${new Date(payload.window.start).toLocaleString()} – ${new Date(payload.window.end).toLocaleString()}`);
      const sc = area.querySelector('[data-bind="scenario"]'); sc.textContent = payload.scenario || ""; sc.hidden = !payload.scenario;
      area.querySelector('[data-action="checkin"]').onclick = doCheckin;
      area.querySelector('[data-role="checkin-status"]').textContent = "";
      area.querySelector('[data-role="outside"]').hidden = true;
      const input = area.querySelector('[data-role="photo-input"]');
      input.onchange = async () => {
        for (const f of Array.from(input.files)) photos.push(await downscale(f));
        input.value = ""; drawThumbs();
      };
      drawThumbs();
      survey = new window.SurveyForm(area.querySelector("[data-survey-form]"), config.form, config.language || "vi");
    },
    collect() {
      const out = { answers: survey.collect(), photos: photos.slice(), language: survey.lang, checkout_at: new Date().toISOString() };
      if (checkin) {
        out.checkin = Object.assign({}, checkin);
        const reason = root.querySelector('input[name="outside_reason"]').value.trim();
        if (reason) out.checkin.outside_reason = reason;
      }
      return out;
    },
    restore(draft) {
      if (draft.checkin) { checkin = draft.checkin; root.querySelector('[data-role="checkin-status"]').textContent = "✓"; }
      if (Array.isArray(draft.photos)) { photos = draft.photos; drawThumbs(); }
      if (draft.answers) survey.restore(draft.answers);
    },
    validate(answer) {
      if (!answer.checkin) return { field: "checkin", message: msg("need-checkin") };
      const status = root.querySelector('[data-role="checkin-status"]');
      if (status.classList.contains("bad") && !cfg.allow_outside_geofence) return { field: "checkin", message: status.textContent };
      if ((answer.photos || []).length < (cfg.min_photos || 0)) return { field: "photos", message: fmt(msg("need-photos"), { n: cfg.min_photos }) };
      return survey.validate();
    },
  };
})();
