//! End-to-end: `cirrus init`, `cirrus create workflow|task|feeder` and `cirrus validate`
//! through the real binary, in temporary folders (python3 runs the created tasks).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

fn cirrus(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("cirrus").expect("the cirrus binary is built");
    command.current_dir(dir);
    command
}

/// A temporary folder holding a project made by `cirrus init project`; returns the folder
/// and the project path.
fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    cirrus(dir.path())
        .args(["init", "project"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "created workflows/example/payload.json",
        ));
    let root = dir.path().join("project");
    (dir, root)
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("a file in a folder")).expect("folder created");
    fs::write(path, text).expect("file written");
}

/// Runs `cirrus workflow exec` on a workflow folder's definition and example payload.
fn exec(root: &Path, workflow: &str) -> Value {
    let definition = format!("workflows/{workflow}/definition.json");
    let payload = format!("workflows/{workflow}/payload.json");
    let output = cirrus(root)
        .args(["workflow", "exec", &definition, "--input", &payload])
        .output()
        .expect("cirrus runs");
    assert!(
        output.status.success(),
        "exec failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the output is JSON")
}

#[test]
fn init_makes_a_project_whose_example_runs_and_validates() {
    let (_dir, root) = project();
    for folder in ["workflows", "tasks", "feeders"] {
        assert!(root.join(folder).is_dir(), "{folder}");
    }
    let gitignore = fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".cirrus/"), "{gitignore}");
    let output = exec(&root, "example");
    assert_eq!(
        output["features"][0]["properties"]["processing:software"],
        json!({"stamp": "0.1.0"})
    );
    assert_eq!(output["process"][0]["workflow"], "example");
    cirrus(&root)
        .arg("validate")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("valid"));
    cirrus(&root)
        .args(["validate", "--format", "json"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[test]
fn init_in_the_current_folder_keeps_an_existing_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join(".gitignore"), "target/");
    cirrus(dir.path())
        .arg("init")
        .assert()
        .success()
        .stderr(predicate::str::contains("updated .gitignore"));
    let gitignore = fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore, "target/\n.cirrus/\n");
    assert!(
        dir.path()
            .join("workflows/example/definition.json")
            .is_file()
    );
}

#[test]
fn init_refuses_an_existing_project_and_changes_nothing() {
    let (dir, root) = project();
    let config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    write(&root.join("tasks/stamp/task.py"), "# mine\n");
    cirrus(dir.path())
        .args(["init", "project"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cirrus.toml exists already"));
    assert_eq!(
        fs::read_to_string(root.join("cirrus.toml")).unwrap(),
        config
    );
    assert_eq!(
        fs::read_to_string(root.join("tasks/stamp/task.py")).unwrap(),
        "# mine\n"
    );

    // A folder that holds the example's task but no cirrus.toml is refused before any write.
    let other = dir.path().join("other");
    write(&other.join("tasks/stamp/task.py"), "# mine\n");
    cirrus(dir.path())
        .args(["init", "other"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tasks/stamp exists already"));
    assert!(!other.join("cirrus.toml").exists());
}

#[test]
fn created_tasks_and_workflows_run_as_created() {
    let (_dir, root) = project();
    let config = root.join("cirrus.toml");
    let mut mine = fs::read_to_string(&config).unwrap();
    mine.push_str("\n# my note\n[lambda.functions]\n\"my-stack-stamp\" = \"stamp\"");
    fs::write(&config, &mine).unwrap();

    cirrus(&root)
        .args(["create", "task", "set_title"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "created tasks/set_title/task.py\nregistered [tasks.set_title] in cirrus.toml",
        ));
    let updated = fs::read_to_string(&config).unwrap();
    assert!(updated.starts_with(&mine), "{updated}");
    assert!(
        updated.contains("[tasks.set_title]\ncommand = [\"python3\", \"tasks/set_title/task.py\"]")
    );

    cirrus(&root.join("workflows"))
        .args([
            "create",
            "workflow",
            "two-steps",
            "--task",
            "stamp",
            "--task",
            "set_title",
        ])
        .assert()
        .success();
    let output = exec(&root, "two-steps");
    assert_eq!(
        output["features"][0]["properties"]["processing:software"],
        json!({"stamp": "0.1.0", "set_title": "0.1.0"})
    );

    // The task's error line becomes the execution's error.
    cirrus(&root)
        .args([
            "workflow",
            "exec",
            "workflows/two-steps/definition.json",
            "--input",
            "-",
        ])
        .write_stdin(r#"{"features": [], "process": [{"workflow": "two-steps"}]}"#)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(r#""error":"InvalidInput""#))
        .stdout(predicate::str::contains("the payload has no features"));

    cirrus(&root)
        .args(["create", "workflow", "nothing-yet"])
        .assert()
        .success();
    let output = exec(&root, "nothing-yet");
    assert_eq!(output["process"][0]["workflow"], "nothing-yet");
    cirrus(&root).arg("validate").assert().success().stdout("");
}

#[test]
fn create_refuses_bad_and_existing_names() {
    let (_dir, root) = project();
    let refused = [
        (
            vec!["create", "workflow", "my_flow"],
            "workflow name \"my_flow\" contains '_'",
        ),
        (
            vec!["create", "workflow", "example"],
            "workflow \"example\" exists already",
        ),
        (vec!["create", "workflow", "-x-"], "unexpected argument"),
        (vec!["create", "workflow", "a/b"], "contains '/'"),
        (
            vec!["create", "workflow", "a.b"],
            "workflow name \"a.b\" is not valid",
        ),
        (
            vec!["create", "workflow", "flow", "--task", "ghost"],
            "--task ghost: no task \"ghost\" is configured in cirrus.toml",
        ),
        (
            vec!["create", "task", "stamp"],
            "tasks.stamp is configured already",
        ),
        (
            vec!["create", "task", "9lives"],
            "task name \"9lives\" is not valid",
        ),
    ];
    for (args, message) in refused {
        cirrus(&root)
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    assert!(!root.join("workflows/flow").exists());

    // A task folder made by hand is not overwritten, and cirrus.toml is left alone.
    let config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    write(&root.join("tasks/manual/task.py"), "# mine\n");
    cirrus(&root)
        .args(["create", "task", "manual"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("task \"manual\" exists already"));
    assert_eq!(
        fs::read_to_string(root.join("cirrus.toml")).unwrap(),
        config
    );

    cirrus(&root)
        .args(["create", "feeder", "scenes"])
        .assert()
        .success();
    cirrus(&root)
        .args(["create", "feeder", "scenes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("feeder \"scenes\" exists already"));

    let outside = tempfile::tempdir().unwrap();
    cirrus(outside.path())
        .args(["create", "task", "t"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no cirrus.toml in")
                .and(predicate::str::contains("cirrus init")),
        );
}

#[test]
fn created_feeders_print_valid_payloads() {
    let (_dir, root) = project();
    cirrus(&root)
        .args(["create", "feeder", "scenes", "--python"])
        .assert()
        .success();
    let output = std::process::Command::new("python3")
        .current_dir(&root)
        .args([
            "feeders/scenes/feeder.py",
            "--workflow",
            "example",
            "a",
            "b",
        ])
        .output()
        .expect("python3 runs the feeder");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).expect("each line is a payload"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["features"][0]["id"], "b");
    assert_eq!(lines[1]["process"][0]["workflow"], "example");
    cirrus(&root)
        .args(["payload", "validate", "-"])
        .write_stdin(output.stdout)
        .assert()
        .success();
}

/// A project with one problem of each kind, and the line `cirrus validate` prints for it.
#[test]
fn validate_names_the_file_and_path_of_every_problem() {
    let (_dir, root) = project();
    let mut config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    config.push_str(
        r#"
[tasks.script]
command = ["./missing.sh"]

[tasks.python]
command = ["python3", "tasks/missing.py", "--level", "DEBUG"]

[tasks.program]
command = ["no-such-program-for-cirrus"]

[lambda.functions]
"my-stack-stamp" = "stamp"
"#,
    );
    fs::write(root.join("cirrus.toml"), config).unwrap();
    let task = |resource: &str| json!({"Type": "Task", "Resource": resource, "End": true});
    let deep = json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Next": "M", "Branches": [
                {"StartAt": "T1", "States": {"T1": task("stamp")}},
                {"StartAt": "T2", "States": {"T2": task("nope")}},
            ]},
            "M": {"Type": "Map", "Next": "Arn", "ItemProcessor": {"StartAt": "T3", "States": {"T3": task("nope-either")}}},
            "Arn": {"Type": "Task", "Resource": "arn:aws:lambda:us-west-2:123456789012:function:my-stack-stamp", "Next": "Invoke"},
            "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "ghost", "Payload.$": "$"}, "Next": "Mapped"},
            "Mapped": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "my-stack-stamp:prod", "Payload.$": "$"}, "Next": "Dynamic"},
            "Dynamic": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.function", "Payload.$": "$"}, "End": true},
        }
    });
    write(
        &root.join("workflows/deep/definition.json"),
        &deep.to_string(),
    );
    write(
        &root.join("workflows/deep/payload.json"),
        r#"{"features": [{"id": "a"}], "process": [{"workflow": "elsewhere"}]}"#,
    );
    write(
        &root.join("workflows/broken/definition.yaml"),
        "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Missing\n",
    );
    write(
        &root.join("workflows/broken/payload.json"),
        r#"{"features": []}"#,
    );
    write(&root.join("workflows/empty/notes.txt"), "nothing here");
    write(
        &root.join("workflows/bad_name/definition.json"),
        r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#,
    );
    write(
        &root.join("workflows/unparsable/definition.json"),
        "{\"StartAt\": ",
    );

    let output = cirrus(&root).arg("validate").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let expected = [
        "cirrus.toml: $.tasks.program.command[0]: program \"no-such-program-for-cirrus\" is not found on PATH",
        "cirrus.toml: $.tasks.python.command[1]: tasks/missing.py does not exist",
        "cirrus.toml: $.tasks.script.command[0]: ./missing.sh does not exist",
        "workflows/bad_name: $: workflow name \"bad_name\" contains '_'",
        "workflows/broken/definition.yaml: $.States.A.Next: ",
        "workflows/broken/payload.json: $.process: is required",
        "workflows/deep/definition.json: $.States.P.Branches[1].States.T2.Resource: no task is registered for resource \"nope\"",
        "workflows/deep/definition.json: $.States.M.ItemProcessor.States.T3.Resource: no task is registered for resource \"nope-either\"",
        "workflows/deep/definition.json: $.States.Invoke.Parameters.FunctionName: FunctionName \"ghost\": Function not found",
        "workflows/deep/payload.json: $.process[0].workflow: workflow \"elsewhere\" has no folder workflows/elsewhere",
        "workflows/empty: $: no definition.json (or definition.yaml) in the workflow folder",
        "workflows/unparsable/definition.json: $: not valid JSON",
    ];
    for line in expected {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "no line starts with {line:?} in:\n{stdout}"
        );
    }
    assert_eq!(stdout.lines().count(), expected.len(), "{stdout}");
    assert!(!stdout.contains("Branches[0]"), "{stdout}");
    assert!(
        !stdout.contains("States.Arn")
            && !stdout.contains("States.Mapped")
            && !stdout.contains("States.Dynamic"),
        "{stdout}"
    );

    let output = cirrus(&root)
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let problems: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(problems.len(), expected.len());
    assert_eq!(problems[0]["file"], "cirrus.toml");
    assert_eq!(problems[0]["path"], "$.tasks.program.command[0]");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("not found on PATH")
    );
}

#[test]
fn validate_reports_a_broken_configuration_and_refuses_outside_a_project() {
    let (_dir, root) = project();
    write(&root.join("cirrus.toml"), "[tasks.a]\ncomand = [\"x\"]\n");
    cirrus(&root).arg("validate").assert().code(1).stdout(
        predicate::str::starts_with("cirrus.toml: $: ")
            .and(predicate::str::contains("unknown field `comand`")),
    );

    write(
        &root.join("cirrus.toml"),
        "[lambda.functions]\n\"f\" = \"ghost\"\n",
    );
    cirrus(&root)
        .arg("validate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "maps to task \"ghost\", which is not registered",
        ));

    let outside = tempfile::tempdir().unwrap();
    cirrus(outside.path())
        .arg("validate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a Cirrus project"));
}
