/*
 * COCO run-length encoding in the browser, byte for byte as pycocotools' rleToString / rleFrString, so a
 * brush mask is sent as the same compressed "counts" text the server checks and COCO files carry.
 * Masks are kept as a row-major Uint8Array (width*height); COCO counts run down columns (Fortran order).
 */
(function () {
  "use strict";
  function encode(bits, width, height) {
    const counts = [];
    let prev = 0;
    let run = 0;
    for (let x = 0; x < width; x++) {
      for (let y = 0; y < height; y++) {
        const v = bits[y * width + x] ? 1 : 0;
        if (v !== prev) { counts.push(run); run = 0; prev = v; }
        run++;
      }
    }
    counts.push(run);
    let s = "";
    for (let i = 0; i < counts.length; i++) {
      let x = counts[i];
      if (i > 2) x -= counts[i - 2];
      let more = true;
      while (more) {
        let c = x & 0x1f;
        x >>= 5;
        more = (c & 0x10) ? x !== -1 : x !== 0;
        if (more) c |= 0x20;
        s += String.fromCharCode(c + 48);
      }
    }
    return s;
  }

  function decode(str, width, height) {
    const counts = [];
    let p = 0;
    while (p < str.length) {
      let x = 0;
      let k = 0;
      let more = 1;
      while (more) {
        const c = str.charCodeAt(p) - 48;
        x |= (c & 0x1f) << (5 * k);
        more = c & 0x20;
        p++;
        k++;
        if (!more && (c & 0x10)) x |= -1 << (5 * k);
      }
      if (counts.length > 2) x += counts[counts.length - 2];
      counts.push(x);
    }
    const bits = new Uint8Array(width * height);
    let pos = 0;
    let v = 0;
    for (const n of counts) {
      if (v) {
        for (let i = pos; i < pos + n; i++) {
          const x = Math.floor(i / height);
          const y = i - x * height;
          bits[y * width + x] = 1;
        }
      }
      pos += n;
      v = 1 - v;
    }
    return bits;
  }

  window.CocoRle = { encode, decode };
})();
