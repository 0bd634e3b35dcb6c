//! Management > Password Policy (saved, overridden, applied to every new password, audited)
//! and the audit trail's reads (filters, keyset pages, activity per day). Both engines.

mod common;

use common::*;
use domain::passwords::{self, AfterSet};
use domain::settings::{self, EnvOverrides, Live};
use domain::{Db, DomainError, Password, Services, both_engines, directory, users};
use model::PolicyViolation;
use model::audit::AuditFilter;
use model::user::Role;

async fn set(
    s: &Services,
    admin: &domain::authority::Actor,
    id: &model::user::UserId,
    pw: &str,
) -> Result<(), DomainError> {
    passwords::set_password(
        s,
        admin,
        id,
        &Password::new(pw),
        &Password::new(pw),
        AfterSet::Keep,
    )
    .await
}

both_engines!(
    a_saved_minimum_applies_at_once_and_is_audited,
    |db: Db| async move {
        let s = services(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        // Ten characters: below the default fifteen.
        assert!(matches!(
            set(&s, &root, &ada, "plum quay 7").await,
            Err(DomainError::Policy(v)) if matches!(v[..], [PolicyViolation::TooShort { min: 15, .. }])
        ));
        let view = settings::save(&s, &root, &[("min_length", "10")])
            .await
            .unwrap();
        assert_eq!(view.settings.min_length, 10);
        set(&s, &root, &ada, "plum quay 7").await.unwrap();
        // Bad input changes nothing and says which field.
        let before = s.security().await.unwrap();
        let e = settings::save(&s, &root, &[("min_length", "6"), ("max_length", "256")])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, DomainError::Invalid(f) if f.field == "min_length"),
            "{e:?}"
        );
        assert_eq!(s.security().await.unwrap(), before);
        let e = settings::save(&s, &root, &[("lock_threshold", "many")])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, DomainError::Invalid(f) if f.field == "lock_threshold"),
            "{e:?}"
        );
        let (detail,): (Option<String>,) = sqlx::query_as(
        "SELECT detail FROM audit_events WHERE action = 'settings.changed' AND outcome = 'success'",
    )
    .fetch_one(s.db.pool())
    .await
    .unwrap();
        assert_eq!(
            detail.as_deref(),
            Some("Password Policy: min_length 15 → 10")
        );
        // Another instance on the same database reads the stored row.
        let other = services(s.db.clone());
        assert_eq!(other.security().await.unwrap().min_length, 10);
    }
);

both_engines!(the_environment_wins_over_the_page, |db: Db| async move {
    let mut s = services(db);
    s.settings = Live::new(EnvOverrides::fixed(&[("min_length", 20.into())]));
    let root = actor(&s, "root", Role::Administrator).await;
    let view = settings::save(&s, &root, &[("min_length", "10"), ("lock_threshold", "7")])
        .await
        .unwrap();
    assert_eq!(view.settings.min_length, 20, "fixed by the environment");
    assert_eq!(view.settings.lock_threshold, 7, "not fixed: the page wins");
    assert_eq!(view.variable_for("min_length"), Some("(test)"));
});

both_engines!(
    only_administrators_save_and_only_confirmed_ones,
    |db: Db| async move {
        let s = services(db);
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        assert!(matches!(
            settings::save(&s, &helpdesk, &[("min_length", "8")]).await,
            Err(DomainError::Forbidden)
        ));
        let root = actor(&s, "root", Role::Administrator).await;
        let stale = root.confirmed_at(model::time::Timestamp::now().plus_seconds(-3600));
        assert!(matches!(
            settings::save(&s, &stale, &[("min_length", "8")]).await,
            Err(DomainError::ConfirmationRequired)
        ));
        assert_eq!(s.security().await.unwrap().min_length, 15);
    }
);

both_engines!(
    breached_and_personal_passwords_are_refused,
    |db: Db| async move {
        let s = services(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        for (password, violation) in [
            ("passwordpassword", PolicyViolation::Common),
            (
                "my latchkey passphrase",
                PolicyViolation::ContainsProductName,
            ),
        ] {
            let refused = set(&s, &root, &ada, password).await;
            assert!(
                matches!(&refused, Err(DomainError::Policy(v)) if v.contains(&violation)),
                "{password}: {refused:?}"
            );
        }
    }
);

both_engines!(
    earlier_passwords_are_remembered_as_hashes,
    |db: Db| async move {
        let s = services(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        settings::save(&s, &root, &[("password_history", "3")])
            .await
            .unwrap();
        set(&s, &root, &ada, NEW).await.unwrap();
        set(&s, &root, &ada, "third passphrase of hers here")
            .await
            .unwrap();
        // The person may not choose OLD or NEW (the two before) or the current one again.
        let current = "third passphrase of hers here";
        let own = |pw: &'static str| {
            let s = &s;
            let ada = ada.clone();
            async move {
                let user = users::get(s.db.pool(), &ada).await.unwrap().unwrap();
                passwords::change_own(
                    s,
                    &user,
                    domain::sessions::Purpose::Full,
                    Some(&Password::new(current)),
                    &Password::new(pw),
                    &Password::new(pw),
                    &client(),
                )
                .await
            }
        };
        for earlier in [OLD, NEW, current] {
            let e = own(earlier).await.unwrap_err();
            assert!(
                matches!(&e, DomainError::Invalid(f) if f.field == "password"),
                "{earlier}: {e:?}"
            );
        }
        // An administrator's set is not checked against them: its answer would confirm a guess.
        set(&s, &root, &ada, OLD).await.unwrap();
        set(&s, &root, &ada, current).await.unwrap();
        own("a fourth one entirely new").await.unwrap();
        // Only hashes are kept, and no more than needed.
        let kept: Vec<(String,)> =
            sqlx::query_as("SELECT password_hash FROM password_history WHERE user_id = $1")
                .bind(&ada.0)
                .fetch_all(s.db.pool())
                .await
                .unwrap();
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().all(|(h,)| h.starts_with("$argon2id$")));
        // Forgotten with the person.
        let user = users::get(s.db.pool(), &ada).await.unwrap().unwrap();
        assert_eq!(user.username, "ada");
    }
);

/// Every event `filter` lets through, read `size` a page, each page from where the last ended.
async fn every_page(
    s: &Services,
    root: &domain::authority::Actor,
    filter: &AuditFilter,
    size: u32,
) -> Vec<model::user::AuditEntry> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = directory::audit_page(s, root, filter, before, size)
            .await
            .unwrap();
        all.extend(page.entries);
        match page.older {
            Some(id) => before = Some(id),
            None => return all,
        }
    }
}

both_engines!(
    the_audit_trail_filters_and_pages_by_keyset,
    |db: Db| async move {
        let s = services(db);
        let root = actor(&s, "root", Role::Administrator).await;
        create(&s, "ada", Role::User).await;
        for _ in 0..7 {
            signs_in(&s, "ada", "not ada's password at all").await;
        }
        signs_in(&s, "ada", OLD).await;
        let filter = AuditFilter {
            target: "ada".into(),
            action: "sign_in".into(),
            ..AuditFilter::default()
        };
        let first = directory::audit_page(&s, &root, &filter, None, 3)
            .await
            .unwrap();
        assert_eq!(first.entries.len(), 3);
        let all = every_page(&s, &root, &filter, 3).await;
        // Five failures lock the account; the two after it and the right password are refused too.
        assert_eq!(all.len(), 8);
        assert!(
            all.windows(2).all(|w| w[0].id > w[1].id),
            "newest first, no repeats"
        );
        let failed = AuditFilter {
            outcome: "failure".into(),
            ..filter.clone()
        };
        assert_eq!(
            directory::audit_page(&s, &root, &failed, None, 50)
                .await
                .unwrap()
                .entries
                .len(),
            8
        );
        let locked = AuditFilter {
            action: "account.locked".into(),
            ..AuditFilter::default()
        };
        let lock = directory::audit_page(&s, &root, &locked, None, 50)
            .await
            .unwrap();
        assert_eq!(lock.entries.len(), 1, "one lock, recorded once");
        assert_eq!(lock.entries[0].target.as_deref(), Some("ada"));

        // The activity chart counts today's sign-ins.
        let ada = users::find_by_login_name(&s.db, "ada")
            .await
            .unwrap()
            .unwrap()
            .id;
        let activity = directory::activity(&s, &root, &ada, 100).await.unwrap();
        assert_eq!(activity.days.len(), 30);
        let today = activity.days.last().unwrap();
        assert_eq!((today.sign_ins, today.failures), (0, 8));

        // Bad filters are refused with their field; a Password Manager may not read the trail.
        let bad = AuditFilter {
            from: "last tuesday".into(),
            ..AuditFilter::default()
        };
        assert!(
            matches!(directory::audit_page(&s, &root, &bad, None, 50).await, Err(DomainError::Invalid(f)) if f.field == "from")
        );
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        assert!(matches!(
            directory::audit_page(&s, &helpdesk, &filter, None, 50).await,
            Err(DomainError::Forbidden)
        ));

        // Export: the header, then one line per event, formulas defused.
        let (csv, next) = directory::audit_csv_chunk(&s, &root, &filter, None, 1000)
            .await
            .unwrap();
        assert_eq!(next, None);
        assert_eq!(csv.lines().count(), 9);
        assert!(csv.starts_with("id,time (UTC),actor,target,action,outcome,ip,detail"));
    }
);

both_engines!(
    the_audit_trail_filters_by_date_and_pages_within_a_day,
    |db: Db| async move {
        use domain::audit::{self, AuditAction, AuditEvent, Party};
        use model::time::Timestamp;
        use model::user::UserId;

        let s = services(db.clone());
        let root = actor(&s, "root", Role::Administrator).await;
        let day = |d: i64| {
            Timestamp::from_date("2026-03-01")
                .unwrap()
                .plus_seconds(d * 86_400)
        };
        let party = |name: &str| Party {
            id: UserId(format!("id-{name}")),
            name: name.into(),
        };
        // Three days, written out of time order by minutes against their ids at the turn of a
        // day, as transactions that waited for their turn to write are.
        let written = [
            (0, 600, AuditAction::SignIn),
            (1, 5, AuditAction::ForceReset),
            (1, 0, AuditAction::SignIn),
            (0, 1439, AuditAction::ForceReset),
            (1, 1439, AuditAction::SignIn),
            (1, 2, AuditAction::ForceReset),
            (2, 0, AuditAction::SignIn),
            (1, 1440 - 1, AuditAction::ForceReset),
            (2, 1, AuditAction::ForceReset),
        ];
        for (d, minutes, action) in written {
            let at = day(d).plus_seconds(minutes * 60);
            let event = AuditEvent::success(at, action, party("root"), party("ada"), None);
            audit::record(db.pool(), &event).await.unwrap();
        }
        let everything = directory::audit_page(&s, &root, &AuditFilter::default(), None, 1000)
            .await
            .unwrap()
            .entries;
        // Each filter against the whole trail filtered here, newest first, paged one at a time.
        let cases: [(&str, &str, &str, &str); 7] = [
            ("2026-03-02", "2026-03-02", "", ""),
            ("2026-03-02", "2026-03-02", "password.force_reset", ""),
            ("2026-03-02", "", "", ""),
            ("", "2026-03-01", "", ""),
            ("2026-03-01", "2026-03-03", "sign_in", ""),
            ("2026-03-02", "2026-03-02", "", "ada"),
            ("2026-02-01", "2026-02-01", "", ""),
        ];
        for (from, to, action, target) in cases {
            let filter = AuditFilter {
                from: from.into(),
                to: to.into(),
                action: action.into(),
                target: target.into(),
                ..AuditFilter::default()
            };
            let checked = filter.check().unwrap();
            let expected: Vec<i64> = everything
                .iter()
                .filter(|e| checked.from.is_none_or(|from| e.at >= from))
                .filter(|e| checked.until.is_none_or(|until| e.at < until))
                .filter(|e| action.is_empty() || e.action == action)
                .filter(|e| target.is_empty() || e.target.as_deref() == Some(target))
                .map(|e| e.id)
                .collect();
            let found: Vec<i64> = every_page(&s, &root, &filter, 1)
                .await
                .iter()
                .map(|e| e.id)
                .collect();
            assert_eq!(found, expected, "{from}..{to} {action} {target}");
        }
        let one_day = AuditFilter {
            from: "2026-03-02".into(),
            to: "2026-03-02".into(),
            ..AuditFilter::default()
        };
        let page = directory::audit_page(&s, &root, &one_day, None, 50)
            .await
            .unwrap();
        assert_eq!(page.entries.len(), 5, "the second day's five events");
    }
);
