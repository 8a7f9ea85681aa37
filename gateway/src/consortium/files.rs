//! Writing a consortium's files. Every secret file is created with mode 0600 (an existing
//! file is replaced, never reused with wider permissions).

use std::path::Path;

/// A file or directory could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The file or directory.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.display().to_string(),
        source,
    }
}

/// Creates directory `path` and its parents.
///
/// # Errors
/// [`FileError`] if it cannot be created.
pub fn mkdir(path: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(path).map_err(io(path))
}

/// Writes a public file (0644).
///
/// # Errors
/// [`FileError`] if it cannot be written.
pub fn write_public(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), FileError> {
    std::fs::write(path, contents).map_err(io(path))
}

/// Writes a secret file (0600, created so; an existing file is replaced).
///
/// # Errors
/// [`FileError`] if it cannot be written.
pub fn write_secret(path: &Path, contents: &str) -> Result<(), FileError> {
    use std::io::Write as _;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(contents.as_bytes()).map_err(io(path))
}
