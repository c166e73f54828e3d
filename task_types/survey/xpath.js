/*
 * The page's copy of task_types/survey/xpath.py: the XPath subset XLSForm relevance, constraints,
 * calculations and choice filters use. Same grammar, same functions, same value rules (numbers compare
 * as numbers, empty answers as "", a select_multiple as its choices joined by spaces), so the phone
 * shows the same questions and refuses the same answers as the server.
 */
(function () {
  "use strict";
  const TOKEN = /\s*(?:(\$\{[A-Za-z_][A-Za-z0-9_.\-]*\})|(\d+(?:\.\d*)?|\.\d+)|('[^']*'|"[^"]*")|(<=|>=|!=|=|<|>|\+|-|\*|\(|\)|,|\.)|([A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z_][A-Za-z0-9_\-]*)?))/y;
  const KINDS = ["ref", "number", "string", "op", "name"];
  const LEVELS = [["or"], ["and"], ["=", "!="], ["<", "<=", ">", ">="], ["+", "-"], ["*", "div", "mod"]];

  function tokenize(text) {
    const out = []; let pos = 0; text = text.trim();
    while (pos < text.length) {
      TOKEN.lastIndex = pos;
      const m = TOKEN.exec(text);
      if (!m || TOKEN.lastIndex === pos) throw new Error(`Unexpected ${text[pos]} in ${text}`);
      const i = m.slice(1).findIndex((g) => g !== undefined);
      out.push([KINDS[i], m[i + 1]]);
      pos = TOKEN.lastIndex;
      while (pos < text.length && /\s/.test(text[pos])) pos++;
    }
    return out;
  }

  function parse(text) {
    const toks = tokenize(text); let i = 0;
    const peek = () => toks[i] || [null, null];
    const take = () => toks[i++] || [null, null];
    function binary(level) {
      if (level === LEVELS.length) return unary();
      let left = binary(level + 1);
      for (;;) {
        const [kind, value] = peek();
        if ((kind === "op" || kind === "name") && LEVELS[level].includes(value)) { take(); left = { k: "op", v: value, a: [left, binary(level + 1)] }; }
        else return left;
      }
    }
    function unary() { if (peek()[0] === "op" && peek()[1] === "-") { take(); return { k: "neg", a: [unary()] }; } return primary(); }
    function primary() {
      const [kind, value] = take();
      if (kind === "number") return { k: "num", v: Number(value) };
      if (kind === "string") return { k: "str", v: value.slice(1, -1) };
      if (kind === "ref") return { k: "ref", v: value.slice(2, -1) };
      if (kind === "op" && value === ".") return { k: "cur" };
      if (kind === "op" && value === "(") { const n = binary(0); take(); return n; }
      if (kind === "name") {
        if (peek()[1] === "(") {
          take(); const args = [];
          if (peek()[1] !== ")") { args.push(binary(0)); while (peek()[1] === ",") { take(); args.push(binary(0)); } }
          take();
          return { k: "call", v: value, a: args };
        }
        return { k: "name", v: value };
      }
      throw new Error(`Unexpected ${value} in ${text}`);
    }
    const node = binary(0);
    if (i !== toks.length) throw new Error(`Unexpected ${peek()[1]} in ${text}`);
    return node;
  }

  const str = (v) => {
    if (v === null || v === undefined) return "";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (Array.isArray(v)) return v.map(str).join(" ");
    if (typeof v === "object") return ["lat", "lon", "alt", "accuracy"].filter((k) => k in v).map((k) => str(v[k])).join(" ");
    return String(v);
  };
  const num = (v) => {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    const s = str(v).trim();
    if (s !== "" && !isNaN(Number(s))) return Number(s);
    const d = /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s.slice(0, 10) + "T00:00:00Z") : NaN;
    return isNaN(d) ? NaN : Math.round(d / 86400000);
  };
  const bool = (v) => (typeof v === "boolean" ? v : typeof v === "number" ? v !== 0 && !isNaN(v) : str(v) !== "");
  const pad = (n) => String(n).padStart(2, "0");
  const today = () => { const d = new Date(); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };

  const F = {
    selected: (vals, c) => str(vals).split(/\s+/).includes(str(c).trim()),
    "count-selected": (vals) => str(vals).split(/\s+/).filter(Boolean).length,
    not: (x) => !bool(x), true: () => true, false: () => false,
    "string-length": (x) => str(x).length, string: str, number: num, boolean: bool,
    int: (x) => Math.trunc(num(x)),
    round: (x, d) => { const f = 10 ** Math.trunc(num(d || 0)); return Math.floor(num(x) * f + 0.5) / f; },
    concat: (...xs) => xs.map(str).join(""), contains: (a, b) => str(a).includes(str(b)),
    "starts-with": (a, b) => str(a).startsWith(str(b)), "ends-with": (a, b) => str(a).endsWith(str(b)),
    regex: (v, p) => new RegExp(str(p)).test(str(v)), if: (c, a, b) => (bool(c) ? a : b),
    coalesce: (a, b) => (str(a) !== "" ? a : b), today, now: () => new Date().toISOString().slice(0, 19),
    abs: (x) => Math.abs(num(x)), min: (...xs) => Math.min(...xs.map(num)), max: (...xs) => Math.max(...xs.map(num)),
    pow: (a, b) => num(a) ** num(b),
    "selected-at": (vals, i) => str(vals).split(/\s+/)[Math.trunc(num(i))] || "",
    substr: (s, a, b) => str(s).slice(Math.trunc(num(a)), b === undefined ? undefined : Math.trunc(num(b))),
    "jr:choice-name": (v) => str(v),
  };

  function compare(op, a, b) {
    if (op === "=" || op === "!=") {
      let eq;
      if (typeof a === "boolean" || typeof b === "boolean") eq = bool(a) === bool(b);
      else if (typeof a === "number" || typeof b === "number") eq = num(a) === num(b);
      else eq = str(a) === str(b);
      return op === "=" ? eq : !eq;
    }
    const x = num(a); const y = num(b);
    if (isNaN(x) || isNaN(y)) return false;
    return { "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y }[op];
  }

  const cache = new Map();
  function evaluate(text, lookup, current, names) {
    let node = cache.get(text);
    if (!node) { node = parse(text); cache.set(text, node); }
    const ev = (n) => {
      switch (n.k) {
        case "num": case "str": return n.v;
        case "ref": return lookup(n.v);
        case "cur": return current;
        case "name": return names ? names(n.v) : "";
        case "neg": return -num(ev(n.a[0]));
        case "call": return F[n.v](...n.a.map(ev));
        default: {
          if (n.v === "or") return bool(ev(n.a[0])) || bool(ev(n.a[1]));
          if (n.v === "and") return bool(ev(n.a[0])) && bool(ev(n.a[1]));
          const a = ev(n.a[0]); const b = ev(n.a[1]);
          if (["=", "!=", "<", "<=", ">", ">="].includes(n.v)) return compare(n.v, a, b);
          const x = num(a); const y = num(b);
          return { "+": x + y, "-": x - y, "*": x * y, div: x / y, mod: x % y }[n.v];
        }
      }
    };
    return ev(node);
  }

  window.SurveyXPath = { evaluate, bool, num, str };
})();
