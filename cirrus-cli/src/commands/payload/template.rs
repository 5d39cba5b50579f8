//! `cirrus payload template`: fill the variables of a payload template read from stdin.
//!
//! The template syntax (`$name`, `${name}`, `${name?default}`, `$$`) and the variable file
//! format are those of [`cirrus_core::payload::template`]. Variables come from the `VARFILE`s,
//! in the order given (a later file overrides an earlier one), then from every `-x KEY VALUE`,
//! which override all files whatever their place on the command line (a later `-x` overrides
//! an earlier one). The environment is not used.
//!
//! The rendered text is written to stdout exactly, with no newline added; it is not required
//! to be JSON.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use cirrus_core::Error;
use cirrus_core::payload::template::{TemplateVars, render};

/// Arguments of `cirrus payload template`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Template a payload (read from stdin) with '$' based substitution",
    long_about = "Template a payload (read from stdin) with '$' based substitution.\n\n\
        `$name` and `${name}` are replaced by the variable's value, `${name?default}` by its \
        value or else the default (which cannot contain `}`), and `$$` by a literal `$`. \
        Names are ASCII letters, digits and `_`, not starting with a digit.\n\n\
        Variables come from the VARFILEs (a later file overrides an earlier one), then from \
        every -x/--var, which override the files."
)]
pub struct Args {
    /// Set a template variable (repeatable; overrides the VARFILEs, a later one wins).
    #[arg(
        short = 'x',
        long = "var",
        num_args = 2,
        value_names = ["KEY", "VALUE"],
        allow_hyphen_values = true
    )]
    pub vars: Vec<String>,

    /// Files of NAME=VALUE lines (values are shell-quoted words; `#` comment lines and blank
    /// lines are skipped); a later file overrides an earlier one.
    #[arg(value_name = "VARFILE")]
    pub var_files: Vec<PathBuf>,

    /// Leave undefined variables and stray `$` in the output as written instead of failing.
    #[arg(long)]
    pub silence_templating_errors: bool,
}

/// Runs `cirrus payload template`: renders the template on stdin to stdout.
///
/// Fails (without writing anything to stdout) if a `VARFILE` cannot be read or parsed, if
/// stdin is not UTF-8, or if the template names an undefined variable or holds a malformed
/// `$` (unless `--silence-templating-errors`).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let vars = collect_vars(&args.var_files, &args.vars)?;
    tracing::debug!(
        names = ?vars.names().collect::<Vec<_>>(),
        "templating variables"
    );

    let template = read_template()?;
    let rendered = render(&template, &vars, args.silence_templating_errors)
        .map_err(with_hint)
        .context("cannot render the template read from stdin")?;
    // cirrus-geo does not check the output either; only say so when debugging.
    if tracing::enabled!(tracing::Level::DEBUG)
        && serde_json::from_str::<serde_json::Value>(&rendered).is_err()
    {
        tracing::debug!("the rendered payload is not JSON");
    }

    let mut stdout = io::stdout().lock();
    stdout
        .write_all(rendered.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write the rendered payload to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// `err` as an `anyhow` error, with a hint on how to fix an undefined variable.
fn with_hint(err: Error) -> anyhow::Error {
    match &err {
        Error::TemplateVariable { name, .. } => anyhow!(
            "{err}; set it with `-x {name} VALUE` or in a VARFILE, give it a default with \
             `${{{name}?default}}`, or pass --silence-templating-errors"
        ),
        _ => anyhow!(err),
    }
}

/// The variables from `var_files` (in order), then from the `-x` pairs (flattened).
fn collect_vars(var_files: &[PathBuf], pairs: &[String]) -> anyhow::Result<TemplateVars> {
    let mut vars = TemplateVars::new();
    for path in var_files {
        let count = load_var_file(&mut vars, path)?;
        tracing::debug!(file = %path.display(), count, "loaded variable file");
    }
    for pair in pairs.chunks(2) {
        let [name, value] = pair else {
            // clap guarantees pairs; an odd count means a caller built `Args` by hand.
            return Err(anyhow!("-x/--var needs a KEY and a VALUE"));
        };
        if let Some(old) = vars.insert(name.as_str(), value.as_str())
            && old != *value
        {
            tracing::debug!(name = %name, "-x overrides an earlier value");
        }
    }
    Ok(vars)
}

/// Reads the variable file at `path` into `vars`; returns how many assignments it held.
fn load_var_file(vars: &mut TemplateVars, path: &Path) -> anyhow::Result<usize> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read variable file {file}"))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        anyhow!(
            "variable file {file} is not valid UTF-8 (bad byte at offset {})",
            err.utf8_error().valid_up_to()
        )
    })?;
    Ok(vars.load_var_file(&text, &file)?)
}

/// Reads the whole template from stdin.
fn read_template() -> anyhow::Result<String> {
    let mut stdin = io::stdin().lock();
    if stdin.is_terminal() {
        tracing::info!("reading the payload template from stdin (end it with Ctrl-D)");
    }
    let mut bytes = Vec::new();
    stdin
        .read_to_end(&mut bytes)
        .context("cannot read the payload template from stdin")?;
    String::from_utf8(bytes).map_err(|err| {
        anyhow!(
            "the payload template on stdin is not valid UTF-8 (bad byte at offset {})",
            err.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn cli_vars_override_in_order() {
        let vars = collect_vars(&[], &strings(&["a", "1", "b", "2", "a", "3"]));
        let vars = vars.unwrap_or_default();
        assert_eq!(vars.get("a"), Some("3"));
        assert_eq!(vars.get("b"), Some("2"));
    }

    #[test]
    fn odd_pairs_are_an_error() {
        assert!(collect_vars(&[], &strings(&["a"])).is_err());
    }

    #[test]
    fn missing_var_file_names_it() {
        let path = PathBuf::from("/nonexistent/dir/vars.env");
        let message = match collect_vars(std::slice::from_ref(&path), &[]) {
            Ok(_) => String::new(),
            Err(err) => format!("{err:#}"),
        };
        assert!(message.contains("vars.env"), "{message}");
    }
}
