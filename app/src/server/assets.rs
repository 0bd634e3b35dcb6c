//! The console's static files by their built names: with `hash-files`, the build names the CSS
//! (like the WASM and JS, which Leptos finds itself) by its content hash and lists the hashes in
//! `hash.txt` beside the binary, so each version has its own address and may be cached for a
//! year.

use leptos::config::LeptosOptions;
use std::sync::OnceLock;

/// The stylesheet's content hash, when the build hashed its files and its `hash.txt` is beside
/// this binary (read once).
fn stylesheet_hash(options: &LeptosOptions) -> Option<&'static str> {
    static HASH: OnceLock<Option<String>> = OnceLock::new();
    HASH.get_or_init(|| {
        if !options.hash_files {
            return None;
        }
        let file = std::env::current_exe()
            .ok()?
            .parent()?
            .join(options.hash_file.as_ref());
        css_hash(&std::fs::read_to_string(file).ok()?)
    })
    .as_deref()
}

/// Whether the console's files have content-hashed names, and so may be cached for good: an
/// unhashed name keeps its address from one version to the next.
pub fn names_are_hashed(options: &LeptosOptions) -> bool {
    stylesheet_hash(options).is_some()
}

/// `/pkg/latchkey.<hash>.css`, or `/pkg/latchkey.css` when the build did not hash its files.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    let name = &options.output_name;
    let dir = &options.site_pkg_dir;
    match stylesheet_hash(options) {
        Some(hash) => format!("/{dir}/{name}.{hash}.css"),
        None => format!("/{dir}/{name}.css"),
    }
}

/// The `css: <hash>` line of a hash file.
fn css_hash(listing: &str) -> Option<String> {
    listing.lines().find_map(|line| {
        let (kind, hash) = line.split_once(':')?;
        (kind.trim() == "css").then(|| hash.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_css_line_is_found() {
        assert_eq!(
            css_hash("js: abc\nwasm: def\ncss: 0123\n").as_deref(),
            Some("0123")
        );
        assert_eq!(css_hash("js: abc\n"), None);
    }
}
