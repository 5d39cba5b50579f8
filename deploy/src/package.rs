//! The Lambda package: one `bootstrap` binary for every function, zipped, uploaded by content.
//!
//! [`build`] runs `cargo build --release --bin bootstrap` in a workspace and [`zip_bootstrap`]
//! writes the zip Lambda's `provided.al2023` runtime expects: one executable entry named
//! `bootstrap`. The zip is deterministic (fixed timestamps and permissions), so the same binary
//! gives the same bytes, the same key in the artifacts bucket, and an unchanged stack.

use crate::aws;
use crate::{Error, Result};
use aws_config::SdkConfig;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The name of the binary, and of its entry in the zip.
pub const BOOTSTRAP: &str = "bootstrap";

/// Builds the `bootstrap` binary in release mode in the cargo workspace `workspace` and returns
/// its path. Cargo's own progress goes to stderr.
///
/// # Errors
///
/// When cargo cannot be run, the build fails, or it produced no `bootstrap` executable.
pub fn build(workspace: &Path) -> Result<PathBuf> {
    let mut child = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--bin",
            BOOTSTRAP,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(workspace.join("Cargo.toml"), e))?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| Error::io(workspace, e))?;
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] == "compiler-artifact"
                && message["target"]["name"] == BOOTSTRAP
                && let Some(path) = message["executable"].as_str()
            {
                executable = Some(PathBuf::from(path));
            }
        }
    }
    let status = child.wait().map_err(|e| Error::io(workspace, e))?;
    if !status.success() {
        return Err(Error::config(
            format!(
                "cargo build --release --bin {BOOTSTRAP} in {}",
                workspace.display()
            ),
            format!("failed ({status})"),
        ));
    }
    executable.ok_or_else(|| {
        Error::config(
            format!("cargo workspace {}", workspace.display()),
            format!("it has no `{BOOTSTRAP}` binary (the cirrus-deploy crate provides it)"),
        )
    })
}

/// Writes `out`: a zip holding `binary` as the executable entry `bootstrap`.
///
/// # Errors
///
/// When the binary cannot be read or the zip written.
pub fn zip_bootstrap(binary: &Path, out: &Path) -> Result<()> {
    let bytes = std::fs::read(binary).map_err(|e| Error::io(binary, e))?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    let zip_error = |e: zip::result::ZipError| Error::io(out, std::io::Error::other(e));
    zip.start_file(BOOTSTRAP, options).map_err(zip_error)?;
    zip.write_all(&bytes).map_err(|e| Error::io(out, e))?;
    zip.finish().map_err(zip_error)?;
    Ok(())
}

/// Uploads `bytes` to `bucket` under `<stack>/<name>-<sha256>.<extension>` and returns the
/// key. The bucket is created when it does not exist; an object already there (same content,
/// same key) is not uploaded again.
///
/// # Errors
///
/// When S3 refuses (a bucket name owned by someone else, …).
pub async fn upload_bytes(
    config: &SdkConfig,
    bucket: &str,
    stack: &str,
    name: &str,
    extension: &str,
    bytes: &[u8],
) -> Result<String> {
    let digest = crate::apply::sha256_hex(bytes);
    let key = format!("{stack}/{name}-{}.{extension}", &digest[..32]);
    let client = s3_client(config);
    ensure_bucket(&client, config, bucket).await?;
    match client.head_object().bucket(bucket).key(&key).send().await {
        Ok(_) => {
            tracing::info!(bucket, key, "already uploaded");
            return Ok(key);
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => return Err(aws::error("s3:HeadObject", e)),
    }
    client
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .map_err(|e| aws::error("s3:PutObject", e))?;
    tracing::info!(bucket, key, "uploaded");
    Ok(key)
}

/// An S3 client; path-style addressing when the endpoint is not AWS's own (an emulator).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

async fn ensure_bucket(
    client: &aws_sdk_s3::Client,
    config: &SdkConfig,
    bucket: &str,
) -> Result<()> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => return Err(aws::error("s3:HeadBucket", e)),
    }
    let mut request = client.create_bucket().bucket(bucket);
    let region = config.region().map_or("us-east-1", |r| r.as_ref());
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => {
            tracing::info!(bucket, "created the artifacts bucket");
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws::error("s3:CreateBucket", e)),
    }
}
