//! Management > Email: how Latchkey reaches the mail server, how fast it may send, and the
//! texts it sends. The bounds are here so the page refuses in the browser what the server would.

use serde::{Deserialize, Serialize};

use crate::fields::FieldError;
use crate::settings::Overridden;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain SMTP: a relay on the same host or network only.
    None,
    /// Upgraded with STARTTLS, required (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Security {
    pub const ALL: [(Security, &'static str, &'static str); 3] = [
        (Security::StartTls, "starttls", "STARTTLS"),
        (Security::Tls, "tls", "TLS"),
        (Security::None, "none", "None"),
    ];

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Some(Security::None),
            "starttls" => Some(Security::StartTls),
            "tls" | "implicit" | "smtps" => Some(Security::Tls),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::StartTls => "starttls",
            Security::Tls => "tls",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Security::None => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        }
    }
}

/// Email Configuration, without the SMTP password: that is write-only and never leaves the
/// server (the page learns only whether one is set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// Empty: no SMTP server; emails are written as `.eml` files in the mail folder.
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub from_name: String,
    pub from_address: String,
    /// Messages per minute and per day, across every instance. The defaults hold no one back
    /// (a Bulk Change of thousands goes out in minutes); a hosted server's limits go here
    /// (Exchange Online allows 30 a minute and 10,000 recipients a day).
    pub per_minute: u32,
    pub per_day: u32,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: Security::StartTls.default_port(),
            security: Security::StartTls,
            username: String::new(),
            from_name: "Latchkey".into(),
            from_address: "latchkey@localhost".into(),
            per_minute: 1_000,
            per_day: 100_000,
        }
    }
}

pub const PER_MINUTE_MAX: u32 = 10_000;
pub const PER_DAY_MAX: u32 = 1_000_000;

/// The form's fields, in the order the page shows them.
pub const FORM_FIELDS: [&str; 9] = [
    "host",
    "port",
    "security",
    "username",
    "from_name",
    "from_address",
    "per_minute",
    "per_day",
    "password",
];

impl EmailSettings {
    /// Every field out of bounds, each with what to do instead.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut found = Vec::new();
        let host = self.host.as_str();
        if host.len() > 253
            || host
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
        {
            found.push(FieldError::new(
                "host",
                "Enter a host name or IP address, such as smtp.office365.com.",
            ));
        }
        if self.port == 0 {
            found.push(FieldError::new("port", "Use a port from 1 to 65535."));
        }
        if self.username.chars().any(char::is_control) || self.username.len() > 256 {
            found.push(FieldError::new(
                "username",
                "Enter the SMTP username on one line.",
            ));
        }
        if self.security == Security::None && !self.username.is_empty() && !is_loopback(host) {
            found.push(FieldError::new(
                "security",
                "With None the SMTP password would cross the network in the clear: choose \
                 STARTTLS or TLS, or a relay on this machine.",
            ));
        }
        if self.from_name.chars().any(char::is_control) || self.from_name.chars().count() > 100 {
            found.push(FieldError::new(
                "from_name",
                "Enter a name of up to 100 characters on one line.",
            ));
        }
        if !is_address(&self.from_address) {
            found.push(FieldError::new(
                "from_address",
                "Enter one email address, such as it-helpdesk@example.com.",
            ));
        }
        if !(1..=PER_MINUTE_MAX).contains(&self.per_minute) {
            found.push(FieldError::new(
                "per_minute",
                format!("Use 1 to {PER_MINUTE_MAX} messages a minute."),
            ));
        }
        if !(1..=PER_DAY_MAX).contains(&self.per_day) {
            found.push(FieldError::new(
                "per_day",
                format!("Use 1 to {PER_DAY_MAX} messages a day."),
            ));
        } else if self.per_day < self.per_minute {
            found.push(FieldError::new(
                "per_day",
                "Allow at least as many messages a day as a minute.",
            ));
        }
        found
    }

    /// These settings with the form's fields laid over them. The password is not a field of
    /// these settings: the caller takes it apart.
    pub fn with_form<'a>(
        mut self,
        form: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FieldError> {
        for (field, raw) in form {
            let raw = raw.trim();
            let number = |max: u64| -> Result<u64, FieldError> {
                raw.parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| FieldError::new(field, "Enter a whole number."))
            };
            match field {
                "host" => self.host = raw.to_ascii_lowercase(),
                "port" => self.port = number(65_535)? as u16,
                "security" => {
                    self.security = Security::parse(raw)
                        .ok_or_else(|| FieldError::new(field, "Choose None, STARTTLS or TLS."))?;
                }
                "username" => self.username = raw.to_owned(),
                "from_name" => self.from_name = raw.to_owned(),
                "from_address" => self.from_address = raw.to_owned(),
                "per_minute" => {
                    self.per_minute = number(u64::from(u32::MAX))? as u32;
                }
                "per_day" => self.per_day = number(u64::from(u32::MAX))? as u32,
                other => return Err(FieldError::new(other, "Not a setting.")),
            }
        }
        Ok(self)
    }

    /// The sender as it appears in the From header.
    pub fn sender(&self) -> String {
        if self.from_name.is_empty() {
            self.from_address.clone()
        } else {
            format!("{} <{}>", self.from_name, self.from_address)
        }
    }
}

/// This machine, by name or address (`127.attacker.example` is not).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailSettings {
    /// Whether `other` names the same server and login: the only one a stored SMTP password
    /// may be sent to.
    pub fn same_login(&self, other: &EmailSettings) -> bool {
        self.host == other.host
            && self.port == other.port
            && self.security == other.security
            && self.username == other.username
    }
}

/// One plain address (`name@domain`), without a display name or a list.
pub fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && text.len() <= 254
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
}

/// How long what is queued takes to go out at the configured rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEta {
    pub queued: u64,
    /// Sent in the last 24 hours, which counts against the daily limit.
    pub sent_today: u64,
    pub seconds: u64,
}

impl QueueEta {
    /// Per minute until the day's allowance is spent, then the rest a day's allowance per day.
    pub fn estimate(queued: u64, sent_today: u64, per_minute: u32, per_day: u32) -> Self {
        let (per_minute, per_day) = (u64::from(per_minute.max(1)), u64::from(per_day.max(1)));
        let today = per_day.saturating_sub(sent_today).min(queued);
        let rest = queued - today;
        let mut seconds = today.div_ceil(per_minute) * 60;
        if rest > 0 {
            seconds = seconds.max(24 * 3600) + (rest.div_ceil(per_day) - 1) * 24 * 3600;
            seconds += (rest.min(per_day)).div_ceil(per_minute) * 60;
        }
        Self {
            queued,
            sent_today,
            seconds,
        }
    }

    /// "about 4 minutes", "about 3 hours", "about 2 days".
    pub fn describe(&self) -> String {
        if self.queued == 0 {
            return "Nothing is waiting to be sent.".into();
        }
        let s = self.seconds;
        let span = if s < 90 {
            "under 2 minutes".to_owned()
        } else if s < 90 * 60 {
            format!("about {} minutes", s.div_ceil(60))
        } else if s < 36 * 3600 {
            format!("about {} hours", s.div_ceil(3600))
        } else {
            format!("about {} days", s.div_ceil(24 * 3600))
        };
        let messages = if self.queued == 1 {
            "message"
        } else {
            "messages"
        };
        format!("{} {messages} queued: all sent in {span}.", self.queued)
    }
}

/// What Management > Email Configuration shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailView {
    pub settings: EmailSettings,
    /// Whether an SMTP password is stored (or set by the environment). Never the password.
    pub password_set: bool,
    /// Fields the environment fixes, each with its variable.
    pub overridden: Vec<Overridden>,
    /// The address links in emails start with (`LATCHKEY_PUBLIC_URL`).
    pub public_url: String,
    /// Where emails go without an SMTP server.
    pub mail_dir: String,
    pub queue: QueueEta,
}

impl EmailView {
    pub fn variable_for(&self, field: &str) -> Option<&str> {
        self.overridden
            .iter()
            .find(|o| o.field == field)
            .map(|o| o.variable.as_str())
    }
}

/// What the SMTP server answered a test email, in its own words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAnswer {
    pub delivered: bool,
    pub answer: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(EmailSettings::default().problems().is_empty());
    }

    #[test]
    fn form_fields_are_checked() {
        let settings = EmailSettings::default()
            .with_form([
                ("host", "SMTP.Example.com"),
                ("port", "465"),
                ("security", "tls"),
            ])
            .unwrap();
        assert_eq!(settings.host, "smtp.example.com");
        assert_eq!(settings.security, Security::Tls);
        assert!(settings.problems().is_empty());
        assert!(
            EmailSettings::default()
                .with_form([("port", "70000")])
                .is_err()
        );
        assert!(
            EmailSettings::default()
                .with_form([("security", "ssl3")])
                .is_err()
        );
        assert!(EmailSettings::default().with_form([("nope", "1")]).is_err());
        let bad = EmailSettings::default()
            .with_form([
                ("host", "smtp example"),
                ("from_address", "not an address"),
                ("per_minute", "0"),
            ])
            .unwrap();
        let fields: Vec<_> = bad.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["host", "from_address", "per_minute"]);
    }

    #[test]
    fn a_password_never_crosses_the_network_in_the_clear() {
        let plain = EmailSettings::default()
            .with_form([
                ("host", "mail.example.com"),
                ("security", "none"),
                ("username", "u"),
            ])
            .unwrap();
        assert_eq!(plain.problems()[0].field, "security");
        let local = plain.clone().with_form([("host", "127.0.0.1")]).unwrap();
        assert!(local.problems().is_empty());
        let disguised = plain.with_form([("host", "127.attacker.example")]).unwrap();
        assert_eq!(disguised.problems()[0].field, "security");
    }

    #[test]
    fn the_queue_estimate_follows_both_limits() {
        assert_eq!(QueueEta::estimate(0, 0, 30, 10_000).seconds, 0);
        assert_eq!(QueueEta::estimate(30, 0, 30, 10_000).seconds, 60);
        assert_eq!(QueueEta::estimate(31, 0, 30, 10_000).seconds, 120);
        // 100 left today at 30 a minute, then the rest tomorrow.
        let eta = QueueEta::estimate(150, 9_900, 30, 10_000);
        assert_eq!(eta.seconds, 24 * 3600 + 120);
        assert_eq!(
            eta.describe(),
            "150 messages queued: all sent in about 25 hours."
        );
        assert_eq!(
            QueueEta::estimate(1, 0, 30, 100).describe(),
            "1 message queued: all sent in under 2 minutes."
        );
    }
}
