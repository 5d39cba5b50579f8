//! The rendered template: names, schemas, environment, where tasks run, errors.

use super::*;
use serde_json::json;

fn input(config: serde_json::Value, workflows: Vec<(&str, Value)>) -> StackInput {
    StackInput {
        project: "demo".into(),
        stage: "dev".into(),
        config: DeployConfig::from_deserializer(config).expect("a valid [deploy]"),
        workflows: workflows
            .into_iter()
            .map(|(name, definition)| Workflow {
                name: name.into(),
                definition,
            })
            .collect(),
        tasks: BTreeMap::from([
            ("copy-assets".to_string(), TaskSource::Builtin),
            ("aviris-activate".to_string(), TaskSource::Builtin),
            ("my-script".to_string(), TaskSource::Project),
        ]),
    }
}

fn one_task(task: &str) -> Value {
    json!({"StartAt": "run", "States": {"run": {"Type": "Task", "Resource": task, "End": true}}})
}

fn fargate() -> Value {
    json!({"image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus:1", "vcpus": 1, "memory": 2048,
           "subnets": ["subnet-0123456789abcdef0"], "security_groups": ["sg-0123456789abcdef0"]})
}

fn resources(template: &Value) -> &serde_json::Map<String, Value> {
    template["Resources"].as_object().expect("Resources")
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn the_state_table_has_cirrus_geo_s_schema() {
    let template = render(&input(json!({}), vec![])).unwrap();
    let table = &template["Resources"]["StateTable"]["Properties"];
    assert_eq!(table["TableName"], "demo-dev-state");
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "collections_workflow", "KeyType": "HASH"},
               {"AttributeName": "itemids", "KeyType": "RANGE"}])
    );
    for (i, index) in ["state_updated", "updated"].into_iter().enumerate() {
        assert_eq!(
            table["GlobalSecondaryIndexes"][i],
            json!({"IndexName": index,
                   "KeySchema": [{"AttributeName": "collections_workflow", "KeyType": "HASH"},
                                 {"AttributeName": index, "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "ALL"}})
        );
    }
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    let timeline = &template["Resources"]["TimelineTable"]["Properties"];
    assert_eq!(timeline["TableName"], "demo-dev-state-timeline");
    assert_eq!(
        template["Resources"]["StateTable"]["DeletionPolicy"],
        "Retain"
    );
}

#[test]
fn queues_topics_buckets_and_the_rule() {
    let template = render(&input(json!({"tmp_expiry_days": 3}), vec![])).unwrap();
    let r = &template["Resources"];
    assert_eq!(
        r["ProcessQueue"]["Properties"]["QueueName"],
        "demo-dev-process"
    );
    assert_eq!(r["ProcessQueue"]["Properties"]["VisibilityTimeout"], 180);
    assert_eq!(
        r["ProcessQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"],
        5
    );
    assert_eq!(
        r["ProcessDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"],
        1_209_600
    );
    assert_eq!(
        r["UpdateStateDeadLetterQueue"]["Properties"]["QueueName"],
        "demo-dev-update-state-dlq"
    );
    assert_eq!(
        r["PublishTopic"]["Properties"]["TopicName"],
        "demo-dev-publish"
    );
    assert_eq!(
        r["WorkflowEventTopic"]["Properties"]["TopicName"],
        "demo-dev-workflow-event"
    );
    let rule = &r["PayloadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["Prefix"], "cirrus/tmp/");
    assert_eq!(rule["ExpirationInDays"], 3);
    assert_eq!(r["DataBucket"]["Properties"]["BucketName"], "demo-dev-data");
    let pattern = &r["StatusChangeRule"]["Properties"]["EventPattern"];
    assert_eq!(pattern["source"], json!(["aws.states"]));
    assert_eq!(
        pattern["detail-type"],
        json!(["Step Functions Execution Status Change"])
    );
    assert_eq!(
        pattern["detail"]["status"],
        json!(["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"])
    );
    assert_eq!(
        pattern["detail"]["stateMachineArn"][0]["prefix"]["Fn::Sub"],
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:demo-dev-"
    );
    let target = &r["StatusChangeRule"]["Properties"]["Targets"][0];
    assert_eq!(
        target["Arn"],
        json!({"Fn::GetAtt": ["UpdateStateFunction", "Arn"]})
    );
    assert_eq!(target["RetryPolicy"]["MaximumEventAgeInSeconds"], 1800);
    assert_eq!(
        target["DeadLetterConfig"]["Arn"],
        json!({"Fn::GetAtt": ["UpdateStateDeadLetterQueue", "Arn"]})
    );
    assert_eq!(
        r["UpdateStateInvokePermission"]["Properties"]["Principal"],
        "events.amazonaws.com"
    );
    let mapping = &r["ProcessEventSourceMapping"]["Properties"];
    assert_eq!(mapping["BatchSize"], 10);
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
}

#[test]
fn functions_share_one_package_and_the_contract_environment() {
    let template = render(&input(
        json!({"architecture": "x86_64", "log_level": "debug"}),
        vec![("copy", one_task("copy-assets"))],
    ))
    .unwrap();
    let functions = of_type(&template, "AWS::Lambda::Function");
    let names: Vec<&str> = functions
        .iter()
        .map(|(_, f)| f["Properties"]["FunctionName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "demo-dev-process",
            "demo-dev-update-state",
            "demo-dev-task-copy-assets"
        ]
    );
    for (_, function) in &functions {
        let p = &function["Properties"];
        assert_eq!(p["Runtime"], "provided.al2023");
        assert_eq!(p["Handler"], "bootstrap");
        assert_eq!(p["Architectures"], json!(["x86_64"]));
        assert_eq!(
            p["Code"],
            json!({"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}})
        );
        let env = &p["Environment"]["Variables"];
        assert_eq!(env["CIRRUS_PREFIX"], "demo-dev-");
        assert_eq!(env["CIRRUS_LOG_LEVEL"], "debug");
        assert_eq!(env["CIRRUS_STATE_DB"], json!({"Ref": "StateTable"}));
        assert_eq!(env["CIRRUS_TIMELINE_DB"], json!({"Ref": "TimelineTable"}));
        assert_eq!(
            env["CIRRUS_PROCESS_QUEUE_URL"],
            json!({"Ref": "ProcessQueue"})
        );
        assert_eq!(env["CIRRUS_PAYLOAD_ROOT_PREFIX"], "cirrus");
        for variable in [
            "CIRRUS_PAYLOAD_BUCKET",
            "CIRRUS_DATA_BUCKET",
            "CIRRUS_PUBLISH_TOPIC_ARN",
            "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN",
            "CIRRUS_BASE_WORKFLOW_ARN",
        ] {
            assert!(env.get(variable).is_some(), "{variable}");
        }
    }
    let handlers: Vec<&str> = functions
        .iter()
        .map(|(_, f)| {
            f["Properties"]["Environment"]["Variables"]["CIRRUS_FUNCTION"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(handlers, ["process", "update-state", "task:copy-assets"]);
    // No Batch task: no pre-batch / post-batch.
    assert!(template["Resources"].get("PreBatchFunction").is_none());
    assert_eq!(
        template["Resources"]["ProcessLogGroup"]["Properties"]["LogGroupName"],
        "/aws/lambda/demo-dev-process"
    );
}

#[test]
fn ssm_parameters_point_to_the_variables() {
    let template = render(&input(json!({}), vec![])).unwrap();
    let r = &template["Resources"];
    assert_eq!(
        r["DeploymentParameter"]["Properties"]["Name"],
        "/cirrus/deployments/demo-dev"
    );
    let pointer: Value = serde_json::from_str(
        r["DeploymentParameter"]["Properties"]["Value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pointer,
        json!({"type": "parameter_store", "value": "/deployment/demo-dev/"})
    );
    assert_eq!(
        r["VariableCirrusStateDb"]["Properties"]["Name"],
        "/deployment/demo-dev/CIRRUS_STATE_DB"
    );
    assert_eq!(
        r["VariableCirrusStateDb"]["Properties"]["Value"],
        json!({"Ref": "StateTable"})
    );
    assert_eq!(of_type(&template, "AWS::SSM::Parameter").len(), 12);
}

#[test]
fn batch_tasks_get_a_job_definition_a_queue_and_the_wrapper() {
    let stack = build(&input(
        json!({"tasks": {"aviris-activate": {"batch": fargate(), "env": {"GDAL_CACHEMAX": "512"}}}}),
        vec![("activate", one_task("aviris-activate"))],
    ))
    .unwrap();
    let r = &stack.template["Resources"];
    let job = &r["JobAvirisActivateDefinition"]["Properties"];
    assert_eq!(job["JobDefinitionName"], "demo-dev-aviris-activate");
    assert_eq!(job["PlatformCapabilities"], json!(["FARGATE"]));
    assert_eq!(
        job["ContainerProperties"]["Command"],
        json!([
            "cirrus",
            "task",
            "run",
            "aviris-activate",
            "Ref::url",
            "--output",
            "Ref::url_out"
        ])
    );
    let env = job["ContainerProperties"]["Environment"]
        .as_array()
        .unwrap();
    assert!(env.contains(&json!({"Name": "GDAL_CACHEMAX", "Value": "512"})));
    assert!(env.contains(&json!({"Name": "CIRRUS_PREFIX", "Value": "demo-dev-"})));
    assert_eq!(
        r["ComputeEnvironment1"]["Properties"]["ComputeResources"]["Subnets"],
        json!(["subnet-0123456789abcdef0"])
    );
    assert!(r.get("PreBatchFunction").is_some() && r.get("PostBatchFunction").is_some());
    assert!(r.get("TaskAvirisActivateFunction").is_none());
    let machine = &stack.state_machines[0];
    assert_eq!(machine.name, "demo-dev-activate");
    let definition: Value = serde_json::from_str(&machine.definition).unwrap();
    let job_state = &definition["States"]["run"]["Branches"][0]["States"]["run batch job"];
    assert_eq!(
        job_state["Parameters"]["JobDefinition"],
        "${JobAvirisActivateDefinition}"
    );
    assert_eq!(job_state["Parameters"]["JobQueue"], "${JobQueue1}");
    // The definition resolves with the stack outputs' values.
    let outputs = stack.template["Outputs"].as_object().unwrap();
    let values: BTreeMap<String, String> = outputs
        .keys()
        .map(|k| (k.clone(), format!("<{k}>")))
        .collect();
    let resolved = sub::resolve(&machine.definition, &values).unwrap();
    assert!(resolved.contains("\"<PreBatchFunctionArn>\""), "{resolved}");
    // The state machine may invoke pre/post-batch and submit the job.
    let role = &r["StateMachineActivateRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let text = role.to_string();
    assert!(
        text.contains("batch:SubmitJob") && text.contains("PreBatchFunction"),
        "{text}"
    );
}

#[test]
fn an_existing_queue_is_used_as_is() {
    let stack = build(&input(
        json!({"tasks": {"my-script": {"batch": {"image": "img", "vcpus": 2, "memory": 4096,
            "job_queue": "arn:aws:batch:us-west-2:123456789012:job-queue/big"}}}}),
        vec![("script", one_task("my-script"))],
    ))
    .unwrap();
    assert!(stack.template["Resources"].get("JobQueue1").is_none());
    assert!(
        stack.template["Resources"]
            .get("BatchExecutionRole")
            .is_none()
    );
    assert!(
        stack.state_machines[0]
            .definition
            .contains("\"JobQueue\":\"arn:aws:batch:us-west-2:123456789012:job-queue/big\"")
    );
    assert_eq!(
        stack.template["Resources"]["JobMyScriptDefinition"]["Properties"]["PlatformCapabilities"],
        json!(["EC2"])
    );
}

#[test]
fn where_tasks_may_run() {
    let error = |config: Value, task: &str| {
        build(&input(config, vec![("wf", one_task(task))]))
            .unwrap_err()
            .to_string()
    };
    let e = error(json!({}), "my-script");
    assert!(
        e.starts_with("workflows/wf: state \"run\": task \"my-script\": [tasks.my-script] runs a command; say where it runs on AWS with [deploy.tasks.my-script] batch"),
        "{e}"
    );
    let e = error(json!({}), "aviris-activate");
    assert!(
        e.contains("task \"aviris-activate\": the built-in task needs GDAL"),
        "{e}"
    );
    let e = error(
        json!({"tasks": {"aviris-activate": {"lambda": {}}}}),
        "aviris-activate",
    );
    assert!(
        e.contains("says lambda, but the Lambda package runs only"),
        "{e}"
    );
    let e = error(json!({}), "missing");
    assert_eq!(
        e,
        "workflows/wf: state \"run\": task \"missing\": there is no such task (neither a built-in task nor a [tasks.NAME] of cirrus.toml)"
    );
    let e = error(json!({"tasks": {"ghost": {"lambda": {}}}}), "copy-assets");
    assert!(
        e.starts_with("deploy.tasks.ghost: there is no task \"ghost\""),
        "{e}"
    );
    let e = error(json!({"lambda_timeout": 901}), "copy-assets");
    assert!(e.starts_with("deploy.lambda_timeout: 901 s"), "{e}");
    // Built-in and marked lambda: fine, with its own size.
    let stack = build(&input(
        json!({"tasks": {"copy-assets": {"lambda": {"memory": 512, "timeout": 60}}}}),
        vec![("wf", one_task("copy-assets"))],
    ))
    .unwrap();
    let f = &stack.template["Resources"]["TaskCopyAssetsFunction"]["Properties"];
    assert_eq!(
        (f["MemorySize"].clone(), f["Timeout"].clone()),
        (json!(512), json!(60))
    );
}

#[test]
fn names_come_from_deploy_name_and_stage() {
    let mut custom = input(
        json!({"name": "hsi"}),
        vec![("wf", one_task("copy-assets"))],
    );
    custom.stage = "prod".into();
    let stack = build(&custom).unwrap();
    assert_eq!(stack.names.prefix(), "hsi-prod");
    assert_eq!(stack.state_machines[0].name, "hsi-prod-wf");
    let mut bad = input(json!({}), vec![]);
    bad.project = "My Project".into();
    let e = build(&bad).unwrap_err().to_string();
    assert!(e.starts_with("the project name ([deploy] name"), "{e}");
}

#[test]
fn rendering_is_deterministic() {
    let make = || {
        render(&input(
            json!({"tasks": {"aviris-activate": {"batch": fargate()}}}),
            vec![
                ("a", one_task("aviris-activate")),
                ("b", one_task("copy-assets")),
            ],
        ))
        .unwrap()
    };
    assert_eq!(make().to_string(), make().to_string());
}
