//! Where emails go when no SMTP server is configured: `.eml` files in a folder, so a new
//! installation can follow a reset link without a mail server, and Send test email can show
//! where its message went.

use model::time::Timestamp;
use std::path::{Path, PathBuf};

/// Writes an email as an `.eml` file in `dir` (no SMTP server configured) and returns its path.
pub(crate) async fn write_eml(dir: &Path, id: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let path = dir.join(format!("{}-{id}.eml", Timestamp::now().millis()));
    // Owner-only: the file holds a link or a password until someone deletes it.
    let written = async {
        use tokio::io::AsyncWriteExt as _;
        tokio::fs::create_dir_all(dir).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .await?;
        file.write_all(bytes).await?;
        file.flush().await
    }
    .await;
    match written {
        Ok(()) => Ok(path),
        Err(e) => Err(format!("could not write {}: {e}", path.display())),
    }
}
