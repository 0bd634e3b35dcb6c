//! The outbox: link emails from a Bulk Change delivered by the mailer to a real SMTP server on
//! loopback, beside a bare pooled lettre loop sending the same bytes to the same server; and
//! the configured sending rate, held without being exceeded.

use domain::bulk::{JobOptions, Selection};
use domain::email_config::{self, EmailEnv};
use domain::mail::{MailConfig, Mailer, RetryPolicy, SENDERS};
use domain::smtp_sink::SmtpSink;
use domain::{Db, Services};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use model::bulk::BulkKind;
use model::email::{PER_DAY_MAX, PER_MINUTE_MAX};
use model::time::Timestamp;
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{admin_actor, services};

/// The sending rate the second part configures, and how many minutes' worth it queues.
const RATE_PER_MINUTE: u32 = 300;
const RATE_MINUTES: u32 = 3;

pub async fn run(db: &Db, figures: &mut Vec<Figure>) {
    let sink = SmtpSink::start().await;
    let mut services = services(db);
    services.email = email_config::Live::new(EmailEnv::loopback_smtp(sink.port));
    let actor = admin_actor(&services).await;

    limit_rate(&services, &actor, PER_MINUTE_MAX).await;
    let everyone = Selection::Search(String::new());
    let queued = queue_links(&services, &actor, &everyone).await;
    let took = deliver(&services, &sink, queued).await;
    let latchkey = queued as f64 / took.as_secs_f64();
    let bare = bare_lettre(&sink, queued).await;
    figures.push(
        Figure::new(
            format!("Outbox: {queued} link emails to an SMTP server on loopback"),
            "emails/s",
            latchkey,
        )
        .against(
            format!("{SENDERS} bare lettre loops on one pool, same bytes, same server"),
            bare,
        )
        .target(Target::RatioAtLeast(0.8))
        .note(format!(
            "{:.1} s for the mailer (claim, withdrawal check, build, send, mark sent and \
             audit each email)",
            took.as_secs_f64()
        )),
    );

    let (held, busiest) = rate_held(&services, &actor, &sink).await;
    figures.push(
        Figure::new(
            format!("Outbox: sending rate held at {RATE_PER_MINUTE} a minute"),
            "emails/min",
            held,
        )
        .against("the configured rate", f64::from(RATE_PER_MINUTE))
        .target(Target::RatioAtLeast(0.95))
        .note("the mean time from each email to the one a minute's allowance later, against 60 s"),
    );
    figures.push(
        Figure::new(
            format!("Outbox: most emails sent in any 60 s at {RATE_PER_MINUTE} a minute"),
            "emails",
            busiest as f64,
        )
        .target(Target::AtMost(f64::from(RATE_PER_MINUTE)))
        .note("the limit is never exceeded"),
    );
}

/// Management > Email Configuration's two limits, saved as an administrator saves them.
async fn limit_rate(services: &Services, actor: &domain::authority::Actor, per_minute: u32) {
    let per_minute = per_minute.to_string();
    let per_day = PER_DAY_MAX.to_string();
    email_config::save(
        services,
        actor,
        &[("per_minute", &per_minute), ("per_day", &per_day)],
    )
    .await
    .expect("save the sending limits");
}

/// Bulk Change > Send Password Change Link to `selection`, run to its end; the emails it
/// queued.
async fn queue_links(
    services: &Services,
    actor: &domain::authority::Actor,
    selection: &Selection,
) -> usize {
    let options = JobOptions {
        kind: BulkKind::SendLink,
        link_minutes: 24 * 60,
        invalidate_password: false,
    };
    domain::bulk::create_job(
        services,
        actor,
        options,
        selection,
        &uuid::Uuid::new_v4().to_string(),
    )
    .await
    .expect("create the Send Password Change Link job");
    while domain::bulk::run_next(services).await.expect("run the job") {}
    let waiting = domain::outbox::waiting(&services.db).await.expect("count");
    usize::try_from(waiting).expect("a count")
}

/// Runs a mailer until the sink holds `queued` more messages than it did; how long that took.
async fn deliver(services: &Services, sink: &SmtpSink, queued: usize) -> Duration {
    let before = sink.count();
    let started = Instant::now();
    let mailer = mailer(services).spawn();
    while sink.count() < before + queued {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    mailer.abort();
    took
}

fn mailer(services: &Services) -> Mailer {
    Mailer::new(
        services,
        &MailConfig {
            retry: RetryPolicy::default(),
            // The server's own default.
            poll: Duration::from_secs(5),
        },
    )
}

/// The same bytes as the mailer's first message, sent `count` times by as many plain loops as
/// the mailer has senders, over one pooled lettre transport: what the SMTP conversation alone
/// costs. Emails per second.
async fn bare_lettre(sink: &SmtpSink, count: usize) -> f64 {
    let sample = sink
        .received()
        .into_iter()
        .next()
        .expect("a delivered email");
    let envelope = lettre::address::Envelope::new(
        Some("latchkey@example.com".parse().unwrap()),
        vec![sample.to[0].parse().unwrap()],
    )
    .unwrap();
    let raw = sample.data.into_bytes();
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.port)
        .build();
    let started = Instant::now();
    let each = count.div_ceil(SENDERS);
    futures_util::future::join_all((0..SENDERS).map(|_| async {
        for _ in 0..each {
            smtp.send_raw(&envelope, &raw).await.expect("bare send");
        }
    }))
    .await;
    (each * SENDERS) as f64 / started.elapsed().as_secs_f64()
}

/// With the rate set to [`RATE_PER_MINUTE`], [`RATE_MINUTES`] minutes' worth of emails queued:
/// the rate the mailer kept up (emails a minute), and the most it sent in any 60 s.
async fn rate_held(
    services: &Services,
    actor: &domain::authority::Actor,
    sink: &SmtpSink,
) -> (f64, usize) {
    limit_rate(services, actor, RATE_PER_MINUTE).await;
    // Let the last part's sends leave the minute the limit counts.
    let now = Timestamp::now();
    if let Some(free) = domain::outbox::minute_frees_at(&services.db, now)
        .await
        .expect("last minute's sends")
    {
        let wait = u64::try_from(free.millis() - now.millis()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    let wanted = i64::from(RATE_PER_MINUTE * RATE_MINUTES);
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM users WHERE active = 1 AND source = 'local' AND email IS NOT NULL \
         AND email <> '' ORDER BY id LIMIT $1",
    )
    .bind(wanted)
    .fetch_all(services.db.pool())
    .await
    .expect("users with an address");
    let ids = ids
        .into_iter()
        .map(|(id,)| model::user::UserId(id))
        .collect();
    let queued = queue_links(services, actor, &Selection::Ids(ids)).await;
    let started = Timestamp::now();
    deliver(services, sink, queued).await;
    let sent: Vec<(i64,)> =
        sqlx::query_as("SELECT sent_at FROM email_outbox WHERE sent_at >= $1 ORDER BY sent_at")
            .bind(started.millis())
            .fetch_all(services.db.pool())
            .await
            .expect("sent times");
    let sent: Vec<i64> = sent.into_iter().map(|(at,)| at).collect();
    // Under a limit of L a minute, the (i + L)th email may go once the ith has left the
    // minute: 60 s after it, no sooner. How long that took on average says how closely the
    // mailer kept to the rate.
    let per_minute = RATE_PER_MINUTE as usize;
    let gaps: Vec<i64> = (0..sent.len().saturating_sub(per_minute))
        .map(|i| sent[i + per_minute] - sent[i])
        .collect();
    let mean_gap = gaps.iter().sum::<i64>() as f64 / gaps.len().max(1) as f64;
    let held = f64::from(RATE_PER_MINUTE) * 60_000.0 / mean_gap;
    let busiest = sent
        .iter()
        .enumerate()
        .map(|(i, at)| sent[i..].partition_point(|t| *t < at + 60_000))
        .max()
        .unwrap_or(0);
    (held, busiest)
}
