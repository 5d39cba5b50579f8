//! The fenced code blocks of a file of `docs/`, for the tests that check the docs' examples
//! (`docs`, `feed_docs`).

use std::path::{Path, PathBuf};

/// One fenced code block.
pub struct Block {
    /// The text after the opening fence (`console`, `json payload id=…`, `toml file=…`).
    pub info: String,
    /// The lines inside the fences, each ending with `\n`.
    pub body: String,
    /// The line of the opening fence, 1-based.
    pub line: usize,
}

impl Block {
    /// A `console` block's commands (the text after `$ `), each with the lines that follow
    /// it until the next command, each ending with `\n`.
    pub fn commands(&self) -> Vec<(String, String)> {
        let mut commands: Vec<(String, String)> = Vec::new();
        for line in self.body.lines() {
            match line.strip_prefix("$ ") {
                Some(command) => commands.push((command.to_string(), String::new())),
                None => {
                    let (_, expected) = commands
                        .last_mut()
                        .expect("a console block starts with `$ `");
                    expected.push_str(line);
                    expected.push('\n');
                }
            }
        }
        commands
    }
}

/// The repository's `docs/` folder.
pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

/// The fenced code blocks of `docs/<file>`, in order.
pub fn blocks(file: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(docs_dir().join(file)).expect("docs file readable");
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                current = Some(Block {
                    info: info.trim().to_string(),
                    body: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some(block), None) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}
