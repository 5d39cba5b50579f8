//! What the AWS backends share (feature `aws`): one clear line for an SDK error.
//!
//! Every AWS SDK crate returns the same `SdkError<E, HttpResponse>` (from
//! `aws-smithy-runtime-api`), so one function describes the errors of DynamoDB, SQS and SNS
//! alike. Three problems get a plain explanation instead of the SDK's nested text:
//!
//! - **credentials** that are missing (no provider found any) or refused by the service
//!   (`InvalidClientTokenId`, `UnrecognizedClientException`, `SignatureDoesNotMatch`,
//!   expired tokens): the line says how to provide them, and the SDK error is not chained
//!   under it, so the whole explanation is one line;
//! - **access denied**: the credentials work but lack a permission;
//! - **a missing resource**: the caller passes the service's error codes for it and what to
//!   tell the user.

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The boxed source of an [`crate::Error`].
pub type Source = Box<dyn std::error::Error + Send + Sync>;

/// Service error codes meaning the credentials were refused.
const BAD_CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "MissingAuthenticationToken",
];

/// Service error codes meaning a permission is missing.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
];

/// The text of the SDK errors raised when no credentials provider found any.
const NO_CREDENTIALS: &[&str] = &[
    "CredentialsNotLoaded",
    "no credentials",
    "failed to load credentials",
    "Failed to load credentials",
];

/// What to do about missing or refused credentials.
const CREDENTIALS_HINT: &str = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or run `aws sso login` for an SSO profile";

/// Describes `error`, raised by `context` (e.g. `"SendMessageBatch on queue <url>"`), as one
/// line, and returns the error to chain under it (none for a credentials problem, which the
/// line explains in full). `missing` lists the service's error codes for a missing resource
/// with what to say then.
pub fn describe<E>(
    context: &str,
    error: SdkError<E, HttpResponse>,
    missing: &[(&str, &str)],
) -> (String, Option<Source>)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // A body the SDK could not parse (an emulator's, a proxy's) may still name the code.
    let raw_code = error
        .raw_response()
        .and_then(|response| response.body().bytes())
        .map(String::from_utf8_lossy)
        .and_then(|body| {
            BAD_CREDENTIALS
                .iter()
                .find(|code| {
                    body.contains(&format!("<Code>{code}</Code>"))
                        || body.contains(&format!("\"{code}\""))
                })
                .copied()
        });
    let code = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .or(raw_code);
    let service_message = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::message);
    if let Some(code) = code {
        if BAD_CREDENTIALS.contains(&code) {
            let why = service_message.map_or(code.to_string(), |m| format!("{code}: {m}"));
            return (
                format!(
                    "{context}: AWS credentials are missing or invalid ({why}): {CREDENTIALS_HINT}"
                ),
                None,
            );
        }
        if DENIED.contains(&code) {
            let why = service_message.map_or(code.to_string(), |m| format!("{code}: {m}"));
            return (
                format!(
                    "{context}: access denied ({why}): the AWS credentials in use lack a permission"
                ),
                Some(Box::new(error)),
            );
        }
        if let Some((_, hint)) = missing.iter().find(|(c, _)| *c == code) {
            let detail = DisplayErrorContext(&error).to_string();
            return (
                format!("{context}: {hint}: {detail}"),
                Some(Box::new(error)),
            );
        }
    }
    let detail = DisplayErrorContext(&error).to_string();
    if code.is_none() && NO_CREDENTIALS.iter().any(|text| detail.contains(text)) {
        return (
            format!(
                "{context}: AWS credentials are missing or invalid (no credentials were found in the environment, the profile, or the instance or container metadata): {CREDENTIALS_HINT}"
            ),
            None,
        );
    }
    (format!("{context}: {detail}"), Some(Box::new(error)))
}

/// Whether a line from [`describe`] is about missing or refused credentials.
pub fn is_credentials_problem(line: &str) -> bool {
    line.contains("AWS credentials are missing or invalid")
}

/// Splits entries of `sizes` bytes, in order, into batch requests of at most `max_entries`
/// entries and `max_bytes` bytes (SQS's and SNS's batch limits). An entry larger than
/// `max_bytes` gets a request of its own (the service then refuses it).
pub(crate) fn batches(
    sizes: &[usize],
    max_entries: usize,
    max_bytes: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == max_entries || bytes + size > max_bytes) {
            ranges.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        ranges.push(start..sizes.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::{HttpResponse, SdkError, batches, describe};
    use aws_sdk_sqs::error::ErrorMetadata;
    use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;

    /// A service error with `code`, as the SDK returns it.
    fn service_error(code: &str) -> SdkError<SendMessageBatchError, HttpResponse> {
        let metadata = ErrorMetadata::builder()
            .code(code)
            .message("the service says no")
            .build();
        let raw = HttpResponse::new(403.try_into().expect("a status"), "".into());
        SdkError::service_error(SendMessageBatchError::generic(metadata), raw)
    }

    #[test]
    fn refused_credentials_are_one_line_without_a_source() {
        for code in [
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
        ] {
            let (message, source) =
                describe("SendMessageBatch on queue q", service_error(code), &[]);
            assert!(source.is_none(), "{code}");
            assert!(
                message.starts_with(&format!(
                    "SendMessageBatch on queue q: AWS credentials are missing or invalid ({code}: the service says no): set AWS_PROFILE"
                )),
                "{message}"
            );
            assert!(!message.contains('\n'));
        }
    }

    #[test]
    fn denied_missing_and_other_errors_keep_their_source() {
        let (message, source) = describe("op", service_error("AccessDenied"), &[]);
        assert!(
            message.starts_with("op: access denied (AccessDenied: the service says no)"),
            "{message}"
        );
        assert!(source.is_some());
        let missing = [("QueueDoesNotExist", "the queue does not exist")];
        let (message, source) = describe("op", service_error("QueueDoesNotExist"), &missing);
        assert!(
            message.starts_with("op: the queue does not exist: "),
            "{message}"
        );
        assert!(source.is_some());
        let (message, _) = describe("op", service_error("Throttling"), &missing);
        assert!(
            message.starts_with("op: ") && message.contains("Throttling"),
            "{message}"
        );
    }

    #[test]
    fn batches_respect_both_limits() {
        assert!(batches(&[], 10, 100).is_empty());
        assert_eq!(batches(&[1; 25], 10, 100), [0..10, 10..20, 20..25]);
        assert_eq!(batches(&[40, 40, 40, 10], 10, 100), [0..2, 2..4]);
        assert_eq!(batches(&[100, 1, 100], 10, 100), [0..1, 1..2, 2..3]);
        assert_eq!(batches(&[150, 1], 10, 100), [0..1, 1..2]);
    }
}
