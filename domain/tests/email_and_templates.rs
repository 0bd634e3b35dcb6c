//! Management > Email Configuration and Templates against a real SMTP server on loopback: a
//! saved server used without a restart, the password write-only and sealed, Send test email
//! with the server's own answer, the sending rate held, and templates that change what people
//! receive. Both engines.

mod common;

use common::*;
use domain::email_config::{self, EmailEnv};
use domain::mail::{MailConfig, Mailer, RetryPolicy};
use domain::resets::{self, LinkDelivery, LinkRequest};
use domain::smtp_sink::SmtpSink;
use domain::{Db, DomainError, Services, both_engines, templates};
use model::templates::{TemplateKind, TemplateText};
use model::user::Role;
use std::time::Duration;

const EMAILED_LINK: LinkRequest = LinkRequest {
    minutes: 60,
    invalidate_password: false,
    delivery: LinkDelivery::Email,
};

/// Services with no SMTP server in the environment: the page decides, and until it does, mail
/// goes to a folder of its own.
fn unconfigured(db: Db) -> Services {
    let mut s = services(db);
    let dir = std::env::temp_dir().join(format!("latchkey-mail-{}", uuid_like()));
    s.email = email_config::Live::new(EmailEnv {
        mail_dir: dir,
        ..EmailEnv::default()
    });
    s
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// The mailer a server runs: it reads the email configuration of `s` for every email.
fn live_mailer(s: &Services) -> Mailer {
    Mailer::new(
        s,
        &MailConfig {
            retry: RetryPolicy::default(),
            poll: Duration::from_secs(3600),
        },
    )
}

fn loopback(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("host", "127.0.0.1".into()),
        ("port", port.to_string()),
        ("security", "none".into()),
        ("from_name", "ACME IT".into()),
        ("from_address", "it@acme.example".into()),
    ]
}

fn form<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

both_engines!(
    a_saved_smtp_server_is_used_without_a_restart,
    |db: Db| async move {
        let s = unconfigured(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let sink = SmtpSink::start().await;
        let mailer = live_mailer(&s);

        let view = email_config::save(&s, &root, &form(&loopback(sink.port)))
            .await
            .unwrap();
        assert_eq!(view.settings.host, "127.0.0.1");
        resets::send_link(&s, &root, &ada, EMAILED_LINK)
            .await
            .unwrap();
        assert_eq!(mailer.deliver_due().await.unwrap(), 1);
        let received = sink.wait_for("ada@example.com").await;
        let from = received
            .data
            .lines()
            .find(|l| l.starts_with("From:"))
            .unwrap_or_default()
            .to_owned();
        assert!(
            from.contains("ACME IT") && from.contains("<it@acme.example>"),
            "{from}"
        );
        assert!(received.data.contains("multipart/alternative"));
        assert!(received.data.contains("text/html"));
        assert!(received.reset_link().is_some());

        // Another instance reads the same row.
        let other = services(s.db.clone());
        let view = email_config::view(&other, &root).await.unwrap();
        assert_eq!(view.settings.port, sink.port);
        let (detail,): (Option<String>,) = sqlx::query_as(
            "SELECT detail FROM audit_events WHERE action = 'settings.changed' ORDER BY id DESC",
        )
        .fetch_one(s.db.pool())
        .await
        .unwrap();
        let detail = detail.unwrap();
        assert!(detail.starts_with("Email Configuration: "), "{detail}");
        assert!(detail.contains("host \"\" → \"127.0.0.1\""), "{detail}");
    }
);

both_engines!(
    the_smtp_password_is_write_only_sealed_and_kept_for_its_server,
    |db: Db| async move {
        let s = unconfigured(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let mut fields = loopback(2525);
        fields.push(("username", "mailer".into()));
        fields.push(("password", "s3cret-smtp-Pa55".into()));
        let view = email_config::save(&s, &root, &form(&fields)).await.unwrap();
        assert!(view.password_set);
        assert!(!serde_json::to_string(&view).unwrap().contains("s3cret"));
        let (raw,): (String,) = sqlx::query_as("SELECT value FROM settings WHERE name = 'email'")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        assert!(!raw.contains("s3cret"), "sealed, not stored in the clear");
        let audit: Vec<(Option<String>,)> = sqlx::query_as("SELECT detail FROM audit_events")
            .fetch_all(s.db.pool())
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .all(|(d,)| !d.clone().unwrap_or_default().contains("s3cret"))
        );

        // Saved again without a password: kept for the same server and login.
        let view = email_config::save(&s, &root, &[("per_minute", "20")])
            .await
            .unwrap();
        assert!(view.password_set);
        // Another port (or security, host, username) without typing the password: it is not
        // handed over to whatever listens there.
        let view = email_config::save(&s, &root, &[("port", "2526")])
            .await
            .unwrap();
        assert!(!view.password_set);
        let view = email_config::save(&s, &root, &[("port", "2525"), ("password", "again-Pa55")])
            .await
            .unwrap();
        assert!(view.password_set);
        // Another host without typing the password: it is not handed over.
        let view = email_config::save(&s, &root, &[("host", "127.0.0.2")])
            .await
            .unwrap();
        assert!(!view.password_set);
    }
);

both_engines!(
    send_test_email_shows_the_servers_own_answer,
    |db: Db| async move {
        let s = unconfigured(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let sink = SmtpSink::start().await;
        let answer = email_config::send_test(
            &s,
            &root,
            &form(&loopback(sink.port)),
            "someone@example.com",
        )
        .await
        .unwrap();
        assert!(answer.delivered, "{}", answer.answer);
        assert!(answer.answer.starts_with("250"), "{}", answer.answer);
        assert!(
            sink.wait_for("someone@example.com")
                .await
                .data
                .contains("Latchkey test email")
        );
        // Not saved: trying is not configuring.
        let view = email_config::view(&s, &root).await.unwrap();
        assert_eq!(view.settings.host, "");

        let refusing = SmtpSink::start_refusing_login().await;
        let mut fields = loopback(refusing.port);
        fields.push(("username", "mailer".into()));
        fields.push(("password", "wrong".into()));
        let answer = email_config::send_test(&s, &root, &form(&fields), "someone@example.com")
            .await
            .unwrap();
        assert!(!answer.delivered);
        assert!(answer.answer.contains("535"), "{}", answer.answer);
        assert!(
            answer.answer.contains("5.7.8 Authentication failed"),
            "{}",
            answer.answer
        );

        let outcomes: Vec<(String,)> = sqlx::query_as(
            "SELECT outcome FROM audit_events WHERE action = 'email.test' ORDER BY id",
        )
        .fetch_all(s.db.pool())
        .await
        .unwrap();
        assert_eq!(
            outcomes,
            vec![("success".to_owned(),), ("failure".to_owned(),)]
        );

        let e = email_config::send_test(&s, &root, &form(&fields), "not an address")
            .await
            .unwrap_err();
        assert!(matches!(e, DomainError::Invalid(f) if f.field == "to"));
    }
);

both_engines!(
    the_stored_password_goes_only_to_its_own_server,
    |db: Db| async move {
        let s = unconfigured(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let mut fields = loopback(2525);
        fields.push(("username", "mailer".into()));
        fields.push(("password", "stored-pass".into()));
        email_config::save(&s, &root, &form(&fields)).await.unwrap();
        // A test against another server without typing its password: no login is tried, so
        // the refusing server never sees a password.
        let refusing = SmtpSink::start_refusing_login().await;
        let answer = email_config::send_test(
            &s,
            &root,
            &[
                ("host", "localhost"),
                ("port", &refusing.port.to_string()),
                ("security", "none"),
                ("username", "mailer"),
            ],
            "someone@example.com",
        )
        .await
        .unwrap();
        assert!(answer.delivered, "no AUTH attempted: {}", answer.answer);
    }
);

both_engines!(
    only_confirmed_administrators_change_email_settings,
    |db: Db| async move {
        let s = unconfigured(db);
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let e = email_config::save(&s, &helpdesk, &[("per_minute", "5")])
            .await
            .unwrap_err();
        assert!(matches!(e, DomainError::Forbidden), "{e:?}");
        let e = email_config::send_test(&s, &helpdesk, &[], "x@example.com")
            .await
            .unwrap_err();
        assert!(matches!(e, DomainError::Forbidden), "{e:?}");
        let id = create(&s, "stale", Role::Administrator).await;
        let stale = domain::authority::Actor::for_tests(id, "stale", Role::Administrator)
            .confirmed_at(model::time::Timestamp(0));
        assert!(matches!(
            email_config::save(&s, &stale, &[("per_minute", "5")]).await,
            Err(DomainError::ConfirmationRequired)
        ));
        assert!(matches!(
            templates::save(&s, &stale, TemplateKind::Welcome, None).await,
            Err(DomainError::ConfirmationRequired)
        ));
        assert!(matches!(
            email_config::send_test(&s, &stale, &[], "x@example.com").await,
            Err(DomainError::ConfirmationRequired)
        ));
        let root = actor(&s, "root", Role::Administrator).await;
        let e = email_config::save(&s, &root, &[("per_day", "0")])
            .await
            .unwrap_err();
        assert!(matches!(&e, DomainError::Invalid(f) if f.field == "per_day"));
        assert_eq!(
            email_config::view(&s, &root)
                .await
                .unwrap()
                .settings
                .per_day,
            model::email::EmailSettings::default().per_day
        );
    }
);

both_engines!(the_sending_rate_is_held, |db: Db| async move {
    let s = unconfigured(db);
    let root = actor(&s, "root", Role::Administrator).await;
    let sink = SmtpSink::start().await;
    let mut fields = loopback(sink.port);
    fields.push(("per_minute", "2".into()));
    email_config::save(&s, &root, &form(&fields)).await.unwrap();
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        let id = create(&s, name, Role::User).await;
        resets::send_link(&s, &root, &id, EMAILED_LINK)
            .await
            .unwrap();
    }
    let mailer = live_mailer(&s);
    assert_eq!(mailer.deliver_due().await.unwrap(), 2);
    assert_eq!(
        mailer.deliver_due().await.unwrap(),
        0,
        "the minute's two are spent"
    );
    // The mailer next looks when the first of the two leaves the minute, not a poll later.
    let (first,): (i64,) = sqlx::query_as("SELECT MIN(sent_at) FROM email_outbox")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    let frees = domain::outbox::minute_frees_at(&s.db, model::time::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(frees, Some(model::time::Timestamp(first + 60_001)));
    let view = email_config::view(&s, &root).await.unwrap();
    assert_eq!(view.queue.queued, 3);
    assert_eq!(
        view.queue.seconds, 120,
        "two a minute: three more take two minutes"
    );
});

both_engines!(the_senders_deliver_each_email_once, |db: Db| async move {
    let s = unconfigured(db);
    let root = actor(&s, "root", Role::Administrator).await;
    let sink = SmtpSink::start().await;
    email_config::save(&s, &root, &form(&loopback(sink.port)))
        .await
        .unwrap();
    let names: Vec<String> = (0..17).map(|i| format!("person{i}")).collect();
    for name in &names {
        let id = create(&s, name, Role::User).await;
        resets::send_link(&s, &root, &id, EMAILED_LINK)
            .await
            .unwrap();
    }
    // Two mailers (as two instances would run), each sending several at once.
    let (a, b) = (live_mailer(&s), live_mailer(&s));
    let (sent_a, sent_b) = tokio::join!(a.deliver_due(), b.deliver_due());
    assert_eq!(sent_a.unwrap() + sent_b.unwrap(), names.len());
    let mut to: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    let mut expected: Vec<String> = names.iter().map(|n| format!("{n}@example.com")).collect();
    expected.sort();
    assert_eq!(to, expected, "each person's email, once");
    let (sent, audited): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM email_outbox WHERE state = 'sent'), \
             (SELECT COUNT(*) FROM audit_events WHERE action = 'email.sent')",
    )
    .fetch_one(s.db.pool())
    .await
    .unwrap();
    assert_eq!((sent, audited), (17, 17));
});

both_engines!(
    an_edited_template_is_what_people_receive_until_restored,
    |db: Db| async move {
        let s = unconfigured(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let sink = SmtpSink::start().await;
        email_config::save(&s, &root, &form(&loopback(sink.port)))
            .await
            .unwrap();
        let mailer = live_mailer(&s);
        let custom = TemplateText {
            subject: "ACME: reset for {{ username }}".into(),
            text: "Dear {{ display_name }}, go to {{ link }} within {{ expires_in }}.".into(),
            html: "<p>Dear {{ display_name }}, <a href=\"{{ link }}\">reset</a>.</p>".into(),
        };
        let view = templates::save(
            &s,
            &root,
            TemplateKind::PasswordChangeLink,
            Some(custom.clone()),
        )
        .await
        .unwrap();
        assert!(view.customised);
        resets::send_link(&s, &root, &ada, EMAILED_LINK)
            .await
            .unwrap();
        mailer.deliver_due().await.unwrap();
        let received = sink.wait_for("ada@example.com").await;
        assert!(received.data.contains("Subject: ACME: reset for ada"));
        assert!(received.text().contains("within 60 minutes."));
        assert!(received.reset_link().is_some());

        // A template without its link is refused and changes nothing.
        let broken = TemplateText {
            text: "Dear {{ display_name }}.".into(),
            ..custom
        };
        let e = templates::save(&s, &root, TemplateKind::PasswordChangeLink, Some(broken))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, DomainError::Invalid(f) if f.field == "text"),
            "{e:?}"
        );

        let before = sink.received().len();
        templates::save(&s, &root, TemplateKind::PasswordChangeLink, None)
            .await
            .unwrap();
        resets::send_link(&s, &root, &ada, EMAILED_LINK)
            .await
            .unwrap();
        mailer.deliver_due().await.unwrap();
        let received = sink.received();
        let latest = &received[before..];
        assert_eq!(latest.len(), 1);
        assert!(latest[0].data.contains("Subject: Set a new password"));
        let actions: Vec<(String,)> = sqlx::query_as(
            "SELECT action FROM audit_events WHERE action LIKE 'template.%' ORDER BY id",
        )
        .fetch_all(s.db.pool())
        .await
        .unwrap();
        assert_eq!(
            actions,
            vec![
                ("template.changed".to_owned(),),
                ("template.changed".to_owned(),),
                ("template.restored".to_owned(),)
            ],
            "the refused save is audited as a failure"
        );
    }
);
