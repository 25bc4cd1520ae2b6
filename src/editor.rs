//! Editing text in the user's own editor (`$VISUAL`, `$EDITOR`): the text goes into a private
//! temporary file, the editor runs on it in the foreground, and the file's new content comes
//! back. Used by the app (properties; its runtime hands the terminal over first) and by `config
//! edit`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tokio::process::Command;

/// Editor used when neither `$VISUAL` nor `$EDITOR` is set.
const FALLBACK_EDITOR: &str = "vi";
/// Largest edited file read back: far above any valid properties text (the form refuses
/// those over its limit on submit), low enough that a wrong file cannot fill memory.
const MAX_EDITED_BYTES: u64 = 1024 * 1024;

/// The user's editor command: `$VISUAL`, else `$EDITOR`, else `vi`. It may carry arguments
/// (`code --wait`), so it is run by the shell.
pub fn editor_command(var: impl Fn(&str) -> Option<String>) -> String {
    ["VISUAL", "EDITOR"]
        .into_iter()
        .filter_map(var)
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_EDITOR.to_string())
}

/// Runs `editor` on a file holding `text` in `dir` and returns what the file holds when the
/// editor exits successfully; otherwise a message saying why there is nothing. The file is
/// readable by the user only, and removed in every case.
pub async fn edit(text: &str, editor: &str, dir: &Path) -> Result<String, String> {
    let file = TempFile::create(dir, text)
        .map_err(|e| format!("could not create a file to edit in {}: {e}", dir.display()))?;
    // As git runs its editor: the command through the shell, the file as its last argument.
    // Its stderr is read here, not left on the terminal: what an editor (or `code --wait`)
    // prints there would stay on the app's screen once the app takes it back. The last line is
    // said if the editor fails.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(&file.path)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not run the editor `{editor}`: {e}"))?;
    let stderr = child.stderr.take().map(read_capped);
    let status = child
        .wait()
        .await
        .map_err(|e| format!("could not run the editor `{editor}`: {e}"))?;
    let said = match stderr {
        Some(reading) => reading.await.unwrap_or_default(),
        None => String::new(),
    };
    let last_line = said.lines().rev().find(|l| !l.trim().is_empty()).map(|line| {
        let line: String = line.chars().take(200).collect();
        format!(" ({})", crate::format::escape(line.trim()))
    });
    let last_line = last_line.unwrap_or_default();
    match status.code() {
        Some(0) => file.read(),
        // The shell's answer when it cannot find or run the command.
        Some(127) => Err(format!(
            "could not start the editor `{editor}`: command not found{last_line}"
        )),
        Some(code) => Err(format!(
            "the editor `{editor}` exited with status {code}{last_line}"
        )),
        None => Err(format!(
            "the editor `{editor}` was stopped by a signal{last_line}"
        )),
    }
}

/// Reads `stderr` to its end in a task, keeping its last [`MAX_EDITOR_STDERR`] bytes (where the
/// last word is; the rest is read and dropped, so a chatty editor never blocks on a full pipe).
fn read_capped(mut stderr: tokio::process::ChildStderr) -> tokio::task::JoinHandle<String> {
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buffer[..n]);
            let excess = kept.len().saturating_sub(MAX_EDITOR_STDERR);
            kept.drain(..excess);
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// What is kept of an editor's stderr.
const MAX_EDITOR_STDERR: usize = 4096;

/// A temporary file that only its owner can read, removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn create(dir: &Path, text: &str) -> std::io::Result<TempFile> {
        let path = dir.join(format!("koobackup-properties-{}.json", uuid::Uuid::new_v4()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let temp = TempFile { path };
        file.write_all(text.as_bytes())?;
        Ok(temp)
    }

    fn read(&self) -> Result<String, String> {
        let size = std::fs::metadata(&self.path)
            .map_err(|e| format!("could not read the edited file: {e}"))?
            .len();
        if size > MAX_EDITED_BYTES {
            return Err(format!(
                "the edited file is {size} bytes, too large for properties"
            ));
        }
        let bytes = std::fs::read(&self.path).map_err(|e| format!("could not read the edited file: {e}"))?;
        String::from_utf8(bytes).map_err(|_| "the edited file is not UTF-8 text".to_string())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Gone already (an editor that replaced it and failed) is fine too.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn visual_wins_over_editor_and_vi_is_the_fallback() {
        let vars = |visual: Option<&str>, editor: Option<&str>| {
            let (visual, editor) = (visual.map(String::from), editor.map(String::from));
            move |name: &str| match name {
                "VISUAL" => visual.clone(),
                "EDITOR" => editor.clone(),
                _ => None,
            }
        };
        assert_eq!(editor_command(vars(Some("nvim"), Some("nano"))), "nvim");
        assert_eq!(editor_command(vars(None, Some("code --wait"))), "code --wait");
        assert_eq!(editor_command(vars(Some(" "), Some("nano"))), "nano");
        assert_eq!(editor_command(vars(None, None)), "vi");
    }

    #[tokio::test]
    async fn the_editor_gets_a_private_prefilled_file_and_its_changes_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        // Records the mode and content it was given, then writes new content.
        let editor = format!(
            "sh -c 'stat -c %a \"$1\" > {seen}; cat \"$1\" >> {seen}; printf \"{{\\\"a\\\":1}}\" > \"$1\"' --",
            seen = seen.display()
        );
        let edited = edit("{\n  \"old\": true\n}\n", &editor, dir.path()).await;
        assert_eq!(edited.as_deref(), Ok(r#"{"a":1}"#));
        let seen = std::fs::read_to_string(&seen).unwrap();
        assert_eq!(seen, "600\n{\n  \"old\": true\n}\n");
        assert_eq!(leftovers(dir.path()), 1, "only the test's own file is left");
    }

    #[tokio::test]
    async fn a_failing_or_missing_editor_changes_nothing_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let failed = edit("{}", "false", dir.path()).await.unwrap_err();
        assert_eq!(failed, "the editor `false` exited with status 1");
        let missing = edit("{}", "no-such-editor-here", dir.path()).await.unwrap_err();
        assert!(missing.contains("command not found"), "{missing}");
        assert_eq!(leftovers(dir.path()), 0, "the file is removed every time");
    }

    #[tokio::test]
    async fn the_editors_stderr_is_kept_off_the_screen_and_its_last_line_said_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        // A chatty editor: more than a pipe holds, then a last word with an escape sequence,
        // and a failure.
        let script = dir.path().join("chatty-editor");
        std::fs::write(
            &script,
            "head -c 200000 /dev/zero | tr '\\0' x >&2\necho >&2\nprintf 'cannot open \\033[2J display\\n' >&2\nexit 3\n",
        )
        .unwrap();
        let chatty = format!("sh {}", script.display());
        let chatty = chatty.as_str();
        let failed = edit("{}", chatty, dir.path()).await.unwrap_err();
        assert!(failed.starts_with("the editor "), "{failed}");
        assert!(
            failed.ends_with("exited with status 3 (cannot open \\x1b[2J display)"),
            "{failed}"
        );
        let quiet_success = "sh -c 'echo warning: deprecated >&2' sh";
        assert_eq!(edit("{}", quiet_success, dir.path()).await.unwrap(), "{}");
    }

    #[tokio::test]
    async fn an_edited_file_that_is_not_text_or_too_big_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let binary = edit("{}", "sh -c 'printf \"\\377\\376\" > \"$1\"' --", dir.path()).await;
        assert_eq!(binary.unwrap_err(), "the edited file is not UTF-8 text");
        let huge = edit("{}", "sh -c 'head -c 2000000 /dev/zero > \"$1\"' --", dir.path()).await;
        assert!(huge.unwrap_err().contains("2000000 bytes"));
        assert_eq!(leftovers(dir.path()), 0);
    }
}
