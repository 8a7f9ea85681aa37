// Tests of exact-json.js (plain Node, no packages): `node exact-json.test.js`. Every check runs
// against both parsers: JSON.parse with `context.source` (this process, or a child started with
// --harmony-json-parse-with-source on Node 20) and the fallback parser.
"use strict";

const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const { parseExact, parseExactFallback, reviveExact, stringifyExact, addExact, JSON_SOURCE_ACCESS } = require("./exact-json.js");

function check(name, parse) {
  // Big integers are displayed with exactly their source digits.
  for (const digits of ["9007199254740993", "18446744073709551615", "-9007199254740993", "-18446744073709551616", "9007199254740992", "340282366920938463463374607431768211455"]) {
    const value = parse(digits);
    assert.equal(typeof value, "bigint", `${name}: ${digits}`);
    assert.equal(String(value), digits, name);
    assert.equal(stringifyExact(value), digits, name);
  }
  // Safe integers and floats stay Numbers, with JSON.parse's values.
  for (const text of ["0", "-0", "1", "-7", "9007199254740991", "-9007199254740991", "1.5", "1e3", "-2.5E-3", "1E400", "9007199254740993.0", "1e21", "0.1"]) {
    const value = parse(text);
    assert.equal(typeof value, "number", `${name}: ${text}`);
    assert.ok(Object.is(value, JSON.parse(text)), `${name}: ${text}`);
  }
  // Numbers inside strings are untouched, escapes included.
  const strings = String.raw`["9007199254740993", "a \"9007199254740993\" b", "\\", "\\\"18446744073709551615\"", "\u00e9\n\ud83d\ude00", "1e3", "]}{,:"]`;
  assert.deepEqual(parse(strings), JSON.parse(strings), name);
  // Nested objects and arrays, whitespace, and the API's shape.
  const api = ` { "fields" : { "principal" : 9007199254740993, "rate": 0.05, "term": 12,
    "funding": {"bank-a": 18446744073709551615, "bank-b": {"redacted": true, "commitment": "ab12"}},
    "list": [[], {}, [1, [9007199254740993, null]], true, false, null] }, "__proto__": {"x": 1} } `;
  const parsed = parse(api);
  assert.equal(parsed.fields.principal, 9007199254740993n, name);
  assert.equal(parsed.fields.rate, 0.05, name);
  assert.equal(parsed.fields.term, 12, name);
  assert.equal(parsed.fields.funding["bank-a"], 18446744073709551615n, name);
  assert.deepEqual(parsed.fields.funding["bank-b"], { redacted: true, commitment: "ab12" }, name);
  assert.deepEqual(parsed.fields.list, [[], {}, [1, [9007199254740993n, null]], true, false, null], name);
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype, `${name}: __proto__ is data`);
  assert.deepEqual(Object.keys(parsed), ["fields", "__proto__"], name);
  assert.equal(
    stringifyExact(parsed.fields.funding),
    '{"bank-a":18446744073709551615,"bank-b":{"redacted":true,"commitment":"ab12"}}',
    name,
  );
  assert.equal(stringifyExact(parsed.fields.list), "[[],{},[1,[9007199254740993,null]],true,false,null]", name);
  // Invalid JSON is rejected like JSON.parse rejects it.
  for (const bad of ["", "01", "1.", "-", "+1", "[1,]", '{"a" 1}', '{"a":1,}', "[1 2]", "tru", "1 2", "'a'", '"\t"', "{1:2}", "[", "nul"]) {
    assert.throws(() => parse(bad), SyntaxError, `${name}: ${JSON.stringify(bad)}`);
  }
}

check("fallback", parseExactFallback);
check("parseExact", parseExact);

// `context.source`: here if the engine has it, else in a child with V8's flag (Node 20).
const SOURCE_FLAG = "--harmony-json-parse-with-source";
if (JSON_SOURCE_ACCESS) {
  check("context.source", (text) => JSON.parse(text, reviveExact));
  console.log("ok: context.source parser");
} else if (!process.execArgv.includes(SOURCE_FLAG)) {
  let flagged = null;
  try {
    flagged = execFileSync(process.execPath, [SOURCE_FLAG, __filename], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (!/bad option|unknown|not allowed/i.test(String(error.stderr))) throw new Error(`${SOURCE_FLAG} run failed:\n${error.stdout}\n${error.stderr}`);
  }
  if (flagged === null) {
    // No way to run it: check the reviver on the contexts the engine would pass.
    assert.equal(reviveExact("", 9007199254740992, { source: "9007199254740993" }), 9007199254740993n);
    assert.equal(reviveExact("", 1e21, { source: "1e21" }), 1e21);
    assert.equal(reviveExact("", "9007199254740993", {}), "9007199254740993");
    console.log("ok: context.source reviver (engine lacks source access; checked directly)");
  } else {
    assert.match(flagged, /ok: context\.source parser/, flagged);
    console.log(`ok: context.source parser (in a child with ${SOURCE_FLAG})`);
  }
}

// Sums of amounts are exact, and become Numbers again when safe.
assert.equal(addExact(9007199254740991, 2), 9007199254740993n);
assert.equal(addExact(9007199254740993n, 9007199254740993n), 18014398509481986n);
assert.equal(addExact(18446744073709551615n, 1), 18446744073709551616n);
assert.equal(addExact(9007199254740993n, -9007199254740993n), 0);
assert.equal(addExact(0, 5), 5);
assert.equal(addExact(1.5, 2), 3.5);
let total = 0;
for (const amount of parseExact("[9007199254740993, 1, 18446744073709551615, 30000]")) total = addExact(total, amount);
assert.equal(String(total), "18455751272964322609");
assert.equal(`${total}`, "18455751272964322609");

console.log("ok: exact-json");
