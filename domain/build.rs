//! Builds the crate again when a migration is added: `sqlx::migrate!` embeds the
//! `migrations/` directories when it is compiled, and a new file there is no change to any
//! source Cargo watches, so an incremental build went on migrating to the schema of the
//! build before (seen: a release built after a migration was added ran without it).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
