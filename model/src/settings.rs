//! Management > Password Policy: the security settings an organisation sets once. Stored in
//! the database, overridden field by field by the environment; both sides read them with the
//! same bounds, so the page refuses in the browser what the server would refuse.

use serde::{Deserialize, Serialize};

use crate::fields::FieldError;
use crate::policy::{MAX_LENGTH_CEILING, MAX_LENGTH_FLOOR, MIN_LENGTH_FLOOR, PasswordPolicy};
use crate::reset::{LINK_MINUTES_MAX, LINK_MINUTES_MIN};

/// Every setting on the page. Flat, so one field name means the same in the form, the stored
/// JSON, the environment table and the audit detail. A field missing from what is stored takes
/// its default, so adding a setting needs no migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecuritySettings {
    pub min_length: usize,
    pub max_length: usize,
    /// 0 turns composition rules off (the default); 2 to 4 asks for that many classes.
    pub min_classes: usize,
    /// How many earlier passwords a person may not use again; 0 turns the rule off.
    pub password_history: usize,
    /// The lifetime a Send Password Change Link starts with, and that Forgot your password uses.
    pub link_minutes: i64,
    pub temporary_password_hours: i64,
    /// Failed sign-ins in a row that lock an account.
    pub lock_threshold: i64,
    /// The first lock, the second in a row, and every one after.
    pub lock_minutes: [i64; 3],
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Generate New Password and the other emailed passwords; a link is stronger.
    pub allow_emailed_passwords: bool,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        let policy = PasswordPolicy::default();
        Self {
            min_length: policy.min_length,
            max_length: policy.max_length,
            min_classes: policy.min_classes,
            password_history: 0,
            link_minutes: crate::reset::LINK_MINUTES_DEFAULT,
            temporary_password_hours: 24,
            lock_threshold: 5,
            lock_minutes: [15, 60, 240],
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            allow_emailed_passwords: true,
        }
    }
}

/// The most earlier passwords remembered per person.
pub const HISTORY_MAX: usize = 24;

impl SecuritySettings {
    pub fn policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.min_length,
            max_length: self.max_length,
            min_classes: self.min_classes,
        }
    }

    /// Every field outside its bounds, with a sentence saying which bounds.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut found = Vec::new();
        let int = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        bound(
            &mut found,
            "min_length",
            int(self.min_length),
            int(MIN_LENGTH_FLOOR),
            int(self.max_length.min(MAX_LENGTH_CEILING)),
            "characters",
        );
        bound(
            &mut found,
            "max_length",
            int(self.max_length),
            int(MAX_LENGTH_FLOOR),
            int(MAX_LENGTH_CEILING),
            "characters",
        );
        bound(
            &mut found,
            "min_classes",
            int(self.min_classes),
            0,
            4,
            "classes",
        );
        bound(
            &mut found,
            "password_history",
            int(self.password_history),
            0,
            int(HISTORY_MAX),
            "passwords",
        );
        bound(
            &mut found,
            "link_minutes",
            self.link_minutes,
            LINK_MINUTES_MIN,
            LINK_MINUTES_MAX,
            "minutes",
        );
        bound(
            &mut found,
            "temporary_password_hours",
            self.temporary_password_hours,
            1,
            168,
            "hours",
        );
        bound(
            &mut found,
            "lock_threshold",
            self.lock_threshold,
            3,
            100,
            "failures",
        );
        for (i, minutes) in self.lock_minutes.iter().enumerate() {
            bound(
                &mut found,
                LOCK_FIELDS[i],
                *minutes,
                1,
                7 * 24 * 60,
                "minutes",
            );
        }
        if self.lock_minutes.windows(2).any(|w| w[1] < w[0]) {
            found.push(FieldError::new(
                "lock_minutes_2",
                "A later lock may not be shorter than an earlier one.",
            ));
        }
        bound(
            &mut found,
            "session_idle_minutes",
            self.session_idle_minutes,
            5,
            24 * 60,
            "minutes",
        );
        bound(
            &mut found,
            "session_absolute_hours",
            self.session_absolute_hours,
            1,
            30 * 24,
            "hours",
        );
        if self.session_idle_minutes > self.session_absolute_hours * 60 {
            found.push(FieldError::new(
                "session_idle_minutes",
                "The idle limit may not be longer than the absolute one.",
            ));
        }
        found
    }
}

fn bound(found: &mut Vec<FieldError>, field: &str, value: i64, low: i64, high: i64, unit: &str) {
    if !(low..=high).contains(&value) {
        found.push(FieldError::new(
            field,
            format!("Use {low} to {high} {unit} (not {value})."),
        ));
    }
}

/// Every field the page sends, by its form name.
pub const FORM_FIELDS: [&str; 13] = [
    "min_length",
    "max_length",
    "min_classes",
    "password_history",
    "link_minutes",
    "temporary_password_hours",
    "lock_threshold",
    "lock_minutes_0",
    "lock_minutes_1",
    "lock_minutes_2",
    "session_idle_minutes",
    "session_absolute_hours",
    "allow_emailed_passwords",
];

impl SecuritySettings {
    /// Lays the submitted fields over `self`; a field not sent (one the environment fixes, whose
    /// input is disabled) keeps its value. Bounds are [`SecuritySettings::problems`]' business.
    pub fn with_form<'a>(
        mut self,
        form: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FieldError> {
        for (field, raw) in form {
            let raw = raw.trim();
            if field == "allow_emailed_passwords" {
                self.allow_emailed_passwords = match raw {
                    "true" => true,
                    "false" => false,
                    _ => return Err(FieldError::new(field, "Choose allowed or not allowed.")),
                };
                continue;
            }
            let number: i64 = raw
                .parse()
                .map_err(|_| FieldError::new(field, "Enter a whole number."))?;
            let count = || usize::try_from(number).unwrap_or(usize::MAX);
            match field {
                "min_length" => self.min_length = count(),
                "max_length" => self.max_length = count(),
                "min_classes" => self.min_classes = count(),
                "password_history" => self.password_history = count(),
                "link_minutes" => self.link_minutes = number,
                "temporary_password_hours" => self.temporary_password_hours = number,
                "lock_threshold" => self.lock_threshold = number,
                "lock_minutes_0" => self.lock_minutes[0] = number,
                "lock_minutes_1" => self.lock_minutes[1] = number,
                "lock_minutes_2" => self.lock_minutes[2] = number,
                "session_idle_minutes" => self.session_idle_minutes = number,
                "session_absolute_hours" => self.session_absolute_hours = number,
                other => return Err(FieldError::new(other, "Not a setting.")),
            }
        }
        Ok(self)
    }
}

/// The form's names for the three lock durations.
pub const LOCK_FIELDS: [&str; 3] = ["lock_minutes_0", "lock_minutes_1", "lock_minutes_2"];

/// A setting the environment fixes: the page shows it, greyed, with the variable's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overridden {
    pub field: String,
    pub variable: String,
}

/// What the page shows: the settings in force, and which of them the environment fixes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub settings: SecuritySettings,
    pub overridden: Vec<Overridden>,
}

impl SettingsView {
    pub fn variable_for(&self, field: &str) -> Option<&str> {
        self.overridden
            .iter()
            .find(|o| o.field == field)
            .map(|o| o.variable.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_nist() {
        let settings = SecuritySettings::default();
        assert_eq!(settings.problems(), vec![]);
        assert_eq!(settings.min_length, 15);
        assert_eq!(settings.min_classes, 0);
    }

    #[test]
    fn refuses_a_minimum_below_eight_or_above_the_maximum() {
        let seeds = SecuritySettings {
            min_length: 10,
            ..SecuritySettings::default()
        };
        assert_eq!(seeds.problems(), vec![]);
        let weak = SecuritySettings {
            min_length: 7,
            ..SecuritySettings::default()
        };
        assert_eq!(weak.problems()[0].field, "min_length");
        let inverted = SecuritySettings {
            min_length: 200,
            max_length: 128,
            ..SecuritySettings::default()
        };
        assert_eq!(inverted.problems()[0].field, "min_length");
        let short_max = SecuritySettings {
            max_length: 64,
            ..SecuritySettings::default()
        };
        assert!(short_max.problems().iter().any(|p| p.field == "max_length"));
    }

    #[test]
    fn locks_grow_and_sessions_nest() {
        let shrinking = SecuritySettings {
            lock_minutes: [60, 15, 240],
            ..SecuritySettings::default()
        };
        assert_eq!(shrinking.problems()[0].field, "lock_minutes_2");
        let idle_past_absolute = SecuritySettings {
            session_idle_minutes: 180,
            session_absolute_hours: 2,
            ..SecuritySettings::default()
        };
        assert_eq!(
            idle_past_absolute.problems()[0].field,
            "session_idle_minutes"
        );
    }

    #[test]
    fn the_form_lays_what_was_sent_over_the_rest() {
        let sent = [("min_length", " 10 "), ("allow_emailed_passwords", "false")];
        let settings = SecuritySettings::default().with_form(sent).unwrap();
        assert_eq!(settings.min_length, 10);
        assert!(!settings.allow_emailed_passwords);
        assert_eq!(settings.max_length, 128);
        let e = SecuritySettings::default()
            .with_form([("lock_minutes_1", "")])
            .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("lock_minutes_1", "Enter a whole number.")
        );
        // A negative count is out of bounds, not a wrap-around.
        let negative = SecuritySettings::default()
            .with_form([("min_length", "-3")])
            .unwrap();
        assert_eq!(negative.problems()[0].field, "min_length");
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let stored: SecuritySettings = serde_json::from_str(r#"{"min_length": 12}"#).unwrap();
        assert_eq!(stored.min_length, 12);
        assert_eq!(stored.max_length, 128);
        assert!(stored.allow_emailed_passwords);
    }
}
