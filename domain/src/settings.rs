//! The security settings in force: defaults, then what an administrator saved in Management >
//! Password Policy, then the environment, field by field, each later source winning. Every
//! instance reads the stored row again after a few seconds, so a change made on one instance
//! reaches the others without a restart; the instance that saved it uses it at once.

use std::sync::Arc;
use std::time::Duration;

use model::settings::{Overridden, SecuritySettings, SettingsView};
use model::time::Timestamp;
use model::user::Permission;
use serde_json::{Map, Value};

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent, Outcome};
use crate::authority::Actor;
use crate::error::{DomainError, DomainResult};
use crate::fresh::Fresh;
use crate::resets::ResetSettings;
use crate::store::settings as store;
use crate::store::{db::Db, sessions::SessionPolicy, users::Lockout};

/// The row in the settings table.
const SECTION: &str = "security";

/// The environment variables that fix a setting, and the field each fixes.
pub const VARIABLES: [(&str, &str); 5] = [
    ("LATCHKEY_PASSWORD_MIN_LENGTH", "min_length"),
    (
        "LATCHKEY_TEMPORARY_PASSWORD_HOURS",
        "temporary_password_hours",
    ),
    (
        "LATCHKEY_ALLOW_EMAILED_PASSWORDS",
        "allow_emailed_passwords",
    ),
    ("LATCHKEY_SESSION_IDLE_MINUTES", "session_idle_minutes"),
    ("LATCHKEY_SESSION_ABSOLUTE_HOURS", "session_absolute_hours"),
];

/// The fields the environment fixes, already parsed and checked.
#[derive(Clone, Debug, Default)]
pub struct EnvOverrides {
    values: Map<String, Value>,
    overridden: Vec<Overridden>,
}

impl EnvOverrides {
    /// Reads [`VARIABLES`] through `lookup` (the process environment, or a test's table). A
    /// value that does not parse, or that puts the defaults out of bounds, is an error naming
    /// the variable: the instance refuses to start rather than run on a setting nobody chose.
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let defaults = to_object(&SecuritySettings::default());
        let mut found = Self::default();
        for (variable, field) in VARIABLES {
            let Some(raw) = lookup(variable).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let value = parse_like(&defaults[field], raw.trim()).ok_or_else(|| {
                format!("{variable} must be {}, not {raw:?}", kind(&defaults[field]))
            })?;
            found.values.insert(field.to_owned(), value);
            found.overridden.push(Overridden {
                field: field.to_owned(),
                variable: variable.to_owned(),
            });
        }
        let merged = found.apply(SecuritySettings::default());
        if let Some(problem) = merged
            .problems()
            .into_iter()
            .find(|p| found.fixes(&p.field))
        {
            let variable = found
                .variable_for(&problem.field)
                .unwrap_or(problem.field.as_str());
            return Err(format!("{variable}: {}", problem.reason));
        }
        Ok(found)
    }

    /// Fixed values for tests: `(field, value)` pairs, as if set in the environment.
    pub fn fixed(pairs: &[(&str, Value)]) -> Self {
        let mut found = Self::default();
        for (field, value) in pairs {
            found.values.insert((*field).to_owned(), value.clone());
            found.overridden.push(Overridden {
                field: (*field).to_owned(),
                variable: "(test)".to_owned(),
            });
        }
        found
    }

    fn fixes(&self, field: &str) -> bool {
        self.values.contains_key(field)
    }

    fn variable_for(&self, field: &str) -> Option<&str> {
        self.overridden
            .iter()
            .find(|o| o.field == field)
            .map(|o| o.variable.as_str())
    }

    fn apply(&self, settings: SecuritySettings) -> SecuritySettings {
        merge(settings, &self.values)
    }
}

/// This instance's view of the settings: the environment's part, fixed at start, and the last
/// stored part read, refreshed when older than [`crate::fresh::FRESH_FOR`].
#[derive(Clone, Debug, Default)]
pub struct Live {
    env: Arc<EnvOverrides>,
    cached: Fresh<SecuritySettings>,
}

impl Live {
    pub fn new(env: EnvOverrides) -> Self {
        Self {
            env: Arc::new(env),
            cached: Fresh::default(),
        }
    }

    /// The settings in force now.
    pub async fn current(&self, db: &Db) -> DomainResult<SecuritySettings> {
        self.cached
            .get_or_load(|| async { Ok(self.env.apply(stored(db).await?)) })
            .await
    }

    fn forget(&self) {
        self.cached.forget();
    }

    pub fn view(&self, settings: SecuritySettings) -> SettingsView {
        SettingsView {
            settings,
            overridden: self.env.overridden.clone(),
        }
    }
}

/// Defaults with the stored row laid over them. A stored row that no longer parses (written by
/// a newer version, say) is logged and ignored field by field, never a reason to stop signing in.
async fn stored(db: &Db) -> DomainResult<SecuritySettings> {
    let defaults = SecuritySettings::default();
    let Some(json) = store::get(db, SECTION).await? else {
        return Ok(defaults);
    };
    match serde_json::from_str::<Map<String, Value>>(&json) {
        Ok(values) => Ok(in_bounds(merge(defaults, &values))),
        Err(e) => {
            tracing::warn!(error = %e, "stored security settings do not parse; using defaults");
            Ok(defaults)
        }
    }
}

/// Each field out of bounds (a row written by hand or by another version) back to its
/// default: a stored zero-minute session must never lock everyone out.
fn in_bounds(settings: SecuritySettings) -> SecuritySettings {
    let defaults = to_object(&SecuritySettings::default());
    let mut object = to_object(&settings);
    for problem in settings.problems() {
        let field = if problem.field.starts_with("lock_minutes") {
            "lock_minutes"
        } else {
            problem.field.as_str()
        };
        if let Some(default) = defaults.get(field) {
            object.insert(field.to_owned(), default.clone());
        }
    }
    let repaired: SecuritySettings =
        serde_json::from_value(Value::Object(object)).unwrap_or_default();
    // Two fields that only conflict with each other (idle against absolute) both go back.
    if repaired.problems().is_empty() {
        repaired
    } else {
        SecuritySettings::default()
    }
}

/// `settings` with each field of `values` that fits laid over it.
fn merge(settings: SecuritySettings, values: &Map<String, Value>) -> SecuritySettings {
    let mut object = to_object(&settings);
    for (field, value) in values {
        if object.contains_key(field) {
            let mut candidate = object.clone();
            candidate.insert(field.clone(), value.clone());
            if serde_json::from_value::<SecuritySettings>(Value::Object(candidate)).is_ok() {
                object.insert(field.clone(), value.clone());
            }
        }
    }
    serde_json::from_value(Value::Object(object)).unwrap_or(settings)
}

fn to_object(settings: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(settings) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `raw` read as the same JSON kind as `like` (the default's): a whole number or true/false.
fn parse_like(like: &Value, raw: &str) -> Option<Value> {
    match like {
        Value::Bool(_) => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(Value::Bool(true)),
            "false" | "0" | "no" => Some(Value::Bool(false)),
            _ => None,
        },
        Value::Number(_) => raw.parse::<u32>().ok().map(Value::from),
        _ => None,
    }
}

fn kind(like: &Value) -> &'static str {
    match like {
        Value::Bool(_) => "true or false",
        _ => "a whole number",
    }
}

/// Management > Password Policy: what the page shows.
pub async fn view(services: &Services, actor: &Actor) -> DomainResult<SettingsView> {
    actor.must_hold(Permission::UserManagement)?;
    let settings = services.settings.current(&services.db).await?;
    Ok(services.settings.view(settings))
}

/// Saves the page. Fields the environment fixes keep their stored value (the environment wins
/// anyway); the rest must all be in bounds, or nothing changes. One audit row names each field
/// that changed, old and new.
pub async fn save(
    services: &Services,
    actor: &Actor,
    form: &[(&str, &str)],
) -> DomainResult<SettingsView> {
    let result = try_save(services, actor, form).await;
    audit::audited(
        &services.db,
        actor,
        None,
        AuditAction::SettingsChanged,
        result,
    )
    .await
}

async fn try_save(
    services: &Services,
    actor: &Actor,
    form: &[(&str, &str)],
) -> DomainResult<SettingsView> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let before = match store::get_in(&mut tx, SECTION).await? {
        Some(json) => serde_json::from_str::<Map<String, Value>>(&json)
            .map(|values| merge(SecuritySettings::default(), &values))
            .unwrap_or_default(),
        None => SecuritySettings::default(),
    };
    // What is stored must be in bounds on its own too: the environment may stop fixing a
    // field one day, and the stored value then takes over.
    let submitted = before.clone().with_form(form.iter().copied())?;
    let effective = services.settings.env.apply(submitted.clone());
    if let Some(problem) = submitted
        .problems()
        .into_iter()
        .chain(effective.problems())
        .next()
    {
        return Err(DomainError::Invalid(problem));
    }
    let changes = differences(&before, &submitted);
    if !changes.is_empty() {
        let detail = format!("Password Policy: {}", changes.join("; "));
        put_audited(
            &mut tx,
            actor,
            SECTION,
            &submitted,
            AuditAction::SettingsChanged,
            detail,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    services.settings.forget();
    let settings = services.settings.current(&services.db).await?;
    Ok(services.settings.view(settings))
}

/// Stores one section of Management and its audit row (`detail` says what changed), in the
/// caller's transaction: the setting and the trail change together or not at all.
pub(crate) async fn put_audited(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    section: &str,
    value: &impl serde::Serialize,
    action: AuditAction,
    detail: String,
    now: Timestamp,
) -> DomainResult<()> {
    let json = serde_json::to_string(value).map_err(|e| DomainError::Internal(e.to_string()))?;
    store::put(tx, section, &json, actor.id(), now).await?;
    let event = AuditEvent {
        at: now,
        actor: Some(actor.party()),
        target: None,
        action,
        outcome: Outcome::Success,
        ip: actor.ip().map(str::to_owned),
        detail: Some(detail),
    };
    audit::record(&mut **tx, &event).await
}

/// `field old → new` for each field that differs: the detail of a `settings.changed` audit row
/// for any section of Management.
pub(crate) fn differences<T: serde::Serialize>(before: &T, after: &T) -> Vec<String> {
    let (before, after) = (to_object(before), to_object(after));
    after
        .iter()
        .filter(|(field, value)| before.get(*field) != Some(value))
        .map(|(field, value)| {
            let old = before.get(field).map(Value::to_string).unwrap_or_default();
            format!("{field} {old} → {value}")
        })
        .collect()
}

impl From<&SecuritySettings> for ResetSettings {
    fn from(settings: &SecuritySettings) -> Self {
        Self {
            temporary_password_hours: settings.temporary_password_hours,
            allow_emailed_passwords: settings.allow_emailed_passwords,
        }
    }
}

impl From<&SecuritySettings> for SessionPolicy {
    fn from(settings: &SecuritySettings) -> Self {
        Self {
            idle: minutes(settings.session_idle_minutes),
            absolute: minutes(settings.session_absolute_hours * 60),
        }
    }
}

impl From<&SecuritySettings> for Lockout {
    fn from(settings: &SecuritySettings) -> Self {
        Self {
            threshold: settings.lock_threshold,
            durations: settings.lock_minutes.map(|m| m * 60),
        }
    }
}

fn minutes(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<EnvOverrides, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvOverrides::read(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_environment_wins_over_what_is_stored() {
        let fixed = env(&[
            ("LATCHKEY_PASSWORD_MIN_LENGTH", "12"),
            ("LATCHKEY_ALLOW_EMAILED_PASSWORDS", "no"),
        ])
        .unwrap();
        let stored = SecuritySettings {
            min_length: 20,
            temporary_password_hours: 48,
            ..SecuritySettings::default()
        };
        let effective = fixed.apply(stored);
        assert_eq!(effective.min_length, 12);
        assert!(!effective.allow_emailed_passwords);
        assert_eq!(
            effective.temporary_password_hours, 48,
            "not fixed: stored wins"
        );
        assert_eq!(
            fixed.variable_for("min_length"),
            Some("LATCHKEY_PASSWORD_MIN_LENGTH")
        );
    }

    #[test]
    fn a_bad_variable_is_named() {
        let e = env(&[("LATCHKEY_PASSWORD_MIN_LENGTH", "seven")]).unwrap_err();
        assert!(
            e.contains("LATCHKEY_PASSWORD_MIN_LENGTH must be a whole number"),
            "{e}"
        );
        let e = env(&[("LATCHKEY_PASSWORD_MIN_LENGTH", "6")]).unwrap_err();
        assert!(
            e.starts_with("LATCHKEY_PASSWORD_MIN_LENGTH: Use 8 to"),
            "{e}"
        );
        let e = env(&[("LATCHKEY_ALLOW_EMAILED_PASSWORDS", "perhaps")]).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
    }

    #[test]
    fn stored_fields_that_no_longer_fit_keep_their_defaults() {
        let mut values = Map::new();
        values.insert("min_length".into(), Value::from(11));
        values.insert("lock_threshold".into(), Value::from("many"));
        values.insert("retired_setting".into(), Value::from(1));
        let merged = merge(SecuritySettings::default(), &values);
        assert_eq!(merged.min_length, 11);
        assert_eq!(merged.lock_threshold, 5);
    }

    #[test]
    fn a_stored_value_out_of_bounds_goes_back_to_its_default() {
        let mut values = Map::new();
        values.insert("session_idle_minutes".into(), Value::from(0));
        values.insert("min_length".into(), Value::from(12));
        let read = in_bounds(merge(SecuritySettings::default(), &values));
        assert_eq!(read.session_idle_minutes, 30);
        assert_eq!(read.min_length, 12);
    }

    #[test]
    fn differences_name_each_changed_field() {
        let before = SecuritySettings::default();
        let after = SecuritySettings {
            min_length: 10,
            ..before.clone()
        };
        assert_eq!(differences(&before, &after), vec!["min_length 15 → 10"]);
    }
}
