//! Many values sent as one bound parameter: a JSON array that the database unpacks.
//!
//! SQLite finds a numbered parameter by walking the statement's list of them, when it parses
//! the statement and again each time sqlx binds a value, so a statement of n parameters costs
//! n² steps: a Bulk Change batch (500 users, a few thousand values) spent most of its time
//! there. One JSON array is one parameter on both engines, and the statement's text no longer
//! depends on how many values it carries, so it is prepared once and then reused.

use model::user::UserId;
use serde_json::Value;

use crate::store::db::Engine;

/// The strings packed in `$mark` by [`strings`], as a subquery: `id IN {set}`.
pub(crate) fn set(engine: Engine, mark: usize) -> String {
    match engine {
        Engine::Sqlite => format!("(SELECT value FROM json_each(${mark}))"),
        Engine::Postgres => format!("(SELECT json_array_elements_text(${mark}::json))"),
    }
}

/// The value to bind for a [`set`].
pub(crate) fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    Value::Array(
        values
            .into_iter()
            .map(|v| Value::String(v.to_owned()))
            .collect(),
    )
    .to_string()
}

/// The value to bind for a [`set`] of users.
pub(crate) fn user_ids(users: &[UserId]) -> String {
    strings(users.iter().map(|u| u.0.as_str()))
}

/// A column of packed [`rows`], named as the statement reads it.
#[derive(Clone, Copy)]
pub(crate) enum Column {
    Text(&'static str),
    Int(&'static str),
}

/// The rows packed in `$mark` by [`Rows`], as a `SELECT` of `columns` in the rows' order:
/// `INSERT INTO t (a, b) {rows}`, or `FROM ({rows}) AS v` to join them.
pub(crate) fn rows(engine: Engine, mark: usize, columns: &[Column]) -> String {
    let values: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| match (engine, column) {
            (Engine::Sqlite, Column::Text(name) | Column::Int(name)) => {
                format!("packed.value ->> {i} AS {name}")
            }
            (Engine::Postgres, Column::Text(name)) => format!("packed.value ->> {i} AS {name}"),
            (Engine::Postgres, Column::Int(name)) => {
                format!("(packed.value ->> {i})::bigint AS {name}")
            }
        })
        .collect();
    let source = match engine {
        Engine::Sqlite => format!("json_each(${mark}) AS packed ORDER BY packed.key"),
        // `jsonb`, parsed once: each `->>` on a `json` row parses the row's text again, which
        // was a sixth of PostgreSQL's time in a Bulk Change batch (seven columns an email).
        Engine::Postgres => format!(
            "jsonb_array_elements(${mark}::jsonb) WITH ORDINALITY AS packed(value, n) \
             ORDER BY packed.n"
        ),
    };
    format!("SELECT {} FROM {source}", values.join(", "))
}

/// The value to bind for [`rows`]: one JSON array a row, its values in the columns' order.
#[derive(Default)]
pub(crate) struct Rows(Vec<Value>);

impl Rows {
    pub(crate) fn push(&mut self, row: Value) {
        self.0.push(row);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_json(self) -> String {
        Value::Array(self.0).to_string()
    }
}
