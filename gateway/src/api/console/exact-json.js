// Exact JSON for the console. The API's amounts are integers (u64 and wider) that may exceed
// 2^53, beyond which `response.json()` rounds them (9007199254740993 shows as ...992). These
// helpers keep every integer literal beyond Number.MAX_SAFE_INTEGER as a BigInt (smaller ones
// stay Numbers), and let the page add and print amounts without going through a double.
"use strict";

// An integer literal's exact value: a Number when safe, a BigInt otherwise.
function exactInteger(digits) {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : BigInt(digits);
}

// JSON.parse reviver: `context.source` (ES "JSON.parse source text access": Chromium 114+,
// Node 21+) is the literal as written, before it was rounded to a double.
function reviveExact(key, value, context) {
  return typeof value === "number" && !Number.isSafeInteger(value) && /^-?\d+$/.test(context.source)
    ? BigInt(context.source)
    : value;
}

const JSON_SOURCE_ACCESS = JSON.parse("1", (key, value, context) => Boolean(context && context.source === "1"));

// Fallback for engines without `context.source`: a small strict JSON parser that reads integer
// literals the same way. One token per match; strings are decoded by JSON.parse itself.
const JSON_TOKEN = /[ \t\n\r]*(?:([{}[\]:,])|("(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")|(-?(?:0|[1-9]\d*))(\.\d+)?([eE][+-]?\d+)?|(true|false|null))/y;

function parseExactFallback(text) {
  let pos = 0;
  const fail = () => { throw new SyntaxError(`invalid JSON at position ${pos}`); };
  const next = () => {
    JSON_TOKEN.lastIndex = pos;
    const m = JSON_TOKEN.exec(text) || fail();
    pos = JSON_TOKEN.lastIndex;
    return m;
  };
  // Parses the items of an array or object up to `close`; `item(token)` reads one.
  const items = (close, item) => {
    let t = next();
    if (t[1] === close) return;
    for (;;) {
      item(t);
      t = next();
      if (t[1] === close) return;
      if (t[1] !== ",") fail();
      t = next();
    }
  };
  const value = (m) => {
    if (m[2] !== undefined || m[6] !== undefined) return JSON.parse(m[2] ?? m[6]);
    if (m[3] !== undefined) return m[4] || m[5] ? Number(m[3] + (m[4] || "") + (m[5] || "")) : exactInteger(m[3]);
    if (m[1] === "[") {
      const out = [];
      items("]", (t) => out.push(value(t)));
      return out;
    }
    if (m[1] === "{") {
      const out = {};
      items("}", (t) => {
        if (t[2] === undefined) fail();
        const key = JSON.parse(t[2]);
        if (next()[1] !== ":") fail();
        // defineProperty, as JSON.parse does: a "__proto__" key is data, not the prototype.
        Object.defineProperty(out, key, { value: value(next()), writable: true, enumerable: true, configurable: true });
      });
      return out;
    }
    return fail();
  };
  const result = value(next());
  if (!/^[ \t\n\r]*$/.test(text.slice(pos))) fail();
  return result;
}

// Parses JSON text, keeping integers beyond 2^53 exact (as BigInt).
function parseExact(text) {
  return JSON_SOURCE_ACCESS ? JSON.parse(text, reviveExact) : parseExactFallback(text);
}

// JSON text of a parsed value, BigInts written as their digits (JSON.stringify throws on them).
function stringifyExact(value) {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => stringifyExact(v)).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${stringifyExact(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// a + b, exact when both are integers (Number or BigInt); a Number again when the sum is safe.
function addExact(a, b) {
  const integer = (x) => typeof x === "bigint" || Number.isInteger(x);
  if (!integer(a) || !integer(b)) return Number(a) + Number(b);
  return exactInteger(BigInt(a) + BigInt(b));
}

if (typeof module !== "undefined") {
  module.exports = { parseExact, parseExactFallback, reviveExact, stringifyExact, addExact, JSON_SOURCE_ACCESS };
}
