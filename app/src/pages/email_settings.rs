use leptos::prelude::*;
use model::email::{EmailView, PER_DAY_MAX, PER_MINUTE_MAX, Security};

use crate::api::email::{SaveEmailSettings, SendTestEmail, get_email_settings};
use crate::components::form_error::{ErrorNotice, FormError, action_error};
use crate::components::setting_field::{NumberSetting, SelectSetting, Setting, TextSetting};
use crate::components::successes::successes;

/// Management > Email Configuration: the SMTP server, the sender and the sending rate, stored
/// for every instance and used from the next email on; **Send test email** tries the values on
/// the page, saved or not, and shows the server's own answer.
#[component]
pub fn EmailSettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveEmailSettings>::new();
    let saved = successes(save);
    let current = Resource::new(move || saved.get(), |_| get_email_settings());
    view! {
        <section class="settings" aria-labelledby="email-heading">
            <div class="page-head">
                <h1 id="email-heading">"Email Configuration"</h1>
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(current) => view! { <EmailForm current=current save=save/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The values as typed, which Send test email tries before they are saved.
#[derive(Clone, Copy)]
struct Draft {
    host: RwSignal<String>,
    port: RwSignal<String>,
    security: RwSignal<String>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    from_name: RwSignal<String>,
    from_address: RwSignal<String>,
}

#[component]
fn EmailForm(current: EmailView, save: ServerAction<SaveEmailSettings>) -> impl IntoView {
    let error = action_error(save);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let s = current.settings.clone();
    let draft = Draft {
        host: RwSignal::new(s.host.clone()),
        port: RwSignal::new(s.port.to_string()),
        security: RwSignal::new(s.security.as_str().to_owned()),
        username: RwSignal::new(s.username.clone()),
        password: RwSignal::new(String::new()),
        from_name: RwSignal::new(s.from_name.clone()),
        from_address: RwSignal::new(s.from_address.clone()),
    };
    let overridden = current.overridden.clone();
    let fixed = move |name: &str| {
        overridden
            .iter()
            .find(|o| o.field == name)
            .map(|o| o.variable.clone())
    };
    let connection_fixed = fixed("host").is_some();
    let field = move |name: &'static str| Setting {
        name,
        fixed_by: fixed(name),
        error,
    };
    let password_hint = if current.password_set {
        "A password is stored (never shown). Leave this empty to keep it; it is forgotten if you \
         change the host or username without typing it again."
    } else {
        "Write-only: stored encrypted, never shown again."
    };
    let password_set = current.password_set;
    let (public_url, mail_dir, queue) = (
        current.public_url.clone(),
        current.mail_dir.clone(),
        current.queue.describe(),
    );
    view! {
        <ActionForm action=save attr:class="settings-form">
            <fieldset>
                <legend>"SMTP server"</legend>
                <TextSetting
                    setting=field("host")
                    label="SMTP host"
                    value=s.host.clone()
                    hint="Such as smtp.office365.com. Leave empty to write emails as files in the mail folder instead."
                    typed=draft.host
                />
                <NumberSetting
                    setting=field("port")
                    label="Port"
                    value=s.port.to_string()
                    min=1
                    max=65535
                    hint="587 for STARTTLS, 465 for TLS, 25 for a relay."
                    typed=draft.port
                />
                <SelectSetting
                    setting=field("security")
                    label="Security"
                    value=s.security.as_str().to_owned()
                    choices=Security::ALL.iter().map(|(_, value, label)| (*value, *label)).collect()
                    typed=draft.security
                />
                <TextSetting
                    setting=field("username")
                    label="Username"
                    value=s.username.clone()
                    hint="Leave empty if the server does not ask for a login."
                    typed=draft.username
                />
                <TextSetting
                    setting=field("password")
                    label="Password"
                    value=String::new()
                    kind="password"
                    autocomplete="new-password"
                    hint=password_hint
                    typed=draft.password
                />
                <Show when=move || password_set && !connection_fixed>
                    <div class="field checkbox">
                        <input id="forget-password" type="checkbox" name="forget_password" value="true"/>
                        <label for="forget-password">"Forget the stored password"</label>
                    </div>
                </Show>
            </fieldset>
            <fieldset>
                <legend>"Sender"</legend>
                <TextSetting
                    setting=field("from_name")
                    label="From name"
                    value=s.from_name.clone()
                    typed=draft.from_name
                />
                <TextSetting
                    setting=field("from_address")
                    label="From address"
                    value=s.from_address.clone()
                    kind="email"
                    hint="The mail server must allow this account to send as this address."
                    typed=draft.from_address
                />
                <div class="field">
                    <span class="label">"Public base URL"</span>
                    <p class="readonly-value"><code>{public_url}</code></p>
                    <p class="field-hint">
                        "Links in emails start with this address. It is set by "
                        <code>"LATCHKEY_PUBLIC_URL"</code>
                        " because it also decides which sites may send forms here and whether \
                         cookies are secure; change it there and restart."
                    </p>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Sending rate"</legend>
                <NumberSetting
                    setting=field("per_minute")
                    label="Messages per minute"
                    value=s.per_minute.to_string()
                    min=1
                    max={i64::from(PER_MINUTE_MAX)}
                    hint="Across every instance. Set your mail service's limit: Exchange Online allows 30 a minute."
                />
                <NumberSetting
                    setting=field("per_day")
                    label="Messages per day"
                    value=s.per_day.to_string()
                    min=1
                    max={i64::from(PER_DAY_MAX)}
                    hint="Exchange Online allows 10,000 recipients a day."
                />
                <p class="queue-eta" role="status">{queue}</p>
            </fieldset>
            <FormError error=error/>
            <div class="form-actions">
                <button type="submit" class="button primary">"Save email settings"</button>
                <Show when=saved>
                    <p role="status" class="notice">"Saved. The next email goes out this way."</p>
                </Show>
            </div>
        </ActionForm>
        <TestEmail draft=draft fixed=connection_fixed mail_dir=mail_dir/>
    }
}

/// **Send test email** with the values as typed above.
#[component]
fn TestEmail(draft: Draft, fixed: bool, mail_dir: String) -> impl IntoView {
    let test = ServerAction::<SendTestEmail>::new();
    let error = action_error(test);
    let pending = test.pending();
    let answer = move || test.value().get().and_then(Result::ok);
    // A field the environment fixes is not sent: the server uses the environment's value.
    let sent = move |signal: RwSignal<String>| (!fixed).then(|| signal.get());
    view! {
        <section class="test-email" aria-labelledby="test-heading">
            <h2 id="test-heading">"Send test email"</h2>
            <p class="field-hint">
                "Tries the values above, saved or not. Without an SMTP host the email is written to "
                <code>{mail_dir}</code> "."
            </p>
            <ActionForm action=test attr:class="settings-form">
                {move || sent(draft.host).map(|v| view! { <input type="hidden" name="host" value=v/> })}
                {move || sent(draft.port).map(|v| view! { <input type="hidden" name="port" value=v/> })}
                {move || sent(draft.security).map(|v| view! { <input type="hidden" name="security" value=v/> })}
                {move || sent(draft.username).map(|v| view! { <input type="hidden" name="username" value=v/> })}
                {move || sent(draft.password)
                    .filter(|p| !p.is_empty())
                    .map(|v| view! { <input type="hidden" name="password" value=v/> })}
                <input type="hidden" name="from_name" value=move || draft.from_name.get()/>
                <input type="hidden" name="from_address" value=move || draft.from_address.get()/>
                <div class="field">
                    <label for="test-to">"Send test email to"</label>
                    <input id="test-to" name="to" type="email" required autocomplete="email"/>
                </div>
                <FormError error=error/>
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || pending.get()>
                        {move || if pending.get() { "Sending…" } else { "Send test email" }}
                    </button>
                </div>
            </ActionForm>
            <div role="status" aria-live="polite">
                {move || answer().map(|a| {
                    let (class, verdict) = if a.delivered {
                        ("smtp-answer delivered", "The server accepted the test email:")
                    } else {
                        ("smtp-answer refused", "The test email was not sent. The server answered:")
                    };
                    view! {
                        <div class=class>
                            <p>{verdict}</p>
                            <pre class="smtp-reply">{a.answer}</pre>
                        </div>
                    }
                })}
            </div>
        </section>
    }
}
