// Validates many ASL definitions with asl-validator in one Node process.
//
// Usage: node validate.js <asl-validator package folder> < definitions.json
//
// stdin: a JSON array of {"name": "<where it came from>", "definition": {...}}.
// stdout: a JSON array, in the same order, of {"name", "valid", "errors": ["<message>", ...]}.
// Exit status 0 whether or not the definitions are valid; anything else is a driver failure.
"use strict";

const path = require("path");

const validatorDir = process.argv[2];
if (!validatorDir) {
  process.stderr.write("usage: node validate.js <asl-validator package folder> < definitions.json\n");
  process.exit(2);
}
const validate = require(path.resolve(validatorDir));

// An asl-validator error is {"Error code": ..., "Message": ...}; keep both.
function describe(error) {
  if (typeof error === "string") {
    return error;
  }
  const code = error["Error code"];
  const message = error.Message || JSON.stringify(error);
  return code ? `${code}: ${message}` : message;
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  text += chunk;
});
process.stdin.on("end", () => {
  const entries = JSON.parse(text);
  const results = entries.map(({ name, definition }) => {
    // asl-validator adds fields (QueryLanguage) to what it is given: hand it a copy.
    const { isValid, errors } = validate(JSON.parse(JSON.stringify(definition)));
    return { name, valid: isValid, errors: (errors || []).map(describe) };
  });
  process.stdout.write(JSON.stringify(results));
});
