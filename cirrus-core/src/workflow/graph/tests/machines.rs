//! Builders of state machines by hand, with the model's types.

use crate::workflow::choice::{Comparison, Condition, Operand, Test};
use crate::workflow::model::{
    Amount, Catcher, ChoiceRule, ChoiceState, FailState, IoPaths, MapState, ParallelState,
    PassState, ResultHandling, State, StateKind, StateMachine, SucceedState, TaskState, Transition,
    WaitFor, WaitState,
};
use crate::workflow::path::Path;
use serde_json::json;
use std::sync::Arc;

fn io() -> IoPaths {
    IoPaths {
        input_path: Some(Path::root()),
        output_path: Some(Path::root()),
    }
}

fn result(catch: Vec<Catcher>) -> ResultHandling {
    ResultHandling {
        result_selector: None,
        result_path: None,
        retry: Vec::new(),
        catch,
    }
}

fn to(next: Option<&str>) -> Transition {
    next.map_or(Transition::End, |next| Transition::Next(next.into()))
}

pub(super) fn pass(next: Option<&str>) -> StateKind {
    StateKind::Pass(PassState {
        io: io(),
        parameters: None,
        result: None,
        result_path: None,
        transition: to(next),
    })
}

pub(super) fn task(next: Option<&str>, catch: Vec<Catcher>) -> StateKind {
    StateKind::Task(TaskState {
        io: io(),
        resource: "echo".into(),
        parameters: None,
        result: result(catch),
        timeout: None,
        heartbeat: None,
        credentials: None,
        transition: to(next),
    })
}

pub(super) fn wait(next: Option<&str>) -> StateKind {
    StateKind::Wait(WaitState {
        io: io(),
        wait: WaitFor::Seconds(Amount::Literal(1)),
        transition: to(next),
    })
}

pub(super) fn choice(rules: Vec<(Condition, &str)>, default: Option<&str>) -> StateKind {
    StateKind::Choice(ChoiceState {
        io: io(),
        choices: rules
            .into_iter()
            .map(|(condition, next)| ChoiceRule {
                condition,
                next: next.into(),
            })
            .collect(),
        default: default.map(Into::into),
    })
}

pub(super) fn succeed() -> StateKind {
    StateKind::Succeed(SucceedState { io: io() })
}

pub(super) fn fail() -> StateKind {
    StateKind::Fail(FailState {
        error: None,
        cause: None,
    })
}

pub(super) fn parallel(branches: Vec<StateMachine>, next: Option<&str>) -> StateKind {
    StateKind::Parallel(ParallelState {
        io: io(),
        branches: branches.into_iter().map(Arc::new).collect(),
        parameters: None,
        result: result(Vec::new()),
        transition: to(next),
    })
}

pub(super) fn map(processor: StateMachine, next: Option<&str>, catch: Vec<Catcher>) -> StateKind {
    StateKind::Map(MapState {
        io: io(),
        processor: Arc::new(processor),
        items_path: Path::root(),
        item_selector: None,
        max_concurrency: None,
        result: result(catch),
        transition: to(next),
    })
}

pub(super) fn catch(errors: &[&str], next: &str) -> Catcher {
    Catcher {
        error_equals: errors.iter().map(|error| (*error).into()).collect(),
        next: next.into(),
        result_path: None,
    }
}

pub(super) fn machine(start_at: &str, states: Vec<(&str, StateKind)>) -> StateMachine {
    StateMachine {
        comment: None,
        start_at: start_at.into(),
        states: states
            .into_iter()
            .map(|(name, kind)| {
                let state = State {
                    comment: None,
                    kind,
                    uses_context: false,
                };
                (name.to_owned(), state)
            })
            .collect(),
        timeout_seconds: None,
        version: None,
    }
}

pub(super) fn condition(variable: &str, test: Test) -> Condition {
    Condition::Test {
        variable: Path::parse(variable).expect("a valid path in the test"),
        test,
    }
}

pub(super) fn string_equals(variable: &str, value: &str) -> Condition {
    condition(
        variable,
        Test::Compare {
            op: Comparison::StringEquals,
            operand: Operand::Literal(json!(value)),
        },
    )
}
