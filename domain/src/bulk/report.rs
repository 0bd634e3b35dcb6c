//! The outcome report: per-user outcomes, on the job's page and as a CSV download.

use model::bulk::{ItemOutcome, SkipReason};
use model::user::Permission;

use crate::authority::Actor;
use crate::db::Db;
use crate::error::{DomainError, DomainResult};
use crate::store;

/// One line of the outcome report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemReport {
    /// The item's place in the job: the cursor of the next page.
    pub seq: i64,
    pub username: String,
    pub outcome: Option<ItemOutcome>,
    pub reason: Option<String>,
    pub email_state: Option<String>,
    pub email_error: Option<String>,
}

impl ItemReport {
    /// The email's delivery in one phrase ("sent", "failed: 550 No such user"), as the job's
    /// page and its CSV both show it. The error is dropped once a retry went through.
    pub fn email_note(&self) -> Option<String> {
        let state = self.email_state.as_ref()?;
        Some(match &self.email_error {
            Some(error) if state != "sent" => format!("{state}: {error}"),
            _ => state.clone(),
        })
    }
}

/// The per-user outcomes in order, up to `limit` after the item `after_seq` (0 for the first).
pub async fn items(
    db: &Db,
    actor: &Actor,
    id: &str,
    after_seq: i64,
    limit: i64,
) -> DomainResult<Vec<ItemReport>> {
    actor.must_hold(Permission::UserManagement)?;
    let rows = store::bulk::items(db, id, after_seq, limit).await?;
    Ok(rows
        .into_iter()
        .map(|row| ItemReport {
            seq: row.seq,
            username: row.username,
            outcome: row.outcome.and_then(|o| o.parse().ok()),
            reason: row.reason.map(|r| {
                r.parse::<SkipReason>()
                    .map_or(r, |reason| reason.label().to_owned())
            }),
            email_state: row.email_state,
            email_error: row.email_error,
        })
        .collect())
}

/// The outcome report as CSV (RFC 4180), for the download.
pub async fn report_csv(db: &Db, actor: &Actor, id: &str) -> DomainResult<String> {
    let mut csv = writer(Vec::new());
    let csv_error = |e: csv::Error| DomainError::Internal(format!("writing the report: {e}"));
    csv.write_record(["username", "outcome", "reason", "email"])
        .map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = items(db, actor, id, after, 5000).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
        for item in page {
            let email = item.email_note().unwrap_or_default();
            let fields = [
                item.username.as_str(),
                item.outcome.map_or("pending", ItemOutcome::label),
                item.reason.as_deref().unwrap_or(""),
                email.as_str(),
            ];
            csv.write_record(fields.map(defuse)).map_err(csv_error)?;
        }
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| DomainError::Internal(format!("writing the report: {e}")))?;
    String::from_utf8(bytes).map_err(|e| DomainError::Internal(e.to_string()))
}

/// RFC 4180: CRLF line ends, quotes only where a field needs them.
fn writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out)
}

/// The characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list:
/// `=`, `+`, `-`, `@`, and a leading TAB or carriage return, which some strip before parsing).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Defuses a leading formula character, so a spreadsheet shows the cell instead of running it.
/// (Quoting is the CSV writer's.)
pub(crate) fn defuse(value: &str) -> String {
    if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{defuse, writer};

    fn csv_field(value: &str) -> String {
        let mut csv = writer(Vec::new());
        csv.write_record([defuse(value)]).unwrap();
        let line = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        line.strip_suffix("\r\n").unwrap().to_owned()
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("ada"), "ada");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK()"), "'=HYPERLINK()");
        for start in ["+", "-", "@"] {
            assert_eq!(csv_field(&format!("{start}1")), format!("'{start}1"));
        }
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
    }
}
