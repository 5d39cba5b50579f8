//! End-to-end: `cirrus deploy --stage NAME --dry-run` on the projects `cirrus init` makes.
//! The templates pass cfn-lint and their state machines pass asl-validator (the checks of
//! `deploy/tests/stack_common`); a task with no place to run, or a bad `[deploy]`, is a clear
//! error (exit 2).

#![cfg(feature = "aws")]

#[path = "../../deploy/tests/stack_common/mod.rs"]
mod stack_common;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use stack_common::{asl_validate, cfn_lint, definitions, resolved};
use std::fs;
use std::path::{Path, PathBuf};

fn cirrus(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("cirrus").expect("the cirrus binary is built");
    command.current_dir(dir);
    command
}

/// A project made by `cirrus init NAME [--hsi]` in a temporary folder.
fn init(name: &str, hsi: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut command = cirrus(dir.path());
    command.args(["init", name]);
    if hsi {
        command.arg("--hsi");
    }
    command.assert().success();
    let root = dir.path().join(name);
    (dir, root)
}

fn append(path: &Path, text: &str) {
    let mut config = fs::read_to_string(path).expect("cirrus.toml is read");
    config.push_str(text);
    fs::write(path, config).expect("cirrus.toml is written");
}

const FARGATE: &str = r#"image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus:1", subnets = ["subnet-0123456789abcdef0"], security_groups = ["sg-0123456789abcdef0"]"#;

#[test]
fn the_example_project_deploys_once_its_script_task_has_a_container() {
    let (_dir, root) = init("demo", false);
    // The example's task is a python script: it cannot run in the Lambda package.
    cirrus(&root)
        .args(["deploy", "--stage", "dev", "--dry-run"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "workflows/example: state \"stamp\": task \"stamp\": [tasks.stamp] runs a command; say where it runs on AWS with [deploy.tasks.stamp] batch",
        ));
    append(
        &root.join("cirrus.toml"),
        &format!("\n[deploy.tasks.stamp]\nbatch = {{ {FARGATE}, vcpus = 0.25, memory = 512 }}\n"),
    );
    let out = cirrus(&root)
        .args(["deploy", "--stage", "dev", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let template: Value = serde_json::from_slice(&out).expect("the template is JSON on stdout");
    let machine = &template["Resources"]["StateMachineExample"]["Properties"];
    assert_eq!(machine["StateMachineName"], "demo-dev-example");
    assert_eq!(
        template["Resources"]["JobStampDefinition"]["Properties"]["ContainerProperties"]["Command"],
        serde_json::json!([
            "cirrus",
            "task",
            "run",
            "stamp",
            "Ref::url",
            "--output",
            "Ref::url_out"
        ])
    );
    let plain = resolved(&template);
    cfn_lint(&[("demo", &template), ("demo-resolved", &plain)]);
    asl_validate(&definitions(&plain));
}

/// The ```toml block of docs/deploy.md.
fn docs_config() -> String {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deploy.md");
    let text = fs::read_to_string(&docs).expect("docs/deploy.md is read");
    let start = text
        .find("```toml\n")
        .expect("docs/deploy.md has a toml block")
        + 8;
    let end = start + text[start..].find("```").expect("the toml block ends");
    text[start..end].to_string()
}

#[test]
fn the_hsi_project_deploys_with_its_raster_tasks_on_batch() {
    let (dir, root) = init("hsi", true);
    // copy-assets (if a workflow used it) would run on Lambda by default; the GDAL tasks
    // must run on Batch.
    cirrus(&root)
        .args(["deploy", "--stage", "prod", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the built-in task needs GDAL"));
    // The configuration docs/deploy.md shows.
    append(&root.join("cirrus.toml"), &format!("\n{}", docs_config()));
    let file = dir.path().join("template.json");
    cirrus(&root)
        .args(["deploy", "--stage", "prod", "--dry-run", "--template-out"])
        .arg(&file)
        .assert()
        .success()
        .stdout("");
    let template: Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("the template file is written"))
            .expect("the template is JSON");
    let outputs = template["Outputs"].as_object().expect("outputs");
    assert_eq!(outputs["Prefix"]["Value"], "aviris-prod");
    let plain = resolved(&template);
    let machines = definitions(&plain);
    assert_eq!(machines.len(), 5, "one state machine per workflow");
    cfn_lint(&[("hsi", &template), ("hsi-resolved", &plain)]);
    asl_validate(&machines);
}

#[test]
fn bad_deploy_settings_name_the_field() {
    let (_dir, root) = init("demo", false);
    append(
        &root.join("cirrus.toml"),
        "\n[deploy.tasks.stamp]\nbatch = { image = \"i\", vcpus = 1, memory = 2048 }\n",
    );
    cirrus(&root)
        .args(["deploy", "--stage", "dev", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "deploy.tasks.stamp.batch: needs job_queue (an existing queue's ARN), or subnets and security_groups",
        ));
    let (_dir, root) = init("other", false);
    append(
        &root.join("cirrus.toml"),
        "\n[deploy]\narchitecture = \"arm\"\n",
    );
    cirrus(&root)
        .args(["deploy", "--stage", "dev", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cirrus.toml: deploy.architecture: unknown variant `arm`, expected `arm64` or `x86_64`\n",
        ));
    let (_dir, root) = init("third", false);
    cirrus(&root)
        .args(["deploy", "--stage", "Dev", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--stage: \"Dev\" cannot name AWS resources",
        ));
}
