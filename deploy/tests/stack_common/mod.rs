//! Checking rendered stacks with the offline validators: `cfn-lint` (from `.venv`) on the
//! template, and asl-validator (`.tools/asl-validator`, through cirrus-core's driver
//! `tests/asl/validate.js`) on every state machine in it. Both are installed by
//! `scripts/install.sh`; a missing one fails the test with that hint.
//!
//! Shared by `deploy/tests/stack_*.rs` and `cirrus-cli/tests/deploy_template.rs`
//! (`#[path]`), so both check templates the same way.

#![allow(dead_code)]

use cirrus_deploy::stack::sub;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HINT: &str = "run `bash scripts/install.sh` from the workspace root";

/// The workspace root (the parent of the crate running the test).
pub fn workspace_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(&dir).to_path_buf()
}

/// `cfn-lint` on `templates` (name, template), in one run. Fails on any error or warning
/// (exit code bits 2 and 4), printing cfn-lint's findings.
pub fn cfn_lint(templates: &[(&str, &Value)]) {
    let cfn_lint = workspace_root().join(".venv/bin/cfn-lint");
    assert!(
        cfn_lint.is_file(),
        "cfn-lint is not installed ({} is missing); {HINT}",
        cfn_lint.display()
    );
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut files = Vec::new();
    for (name, template) in templates {
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(template).expect("JSON"))
            .expect("template written");
        files.push(file);
    }
    let output = Command::new(&cfn_lint)
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {HINT}", cfn_lint.display()));
    let code = output.status.code().unwrap_or(-1);
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        code >= 0 && code & (2 | 4) == 0 && code & !(2 | 4 | 8) == 0,
        "cfn-lint exit code {code} (2 = errors, 4 = warnings):\n{findings}"
    );
}

/// A plausible ARN for the stack output `key` (what a `${…}` reference resolves to).
fn fake_value(key: &str) -> String {
    let account = "arn:aws:{service}:us-west-2:123456789012";
    let arn =
        |service: &str, rest: String| format!("{}:{rest}", account.replace("{service}", service));
    if key.ends_with("FunctionArn") {
        arn(
            "lambda",
            format!("function:{}", key.trim_end_matches("Arn")),
        )
    } else if key.starts_with("JobQueue") {
        arn("batch", format!("job-queue/{key}"))
    } else if key.starts_with("Job") && key.ends_with("Definition") {
        arn("batch", format!("job-definition/{key}:1"))
    } else {
        arn("states", format!("stateMachine:{key}"))
    }
}

/// `template` with every state machine's `DefinitionString` resolved (`Fn::Sub` with fake
/// ARNs for its references), so cfn-lint checks the ASL inside as well.
pub fn resolved(template: &Value) -> Value {
    let values: BTreeMap<String, String> = template["Outputs"]
        .as_object()
        .expect("the template has Outputs")
        .keys()
        .map(|key| (key.clone(), fake_value(key)))
        .collect();
    let mut copy = template.clone();
    // A resolved definition holds the literal `${…}` of the workflow (a path_template); in
    // the real template they are `${!…}` inside Fn::Sub, which the unresolved lint checks.
    copy["Metadata"] = json!({"cfn-lint": {"config": {"ignore_checks": ["E1029"]}}});
    let resources = copy["Resources"].as_object_mut().expect("Resources");
    for (id, resource) in resources.iter_mut() {
        if resource["Type"] != "AWS::StepFunctions::StateMachine" {
            continue;
        }
        let text = resource["Properties"]["DefinitionString"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: DefinitionString is not an Fn::Sub string"));
        let plain = sub::resolve(text, &values).unwrap_or_else(|e| panic!("{id}: {e}"));
        resource["Properties"]["DefinitionString"] = json!(plain);
    }
    copy
}

/// The state machines of a [`resolved`] template: logical ID and definition.
pub fn definitions(resolved: &Value) -> Vec<(String, Value)> {
    resolved["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::StepFunctions::StateMachine")
        .map(|(id, r)| {
            let text = r["Properties"]["DefinitionString"]
                .as_str()
                .expect("a resolved definition");
            (
                id.clone(),
                serde_json::from_str(text).expect("the definition is JSON"),
            )
        })
        .collect()
}

/// asl-validator on `definitions`, with its ARN check on (every Resource is an ARN now).
pub fn asl_validate(definitions: &[(String, Value)]) {
    let root = workspace_root();
    let validator = root.join(".tools/asl-validator/node_modules/asl-validator");
    assert!(
        validator.join("package.json").is_file(),
        "asl-validator is not installed ({} is missing); {HINT}",
        validator.display()
    );
    let driver = root.join("cirrus-core/tests/asl/validate.js");
    let mut child = Command::new("node")
        .arg(&driver)
        .arg(&validator)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node: {e}; {HINT}"));
    let input: Vec<Value> = definitions
        .iter()
        .map(|(name, definition)| json!({"name": name, "definition": definition}))
        .collect();
    let text = Value::Array(input).to_string();
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("node finishes");
    writer
        .join()
        .expect("the writer does not panic")
        .expect("the definitions are written to node");
    assert!(
        output.status.success(),
        "node {} failed: {}",
        driver.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<Value> = serde_json::from_slice(&output.stdout).expect("a JSON array");
    assert_eq!(verdicts.len(), definitions.len());
    let invalid: Vec<String> = verdicts
        .iter()
        .filter(|v| v["valid"] != json!(true))
        .map(|v| format!("{}: {}", v["name"], v["errors"]))
        .collect();
    assert!(invalid.is_empty(), "not valid ASL:\n{}", invalid.join("\n"));
}

/// The shipped workflows (`workflows/*/definition.json`), by name.
pub fn shipped_workflows(root: &Path) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    let dir = root.join("workflows");
    for entry in std::fs::read_dir(&dir).expect("workflows/ is listed") {
        let path = entry.expect("an entry").path();
        let file = path.join("definition.json");
        if file.is_file() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&file).expect("readable");
            found.push((name, serde_json::from_str(&text).expect("JSON")));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}
