// Validates many ASL definitions with asl-validator in one Node process
// (cirrus-core/tests/asl_validator.rs runs it).
//
// Usage: node validate.js <asl-validator package folder> < entries.json
//
// stdin: a JSON array of entries, each {"name": "<where it came from>", "definition": {...}}
// or {"name": ..., "yaml": "<YAML text>"}. YAML is parsed with the `yaml` package that
// asl-validator itself depends on; a YAML document that is not a state machine (no StartAt
// or no States) is skipped.
// stdout: a JSON array, in the same order, of
// {"name", "skipped": bool, "valid": bool, "errors": ["<code>: <message>", ...]}.
// Exit status 0 whether or not the definitions are valid; anything else is a driver failure.
"use strict";

const path = require("path");

const validatorDir = process.argv[2];
if (!validatorDir) {
  process.stderr.write("usage: node validate.js <asl-validator package folder> < entries.json\n");
  process.exit(2);
}
const validate = require(path.resolve(validatorDir));
const YAML = require(require.resolve("yaml", { paths: [path.resolve(validatorDir)] }));

// An asl-validator error is {"Error code": ..., "Message": ...}; keep both.
function describe(error) {
  if (typeof error === "string") {
    return error;
  }
  const code = error["Error code"];
  const message = error.Message || JSON.stringify(error);
  return code ? `${code}: ${message}` : message;
}

function isStateMachine(value) {
  return value !== null && typeof value === "object" && "StartAt" in value && "States" in value;
}

// Whether any Task state (at any depth) names its Resource by task name rather than by ARN.
// Cirrus definitions may: each mode resolves the name (locally to a registered task or a
// command; `cirrus deploy` writes the Lambda/Batch ARN into the state machine it creates),
// so for those asl-validator's ARN check is off and every other check stays on.
function usesTaskNames(value) {
  if (Array.isArray(value)) {
    return value.some(usesTaskNames);
  }
  if (value === null || typeof value !== "object") {
    return false;
  }
  if (value.Type === "Task" && typeof value.Resource === "string" && !value.Resource.startsWith("arn:")) {
    return true;
  }
  return Object.values(value).some(usesTaskNames);
}

function check(entry) {
  let definition = entry.definition;
  if (entry.yaml !== undefined) {
    try {
      definition = YAML.parse(entry.yaml);
    } catch (error) {
      return { name: entry.name, skipped: false, valid: false, errors: [`not YAML: ${error.message}`] };
    }
    if (!isStateMachine(definition)) {
      return { name: entry.name, skipped: true, valid: true, errors: [] };
    }
  }
  // asl-validator adds fields (QueryLanguage) to what it is given: hand it a copy.
  const options = { checkPaths: true, checkArn: !usesTaskNames(definition) };
  const { isValid, errors } = validate(JSON.parse(JSON.stringify(definition)), options);
  return { name: entry.name, skipped: false, valid: isValid, errors: (errors || []).map(describe) };
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  text += chunk;
});
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(text).map(check)));
});
