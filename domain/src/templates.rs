//! Management > Templates: the organisation's words for the emails people act on, rendered by
//! minijinja. What an administrator may write is checked before it is saved (syntax, variables
//! the template may use, the link or password it must carry, a sample rendering within a fuel
//! budget), so a saved template always renders; if one ever fails, the shipped text goes out
//! instead and the failure is logged: a person never misses their link over a typo.
//!
//! Values are escaped in HTML bodies (a display name of `<b>Bob</b>` stays text), never in the
//! subject or the plain-text body, which no mail app reads as markup.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use model::fields::FieldError;
use model::templates::{
    BODY_MAX, Preview, SUBJECT_MAX, TemplateKind, TemplateText, TemplateView, sample,
};
use model::time::Timestamp;
use model::user::Permission;

use crate::Services;
use crate::audit::{self, AuditAction};
use crate::authority::Actor;
use crate::error::{DomainError, DomainResult};
use crate::fresh::Fresh;
use crate::store::db::Db;
use crate::store::settings as store;

/// The row in the settings table: the customised templates only, by kind.
const SECTION: &str = "templates";

/// A second bound beside the [`subset`]'s (which has no loops): rendering stops after this many
/// steps whatever the template.
const FUEL: u64 = 100_000;

/// Secrets that may not appear in a subject: the outbox keeps subjects in the clear, and the
/// console lists them, while bodies are sealed and erased once sent.
const NOT_IN_SUBJECT: [&str; 2] = ["link", "password"];

mod subset;

/// The shipped template of `kind`.
pub fn default(kind: TemplateKind) -> TemplateText {
    let (subject, text, html) = match kind {
        TemplateKind::PasswordChangeLink => (
            "Set a new password",
            include_str!("templates/password_change_link.txt"),
            include_str!("templates/password_change_link.html"),
        ),
        TemplateKind::Welcome => (
            "Welcome: choose your password",
            include_str!("templates/welcome.txt"),
            include_str!("templates/welcome.html"),
        ),
        TemplateKind::AccessInfo => (
            "Your temporary password",
            include_str!("templates/access_info.txt"),
            include_str!("templates/access_info.html"),
        ),
        TemplateKind::PasswordChanged => (
            "Your password was changed",
            include_str!("templates/password_changed.txt"),
            include_str!("templates/password_changed.html"),
        ),
    };
    TemplateText {
        subject: subject.into(),
        text: text.into(),
        html: html.into(),
    }
}

/// An email as the person receives it.
#[derive(Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The values of one email's variables.
pub type Values<'a> = [(&'static str, &'a str)];

/// No globals, tests or filters but the [`subset::FILTERS`]: nothing a template could call to
/// grow a string or reach beyond its values.
fn environment() -> Environment<'static> {
    use minijinja::filters;

    let mut env = Environment::empty();
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// The part of a template by its form field, for messages that point at the field.
const PARTS: [&str; 3] = ["subject", "text", "html"];

fn parts(template: &TemplateText) -> [&str; 3] {
    [&template.subject, &template.text, &template.html]
}

/// The part as the page labels it, so a message says where to look.
fn part_label(field: &str) -> &'static str {
    match field {
        "subject" => "Subject",
        "text" => "Plain-text body",
        _ => "HTML body",
    }
}

/// Renders `template` with `values`; an error names the part that failed.
pub fn render(template: &TemplateText, values: &Values<'_>) -> Result<Rendered, FieldError> {
    let env = environment();
    let context: BTreeMap<&str, Value> = values
        .iter()
        .map(|(name, value)| (*name, Value::from(*value)))
        .collect();
    let mut out = Vec::with_capacity(3);
    for (field, source) in PARTS.iter().zip(parts(template)) {
        let name = format!("{field}.{}", if *field == "html" { "html" } else { "txt" });
        let rendered = env
            .template_from_named_str(&name, source)
            .and_then(|t| t.render(&context))
            .map_err(|e| {
                FieldError::new(field, format!("{}: {}", part_label(field), describe(&e)))
            })?;
        out.push(rendered);
    }
    let html = out.pop().unwrap_or_default();
    let text = out.pop().unwrap_or_default();
    // A subject is one header line whatever a value holds.
    let subject = out
        .pop()
        .unwrap_or_default()
        .replace(['\r', '\n'], " ")
        .trim()
        .to_owned();
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

fn describe(error: &minijinja::Error) -> String {
    let what = error
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| error.kind().to_string());
    match error.line() {
        Some(line) => format!("Line {line}: {what}."),
        None => format!("{what}."),
    }
}

/// Checks a template an administrator wrote for `kind`: within size, valid syntax, only the
/// variables `kind` offers, the link (or password) it must carry in both bodies, and a sample
/// rendering that finishes within the fuel budget.
pub fn validate(kind: TemplateKind, template: &TemplateText) -> Result<Preview, FieldError> {
    if template.subject.trim().is_empty() {
        return Err(FieldError::new("subject", "Enter a subject."));
    }
    if template.subject.contains(['\r', '\n']) || template.subject.chars().count() > SUBJECT_MAX {
        return Err(FieldError::new(
            "subject",
            format!("Keep the subject to one line of up to {SUBJECT_MAX} characters."),
        ));
    }
    for (field, source) in PARTS.iter().zip(parts(template)).skip(1) {
        if source.trim().is_empty() {
            return Err(FieldError::new(field, "Enter the body of the email."));
        }
        if source.len() > BODY_MAX {
            return Err(FieldError::new(
                field,
                format!("Keep the body under {} KB.", BODY_MAX / 1024),
            ));
        }
    }
    let env = environment();
    let offered: Vec<&str> = kind.variables().iter().map(|v| v.name).collect();
    for (field, source) in PARTS.iter().zip(parts(template)) {
        if let Some(problem) = subset::outside(source) {
            return Err(FieldError::new(
                field,
                format!("{}: {problem}", part_label(field)),
            ));
        }
        let parsed = env.template_from_str(source).map_err(|e| {
            FieldError::new(field, format!("{}: {}", part_label(field), describe(&e)))
        })?;
        let used = parsed.undeclared_variables(false);
        let mut unknown: Vec<&String> = used
            .iter()
            .filter(|name| !offered.contains(&name.as_str()))
            .collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            return Err(FieldError::new(
                field,
                format!(
                    "{}: {{{{ {name} }}}} is not a variable of {}: use {}.",
                    part_label(field),
                    kind.label(),
                    offered
                        .iter()
                        .map(|v| format!("{{{{ {v} }}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if *field == "subject"
            && let Some(secret) = NOT_IN_SUBJECT.iter().find(|name| used.contains(**name))
        {
            return Err(FieldError::new(
                field,
                format!(
                    "Subject: {{{{ {secret} }}}} may not appear in the subject, which is kept \
                     unencrypted in the outbox and shown in the console; put it in the body."
                ),
            ));
        }
        if let Some(required) = kind.requires()
            && *field != "subject"
            && !used.contains(required)
        {
            return Err(FieldError::new(
                field,
                format!(
                    "{}: the {} email must include {{{{ {required} }}}}; without it the person has no \
                     way to sign in.",
                    part_label(field),
                    kind.label()
                ),
            ));
        }
    }
    let values: Vec<(&'static str, &str)> = kind
        .variables()
        .iter()
        .map(|v| (v.name, sample(v.name)))
        .collect();
    let rendered = render(template, &values)?;
    Ok(Preview {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

/// The customised templates, as this instance last read them.
#[derive(Clone, Debug, Default)]
pub struct Live(Fresh<Arc<Customised>>);

/// The organisation's templates by kind; a kind not in it uses the shipped one.
#[derive(Clone, Debug, Default)]
pub struct Customised(BTreeMap<String, TemplateText>);

impl Customised {
    fn get(&self, kind: TemplateKind) -> Option<&TemplateText> {
        self.0.get(kind.as_str())
    }

    /// The email of `kind` with `values`: the organisation's text, or the shipped one if theirs
    /// does not render.
    pub fn render(&self, kind: TemplateKind, values: &Values<'_>) -> Rendered {
        if let Some(custom) = self.get(kind) {
            match render(custom, values) {
                Ok(rendered) => return rendered,
                Err(e) => tracing::warn!(
                    template = kind.as_str(),
                    problem = %e,
                    "a saved template did not render; the shipped one is sent instead"
                ),
            }
        }
        render(&default(kind), values).unwrap_or_else(|e| {
            // The shipped templates are tested to render with every variable set.
            tracing::error!(template = kind.as_str(), problem = %e, "shipped template failed");
            Rendered {
                subject: default(kind).subject,
                text: String::new(),
                html: String::new(),
            }
        })
    }
}

impl Live {
    pub async fn current(&self, db: &Db) -> DomainResult<Arc<Customised>> {
        self.0
            .get_or_load(|| async { Ok(Arc::new(stored(db).await?)) })
            .await
    }
}

async fn stored(db: &Db) -> DomainResult<Customised> {
    let Some(json) = store::get(db, SECTION).await? else {
        return Ok(Customised::default());
    };
    Ok(serde_json::from_str(&json)
        .map(Customised)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "stored templates do not parse; the shipped ones are used");
            Customised::default()
        }))
}

/// Every template, customised or shipped, for the Template Manager.
pub async fn list(services: &Services, actor: &Actor) -> DomainResult<Vec<TemplateView>> {
    actor.must_hold(Permission::UserManagement)?;
    let customised = stored(&services.db).await?;
    Ok(TemplateKind::ALL
        .into_iter()
        .map(|kind| match customised.get(kind) {
            Some(template) => TemplateView {
                kind,
                template: template.clone(),
                customised: true,
            },
            None => TemplateView {
                kind,
                template: default(kind),
                customised: false,
            },
        })
        .collect())
}

/// The live preview: the template rendered with sample data, or the first problem.
pub fn preview(
    actor: &Actor,
    kind: TemplateKind,
    template: &TemplateText,
) -> DomainResult<Preview> {
    actor.must_hold(Permission::UserManagement)?;
    validate(kind, template).map_err(DomainError::Invalid)
}

/// Saves the organisation's `kind` template (`None`: Restore default). Audited with the
/// template's name, never its text.
pub async fn save(
    services: &Services,
    actor: &Actor,
    kind: TemplateKind,
    template: Option<TemplateText>,
) -> DomainResult<TemplateView> {
    let action = if template.is_some() {
        AuditAction::TemplateChanged
    } else {
        AuditAction::TemplateRestored
    };
    let result = try_save(services, actor, kind, template).await;
    audit::audited(&services.db, actor, None, action, result).await
}

async fn try_save(
    services: &Services,
    actor: &Actor,
    kind: TemplateKind,
    template: Option<TemplateText>,
) -> DomainResult<TemplateView> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    if let Some(template) = &template {
        validate(kind, template).map_err(DomainError::Invalid)?;
    }
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let mut all: BTreeMap<String, TemplateText> = match store::get_in(&mut tx, SECTION).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let action = match &template {
        Some(template) => {
            all.insert(kind.as_str().to_owned(), template.clone());
            AuditAction::TemplateChanged
        }
        None => {
            all.remove(kind.as_str());
            AuditAction::TemplateRestored
        }
    };
    let detail = kind.label().to_owned();
    crate::settings::put_audited(&mut tx, actor, SECTION, &all, action, detail, now).await?;
    tx.commit().await?;
    services.templates.0.forget();
    let customised = template.is_some();
    Ok(TemplateView {
        kind,
        template: template.unwrap_or_else(|| default(kind)),
        customised,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(kind: TemplateKind) -> Vec<(&'static str, &'static str)> {
        kind.variables()
            .iter()
            .map(|v| (v.name, sample(v.name)))
            .collect()
    }

    #[test]
    fn every_shipped_template_passes_its_own_checks() {
        for kind in TemplateKind::ALL {
            let preview = validate(kind, &default(kind)).unwrap();
            assert!(!preview.subject.is_empty());
            assert!(!preview.text.contains("{{"), "{kind:?}");
            assert!(preview.html.contains("Joan Torvalds"), "{kind:?}");
        }
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let template = TemplateText {
            subject: "For {{ display_name }}".into(),
            text: "Hi {{ display_name }}: {{ link }}".into(),
            html: "<p>Hi {{ display_name }}: <a href=\"{{ link }}\">set</a></p>".into(),
        };
        let rendered = render(
            &template,
            &[
                ("display_name", "<b>Bob</b> & \"Co\""),
                ("link", "https://x.example/reset/a?b=1&c=2"),
            ],
        )
        .unwrap();
        assert_eq!(rendered.subject, "For <b>Bob</b> & \"Co\"");
        assert_eq!(
            rendered.text,
            "Hi <b>Bob</b> & \"Co\": https://x.example/reset/a?b=1&c=2"
        );
        assert!(
            rendered
                .html
                .contains("Hi &lt;b&gt;Bob&lt;&#x2f;b&gt; &amp; &quot;Co&quot;")
                || rendered
                    .html
                    .contains("Hi &lt;b&gt;Bob&lt;/b&gt; &amp; &quot;Co&quot;"),
            "{}",
            rendered.html
        );
        assert!(!rendered.html.contains("<b>"));
    }

    #[test]
    fn unknown_variables_and_a_missing_link_are_refused() {
        let kind = TemplateKind::PasswordChangeLink;
        let mut template = default(kind);
        template.text = template.text.replace("{{ username }}", "{{ usernme }}");
        let problem = validate(kind, &template).unwrap_err();
        assert_eq!(problem.field, "text");
        assert!(
            problem
                .reason
                .starts_with("Plain-text body: {{ usernme }} is not a variable"),
            "{}",
            problem.reason
        );

        let mut template = default(kind);
        template.text = "Hello {{ display_name }}, ask the helpdesk.".into();
        let problem = validate(kind, &template).unwrap_err();
        assert_eq!(problem.field, "text");
        assert!(
            problem.reason.contains("must include {{ link }}"),
            "{}",
            problem.reason
        );

        let mut template = default(kind);
        template.html = template.html.replace("{{ link }}", "{{ password }}");
        assert_eq!(validate(kind, &template).unwrap_err().field, "html");
    }

    #[test]
    fn a_password_is_offered_to_access_info_only() {
        let mut template = default(TemplateKind::Welcome);
        template.text.push_str("{{ password }}");
        assert!(validate(TemplateKind::Welcome, &template).is_err());
        assert!(validate(TemplateKind::AccessInfo, &default(TemplateKind::AccessInfo)).is_ok());
    }

    #[test]
    fn bad_syntax_and_runaway_loops_are_refused_with_a_line() {
        let kind = TemplateKind::PasswordChanged;
        let mut template = default(kind);
        template.text = "Hello {{ display_name \n".into();
        let problem = validate(kind, &template).unwrap_err();
        assert!(
            problem.reason.starts_with("Plain-text body: Line "),
            "{}",
            problem.reason
        );

        template.text =
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
                .into();
        assert!(validate(kind, &template).is_err());
    }

    #[test]
    fn no_secret_goes_in_a_subject() {
        let mut template = default(TemplateKind::AccessInfo);
        template.subject = "Your password is {{ password }}".into();
        let problem = validate(TemplateKind::AccessInfo, &template).unwrap_err();
        assert_eq!(problem.field, "subject");
        let mut template = default(TemplateKind::PasswordChangeLink);
        template.subject = "{{ link }}".into();
        assert!(validate(TemplateKind::PasswordChangeLink, &template).is_err());
    }

    #[test]
    fn a_subject_stays_one_line() {
        let kind = TemplateKind::PasswordChanged;
        let mut template = default(kind);
        template.subject = "Two\nlines".into();
        assert_eq!(validate(kind, &template).unwrap_err().field, "subject");
        template.subject = String::new();
        assert_eq!(validate(kind, &template).unwrap_err().field, "subject");
    }

    #[test]
    fn a_saved_template_that_fails_falls_back_to_the_shipped_one() {
        let kind = TemplateKind::PasswordChangeLink;
        let mut broken = default(kind);
        broken.text = "{{ nonexistent }}".into();
        let customised = Customised(BTreeMap::from([(kind.as_str().to_owned(), broken)]));
        let rendered = customised.render(kind, &samples(kind));
        assert!(rendered.text.contains(sample("link")));
    }
}
