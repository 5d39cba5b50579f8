//! The rewrite of task-name Resources: Lambda ARNs, the Batch wrapper, escaping.

use super::*;

fn targets(task: &str) -> std::result::Result<Target, String> {
    match task {
        "quick" => Ok(Target::Lambda {
            function_arn: "${TaskQuickFunction.Arn}".into(),
        }),
        "heavy" => Ok(Target::Batch {
            job_name: "heavy".into(),
            job_definition: "${JobHeavyDefinition}".into(),
            job_queue: "${JobQueue1}".into(),
        }),
        _ => Err("there is no such task".into()),
    }
}

fn batch() -> BatchFunctions {
    BatchFunctions {
        pre: "${PreBatchFunction.Arn}".into(),
        post: "${PostBatchFunction.Arn}".into(),
    }
}

fn rewrite_ok(definition: Value) -> Rewritten {
    rewrite("wf", &definition, &targets, &batch()).expect("the definition rewrites")
}

#[test]
fn lambda_tasks_get_the_function_arn_and_a_transient_retrier_first() {
    let out = rewrite_ok(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "quick", "ResultPath": "$.r",
                  "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}], "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                  "Parameters": {"TopicArn": "t", "Message.$": "$"}, "End": true}
        }
    }));
    let a = &out.definition["States"]["A"];
    assert_eq!(a["Resource"], "${TaskQuickFunction.Arn}");
    assert_eq!(a["ResultPath"], "$.r");
    assert_eq!(a["Retry"][0], lambda_retry());
    assert_eq!(a["Retry"][1]["ErrorEquals"], json!(["States.ALL"]));
    assert_eq!(
        out.definition["States"]["B"]["Resource"],
        "arn:aws:states:::sns:publish"
    );
    assert_eq!(out.tasks, BTreeSet::from(["quick".to_string()]));
}

#[test]
fn a_batch_task_becomes_the_single_branch_parallel() {
    let out = rewrite_ok(json!({
        "StartAt": "activate",
        "States": {
            "activate": {
                "Type": "Task", "Resource": "heavy", "Comment": "c",
                "TimeoutSeconds": 3600,
                "Retry": [{"ErrorEquals": ["RetryableError"], "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "failed"}],
                "End": true
            },
            "failed": {"Type": "Fail", "Error": "X"}
        }
    }));
    let states = &out.definition["States"];
    let wrapper = &states["activate"];
    assert_eq!(wrapper["Type"], "Parallel");
    assert_eq!(wrapper["Comment"], "c");
    assert_eq!(wrapper["OutputPath"], "$[0]");
    assert_eq!(wrapper["End"], true);
    assert_eq!(
        wrapper["Retry"][0]["ErrorEquals"],
        json!(["RetryableError"])
    );
    assert_eq!(wrapper["Catch"][0]["Next"], "failed");
    assert!(wrapper.get("TimeoutSeconds").is_none());
    let branch = &wrapper["Branches"][0];
    assert_eq!(branch["StartAt"], "activate pre-batch");
    let inner = &branch["States"];
    assert_eq!(
        inner["activate pre-batch"]["Resource"],
        "${PreBatchFunction.Arn}"
    );
    assert_eq!(inner["activate pre-batch"]["Next"], "activate batch job");
    let job = &inner["activate batch job"];
    assert_eq!(job["Resource"], "arn:aws:states:::batch:submitJob.sync");
    assert_eq!(
        job["Parameters"],
        json!({"JobName": "heavy", "JobDefinition": "${JobHeavyDefinition}",
               "JobQueue": "${JobQueue1}",
               "Parameters": {"url.$": "$.url", "url_out.$": "$.url_out"}})
    );
    assert_eq!(job["TimeoutSeconds"], 3600);
    assert_eq!(job["Catch"][0]["ErrorEquals"], json!(["States.TaskFailed"]));
    assert_eq!(job["Catch"][0]["ResultPath"], "$.error");
    assert_eq!(job["Catch"][0]["Next"], "activate post-batch");
    assert_eq!(job["Next"], "activate post-batch");
    assert_eq!(
        job["Retry"][0]["ErrorEquals"],
        json!(["Batch.AWSBatchException"])
    );
    let post = &inner["activate post-batch"];
    assert_eq!(post["Resource"], "${PostBatchFunction.Arn}");
    assert_eq!(post["End"], true);
    assert_eq!(
        states.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["activate", "failed"]
    );
}

#[test]
fn result_and_output_paths_keep_their_meaning() {
    // ResultPath elsewhere: the wrapper puts [output] there and a Pass unwraps it.
    let out = rewrite_ok(json!({
        "StartAt": "S",
        "States": {
            "S": {"Type": "Task", "Resource": "heavy", "ResultPath": "$.out",
                  "OutputPath": "$.out", "ResultSelector": {"f.$": "$.features"}, "Next": "T"},
            "T": {"Type": "Succeed"}
        }
    }));
    let states = &out.definition["States"];
    assert_eq!(states["S"]["ResultPath"], "$.out");
    assert_eq!(states["S"]["Next"], "S unwrap");
    assert!(states["S"].get("OutputPath").is_none());
    assert_eq!(
        states["S unwrap"],
        json!({"Type": "Pass",
               "Comment": "The Batch wrapper's result [output] becomes output, at the task state's ResultPath",
               "InputPath": "$.out[0]", "ResultPath": "$.out", "OutputPath": "$.out", "Next": "T"})
    );
    assert_eq!(
        states["S"]["Branches"][0]["States"]["S post-batch"]["ResultSelector"],
        json!({"f.$": "$.features"})
    );

    // ResultPath null: the result is dropped, nothing to unwrap.
    let out = rewrite_ok(json!({
        "StartAt": "S",
        "States": {"S": {"Type": "Task", "Resource": "heavy", "ResultPath": null, "End": true}}
    }));
    let s = &out.definition["States"]["S"];
    assert_eq!(s["ResultPath"], Value::Null);
    assert!(s.get("OutputPath").is_none());
    assert_eq!(s["End"], true);

    // OutputPath alone: unwrap at $, then the OutputPath.
    let out = rewrite_ok(json!({
        "StartAt": "S",
        "States": {"S": {"Type": "Task", "Resource": "heavy", "OutputPath": "$.features", "End": true}}
    }));
    let unwrap = &out.definition["States"]["S unwrap"];
    assert_eq!(unwrap["InputPath"], "$[0]");
    assert_eq!(unwrap["ResultPath"], "$");
    assert_eq!(unwrap["OutputPath"], "$.features");
    assert_eq!(unwrap["End"], true);
}

#[test]
fn tasks_inside_parallel_and_map_are_rewritten() {
    let out = rewrite_ok(json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Next": "M", "Branches": [
                {"StartAt": "q", "States": {"q": {"Type": "Task", "Resource": "quick", "End": true}}},
                {"StartAt": "h", "States": {"h": {"Type": "Task", "Resource": "heavy", "End": true}}}
            ]},
            "M": {"Type": "Map", "End": true, "ItemProcessor": {
                "StartAt": "each", "States": {"each": {"Type": "Task", "Resource": "quick", "End": true}}}}
        }
    }));
    let d = &out.definition;
    assert_eq!(
        d["States"]["P"]["Branches"][0]["States"]["q"]["Resource"],
        "${TaskQuickFunction.Arn}"
    );
    assert_eq!(
        d["States"]["P"]["Branches"][1]["States"]["h"]["Type"],
        "Parallel"
    );
    assert_eq!(
        d["States"]["M"]["ItemProcessor"]["States"]["each"]["Resource"],
        "${TaskQuickFunction.Arn}"
    );
    assert_eq!(out.tasks.len(), 2);
}

#[test]
fn dollar_braces_in_the_definition_are_escaped_for_fn_sub() {
    let out = rewrite_ok(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": {"path_template": "${collection}/${id}"},
                         "Parameters": {"x.$": "$$.Execution.Id"}, "End": true}}
    }));
    let p = &out.definition["States"]["P"];
    assert_eq!(p["Result"]["path_template"], "${!collection}/${!id}");
    assert_eq!(p["Parameters"]["x.$"], "$$.Execution.Id");
}

#[test]
fn errors_name_the_workflow_state_and_task() {
    let definition = json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "nope", "End": true}}
    });
    let e = rewrite("wf", &definition, &targets, &batch())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "workflows/wf: state \"A\": task \"nope\": there is no such task"
    );
    let clash = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "heavy", "Next": "A pre-batch"},
            "A pre-batch": {"Type": "Succeed"}
        }
    });
    let e = rewrite("wf", &clash, &targets, &batch())
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs a state named \"A pre-batch\""), "{e}");
    let jsonata = json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "heavy", "Arguments": {}, "End": true}}
    });
    let e = rewrite("wf", &jsonata, &targets, &batch())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot carry Arguments"), "{e}");
}
